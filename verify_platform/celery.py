"""The Celery application: configuration from Django settings (`CELERY_*`)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")

app = Celery("verify_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
