"""WSGI entry point (gunicorn sync workers serve it in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")

application = get_wsgi_application()
