"""The Celery application: configuration from Django settings (`CELERY_*`)."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")

app = Celery("verify_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """What Django does around every request, around every task: drop a connection that
    broke or outlived CONN_MAX_AGE. Celery's own fixup closes every connection around every
    task unless CELERY_DB_REUSE_MAX is set, and then checks nothing until its count runs out;
    with it set, this keeps one connection per worker process (no connect per task) without
    keeping a broken one. Not for a task applied eagerly: it runs inside its caller's
    connection and perhaps its transaction."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()
