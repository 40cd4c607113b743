"""Settings for benchmark runs: production settings plus the baseline view's URL, quiet logs
and a channel adapter that drops messages, so the figures measure the platform itself."""

from verify_platform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOG_LEVEL = "WARNING"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
VERIFY_CHANNELS = {
    channel: {"BACKEND": "bench.null_adapter.NullAdapter", "OPTIONS": {}}
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
