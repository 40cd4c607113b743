"""Settings for benchmark runs: production settings plus the baseline view's URL, quiet logs
and a channel adapter that drops messages, so the figures measure the platform itself."""

import os

from bench.seed import TO_FORMATS
from verify_platform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOG_LEVEL = "WARNING"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# send_latency: the adapter notes when it was called for that scenario's numbers, in the
# file the harness names (BENCH_SEND_LOG); nothing is noted without it.
VERIFY_CHANNELS = {
    channel: {
        "BACKEND": "bench.null_adapter.NullAdapter",
        "OPTIONS": {
            "record_path": os.environ.get("BENCH_SEND_LOG", ""),
            "record_prefix": TO_FORMATS["send_latency"].split("%")[0],
        },
    }
    for channel in ("sms", "whatsapp", "call", "email")
}
# The figures measure the platform, not the SMS-pumping budgets (which would refuse the load).
VERIFY_SEND_BUDGETS = {
    "ACCOUNT_PER_MINUTE": 0,
    "ACCOUNT_PER_HOUR": 0,
    "SERVICE_PER_MINUTE": 0,
    "SERVICE_PER_HOUR": 0,
}
# The no-op reference task of the worker scenarios (worker_noop).
CELERY_IMPORTS = ("bench.tasks",)
