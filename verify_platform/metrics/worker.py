"""The Celery worker's Prometheus endpoint: task latency (from publish to start, and run
time, by task), the tasks' outcomes, the broker's queue lengths, and every domain metric the
worker's tasks count (deliveries, time to provider, fallback steps, webhooks, expiries).

Off unless `VERIFY_METRICS["WORKER_PORT"]` is set; then, from `celeryd_init` (the worker's
main process, before its pool forks or Django loads the apps, so before prometheus_client is
imported):

- PROMETHEUS_MULTIPROC_DIR is emptied (a per-run directory under var/metrics/ is made when it
  is not set), so every pool process writes its own file there and the endpoint merges them;
  files of pool processes that exited stay, so counters survive their replacement;
- the task signals are connected, and at `worker_ready` prometheus_client's own HTTP server
  starts in the main process, on `WORKER_ADDRESS:WORKER_PORT`.

The publish time travels in a message header set by the publisher
(`verify_platform.celery`, `PUBLISHED_HEADER`); a message without it (published by an older
version) counts no wait.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import signals
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("verify_platform.metrics")

# The header a publisher stamps with its wall-clock time (`verify_platform.celery`).
PUBLISHED_HEADER = "verify_published_at"

_running: dict[str, float] = {}
_server: list[Any] = []
_owned: list[Path] = []  # a per-run directory made here, removed at shutdown


def install() -> bool:
    """Prepare the directory and connect the worker's signals; False when switched off."""
    port = int(settings.VERIFY_METRICS["WORKER_PORT"] or 0)
    if port <= 0:
        return False
    prepare_directory()
    signals.worker_ready.connect(_serve, weak=False)
    signals.worker_shutdown.connect(_stop, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
    signals.worker_process_shutdown.connect(_process_gone, weak=False)
    return True


def prepare_directory() -> Path:
    """PROMETHEUS_MULTIPROC_DIR, made and emptied. Set before prometheus_client is imported,
    or its values would stay in this process and the pool's counts would never be seen."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if not path:
        if "prometheus_client" in sys.modules:
            raise ImproperlyConfigured(
                "VERIFY_METRICS_WORKER_PORT needs PROMETHEUS_MULTIPROC_DIR set in the "
                "worker's environment"
            )
        path = str(Path(settings.VAR_DIR) / "metrics" / f"worker-{os.getpid()}")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        _owned.append(Path(path))
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    return directory


def _serve(**kwargs: Any) -> None:
    from celery import current_app
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    from verify_platform.metrics.collectors import QueueDepthCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(QueueDepthCollector(current_app.amqp.queues.keys()))
    config = settings.VERIFY_METRICS
    server, _thread = start_http_server(
        int(config["WORKER_PORT"]), addr=config["WORKER_ADDRESS"], registry=registry
    )
    _server.append(server)
    logger.info(
        "worker metrics on http://%s:%s/metrics", config["WORKER_ADDRESS"], config["WORKER_PORT"]
    )


def _stop(**kwargs: Any) -> None:
    while _server:
        _server.pop().shutdown()
    while _owned:
        shutil.rmtree(_owned.pop(), ignore_errors=True)


def _process_gone(**kwargs: Any) -> None:
    """A pool process exits: only 'live' gauges are removed; counters keep their file."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid())


def queue_wait(headers: dict | None, eta: str | datetime | None, now: float) -> float | None:
    """Seconds from the later of publish and ETA to `now` (wall clock), or None."""
    published = (headers or {}).get(PUBLISHED_HEADER)
    if not isinstance(published, int | float):
        return None
    ready = float(published)
    if eta:
        try:
            moment = eta if isinstance(eta, datetime) else datetime.fromisoformat(eta)
            ready = max(ready, moment.timestamp())
        except (TypeError, ValueError):
            pass
    return max(now - ready, 0.0)


def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    from verify_platform.lib.metrics import TASK_QUEUE_WAIT

    if task_id is None or task is None:
        return
    _running[task_id] = time.perf_counter()
    request = task.request
    wait = queue_wait(request.headers, request.eta, time.time())
    if wait is not None:
        TASK_QUEUE_WAIT.labels(task.name).observe(wait)


def _task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    from verify_platform.lib.metrics import TASK_RUN, TASKS

    started = _running.pop(task_id, None) if task_id else None
    if task is None or started is None:
        return
    TASK_RUN.labels(task.name).observe(time.perf_counter() - started)
    TASKS.labels(task.name, state or "UNKNOWN").inc()
