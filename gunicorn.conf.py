"""gunicorn settings for the API. Sync workers: measured faster than ASGI servers for this
workload; a worker per core plus threads hides database round-trips."""

import gc
import math
import os
import shutil
import tempfile
from pathlib import Path


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may use: its CPU affinity, capped by a container's CPU quota
    (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`). `os.cpu_count()` reports the host's cores,
    so a container limited to 2 CPUs on a 64-core host would start 128 workers."""
    cores = len(os.sched_getaffinity(0))
    quota = period = None
    try:
        text = (cgroup / "cpu.max").read_text().split()
        if text and text[0] != "max":
            quota, period = int(text[0]), int(text[1])
    except (OSError, ValueError, IndexError):
        try:
            quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
            period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            pass
    if quota and period and quota > 0:
        cores = min(cores, max(1, math.ceil(quota / period)))
    return cores


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", usable_cores() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# gunicorn's `gthread` and `sync` workers, answering what gunicorn itself refuses in the API's
# JSON error shape instead of an HTML page (verify_platform/gunicorn_worker.py).
worker_class = "verify_platform.gunicorn_worker." + (
    "ThreadWorker" if threads > 1 else "SyncWorker"
)
# The HTTP parser's limits, gunicorn's defaults stated here because they are part of the API:
# a request line (method, path, query, version) over 4094 bytes is answered 414 (code 20414);
# a header field (name and value) over 8190 bytes, or more than 100 fields, 431 (code 20431).
limit_request_line = 4094
limit_request_field_size = 8190
limit_request_fields = 100
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Workers fork from a master that has loaded the app: a worker recycled by `max_requests` (a
# guard against slow leaks) is then ready in milliseconds, where importing Django, DRF and
# the app again took a core for a second or more, under load, on a busy machine.
preload_app = True
max_requests = 50000
max_requests_jitter = 5000
accesslog = None  # the application logs one line per request itself
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Prometheus multiprocess mode (/metrics, verify_platform/metrics): every worker writes its
# values to files in this directory and a scrape merges them, the files of exited workers
# included, so counters survive worker restarts. gunicorn sets it in the environment before
# the app is loaded (prometheus_client reads it at import); `on_starting` empties it. Without
# PROMETHEUS_MULTIPROC_DIR each run gets its own directory, removed when the master exits.
METRICS_DIR_OWNED = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(
    tempfile.gettempdir(), f"verify-platform-metrics-{os.getpid()}"
)
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={METRICS_DIR}"]


def on_starting(server) -> None:
    """Refuse to serve in production (DEBUG off) on a missing, public or malformed secret:
    one line on stderr naming the setting, exit status 1, before a socket is bound
    (`verify_platform.startup`, the same rule as `manage.py check --deploy`)."""
    from verify_platform.startup import refuse_insecure_start

    refuse_insecure_start()
    metrics_dir_prepare(METRICS_DIR)


def metrics_dir_prepare(path: str) -> None:
    """Make the metrics directory and delete what an earlier run left: a new master starts
    its counters from zero (a counter reset to Prometheus). The master itself writes no
    file (every metric has labels, so none has a value before something is counted)."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker exited (recycled by max_requests, killed by the timeout): its file stays,
    so what it counted is still in the totals; its live gauges, if any, are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, METRICS_DIR)


def on_exit(server) -> None:
    """Remove the per-run metrics directory this configuration made (not one the operator
    named in PROMETHEUS_MULTIPROC_DIR)."""
    if METRICS_DIR_OWNED:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


def post_worker_init(worker) -> None:
    """Connect to the task broker and subscribe the authentication cache before the first
    request, not during it (see `verify_platform.celery.producer_warm` and
    `services.auth_cache.warm`). Both happen in the worker, after the fork: the master must
    hold no connection a worker would share."""
    from services.auth_cache import warm
    from verify_platform.celery import producer_warm

    producer_warm()
    warm()


def pre_fork(server, worker) -> None:
    """Move everything the loaded app allocated into the collector's permanent generation
    before a worker is forked: the worker's collections then scan only what requests
    allocate (the app's modules, URL patterns and serializers are hundreds of thousands of
    objects, a full pass over them a pause of up to a tenth of a second), and its pages stay
    shared with the master instead of being written by the collector's bookkeeping."""
    gc.collect()
    gc.freeze()
