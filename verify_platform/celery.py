"""The Celery application: configuration from Django settings (`CELERY_*`).

Tasks are queued through the apps' `enqueue` modules (`challenges.enqueue`,
`services.webhooks.enqueue`), which send them by name with Celery's public API and never
import this module: the domain code they serve sits below the tasks and this app. What a
failed enqueue means (`left_to_sweeper`) lives in `verify_platform.lib.queueing` for the same
reason.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import Celery, signals
from kombu.common import maybe_declare

from verify_platform.lib import request_context
from verify_platform.metrics import worker as metrics_worker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")

app = Celery("verify_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("verify_platform.celery")

__all__ = ("app", "producer_warm")


def producer_warm() -> bool:
    """Do, before a web process serves its first request, what its first task publish would
    otherwise do inside that request: import the task modules, open the broker connection of
    the producer pool and declare the task queues on it. Measured at 0.1-0.25 s on a busy
    2-core machine, which otherwise lands on one request per process as a latency outlier.

    The producer goes back to Celery's pool with its connection open; the pools hand out
    the most recently released one first, so the first publish finds it connected.
    Publishes nothing. A broker that cannot be reached is only logged: the first request
    then connects as it always did (and a failed enqueue is left to the sweeper)."""
    try:
        app.loader.import_default_modules()
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
            for queue in app.amqp.queues.values():
                maybe_declare(queue, producer.channel, retry=False)
    except Exception as exc:  # a warm-up never stops a process from serving
        logger.warning("could not warm the task producer: %s", type(exc).__name__)
        return False
    return True


@signals.celeryd_init.connect
def _refuse_insecure_worker(**kwargs: Any) -> None:
    """A worker in production (DEBUG off) with a missing, public or malformed secret stops
    before it takes a task: one line on stderr, exit status 1 (`verify_platform.startup`).
    `celeryd_init` is the first signal a worker sends, before its pool or broker connection."""
    from verify_platform.startup import refuse_insecure_start

    refuse_insecure_start()


@signals.beat_init.connect
def _refuse_insecure_beat(**kwargs: Any) -> None:
    """Beat likewise, before it schedules anything."""
    from verify_platform.startup import refuse_insecure_start

    refuse_insecure_start()


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


# The request context of each task running in this process, by task id, until its postrun.
_task_contexts: dict[str, Any] = {}


@signals.task_prerun.connect
def _bind_request_context(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    """Every record a task logs carries its id, its name and the id of the API request that
    queued it (the message header `request_context.HEADER`, which Celery gives a task as
    `task.request.headers`), and what the task queues carries that request id on
    (`verify_platform.lib.request_context`). A task applied eagerly keeps its caller's
    context."""
    task_request = getattr(sender, "request", None)
    if task_request is None or task_request.is_eager or task_id is None:
        return
    _task_contexts[task_id] = request_context.bind_task(task_request.headers, task_id, sender.name)


@signals.task_postrun.connect
def _unbind_request_context(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_contexts.pop(task_id, None) if task_id is not None else None
    if token is not None:
        request_context.unbind_task(token)


@signals.before_task_publish.connect
def _stamp_published(headers: dict | None = None, **kwargs: Any) -> None:
    """Stamp each message with its publish time (one float in its headers, a fraction of a
    microsecond), which the worker's `verify_celery_task_queue_wait_seconds` measures from."""
    if headers is not None:
        headers.setdefault(metrics_worker.PUBLISHED_HEADER, time.time())


@signals.celeryd_init.connect
def _worker_metrics(**kwargs: Any) -> None:
    """The worker's Prometheus endpoint, when VERIFY_METRICS_WORKER_PORT is set
    (`verify_platform.metrics.worker`): prepared here, in the main process, before the pool
    forks and before the apps import prometheus_client."""
    metrics_worker.install()
