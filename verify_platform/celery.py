"""The Celery application: configuration from Django settings (`CELERY_*`)."""

import logging
import os
from typing import Any

from celery import Celery, signals

from verify_platform.lib import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")
broker.install()

app = Celery("verify_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("verify_platform.celery")


def producer_warm() -> bool:
    """Do, before a web process serves its first request, what its first task publish
    would otherwise do inside that request: load the task modules and the result backend
    (an entry-point scan), build the task sender, open the broker connection and its
    channel, and declare the task queues. Measured at 0.1-0.25 s on a busy 2-core machine,
    which otherwise lands on one request per process as a latency outlier.

    Publishes nothing. A broker that cannot be reached is only logged: the first request
    then connects as it always did (and a failed publish falls back to the sweeper)."""
    from kombu.common import maybe_declare

    try:
        app.loader.import_default_modules()
        for task in app.tasks.values():
            if not task.name.startswith("celery."):
                task._get_exec_options()
        app.backend  # noqa: B018 (resolved once per process, on first use)
        app.amqp.send_task_message  # noqa: B018 (built once per process, on first use)
        with app.producer_or_acquire() as producer:
            for queue in app.amqp.queues.values():
                maybe_declare(queue, producer.channel, retry=False)
            ensure_client = getattr(producer.channel, "conn_or_acquire", None)
            if ensure_client is not None:  # the Redis transport: open a pooled connection
                with ensure_client() as client:
                    client.ping()
    except Exception as exc:  # a warm-up never stops a process from serving
        logger.warning("could not warm the task producer: %s", type(exc).__name__)
        return False
    return True


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


@signals.task_prerun.connect
def _before_task(sender: Any = None, **kwargs: Any) -> None:
    """`_close_old_connections` before each task too: a connection that outlived
    CONN_MAX_AGE while the worker waited is dropped before the task uses it. The health
    check of a kept one runs at its first query, without a round trip when its socket shows
    it is fine (the database backend, `verify_platform.lib.db.base`)."""
    _close_old_connections(sender)
