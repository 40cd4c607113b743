"""The platform's Prometheus metrics: every definition, and the one-line record helpers the
domain calls (`metrics.verification_started(...)`), so that no domain module knows
prometheus_client.

Counted only what committed: the domain helpers record through `transaction.on_commit`,
which runs at once outside a transaction (a single autocommit statement has committed when
it returns) and is dropped with a rolled-back one; a verification's start is recorded by
`verification_start` after its own statement or transaction. Refusals are counted when
raised (they write nothing). Recording never adds a database round trip: every label comes
from what the caller already holds.

Every metric has labels, so none has a value (in multiprocess mode: a file) before something
is counted: a gunicorn master that loads the app writes nothing. Label values are bounded:
channels, statuses, reasons and outcomes are closed sets of the code, a route is its URL
pattern (never the raw path), a country is an ISO region code (at most ~250), a task is its
registered name.

Multiprocess mode (gunicorn workers, Celery's prefork pool): prometheus_client decides at
its import, from PROMETHEUS_MULTIPROC_DIR, whether values live in per-process files of that
directory; the exposition then merges them (`verify_platform.metrics`). A process that
exits leaves its file, so counters and histograms keep what it counted across worker
restarts and `max_requests` recycling; only a restart of the whole service (its master,
which empties the directory) starts them from zero, which Prometheus' `rate()` and
`increase()` treat as a counter reset. The price: a scrape reads one file per process the
service has run since it started (gunicorn recycles a worker every ~50,000 requests).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import phonenumbers
from django.db import transaction
from prometheus_client import Counter, Histogram

# Fixed at import, as prometheus_client's own choice is: the exposition must read the files
# exactly when the values are written to them.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_LAG_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# --- HTTP (verify_platform.lib.api.metrics_middleware) -------------------------------------
HTTP_REQUEST_SECONDS = Histogram(
    "verify_http_request_duration_seconds",
    "API and console requests by method, URL route pattern and status; _count is the number "
    "of requests.",
    ("method", "route", "status"),
    buckets=_LATENCY_BUCKETS,
)

# --- verifications and deliveries (challenges) ---------------------------------------------
VERIFICATIONS_STARTED = Counter(
    "verify_verifications_started",
    "New verifications (a resend of a pending one is not counted), by first channel and "
    "destination country.",
    ("channel", "country"),
)
VERIFICATIONS_ENDED = Counter(
    "verify_verifications_ended",
    "Verifications that reached a final status (approved, canceled, expired, "
    "max_attempts_reached, failed), by channel and destination country.",
    ("status", "channel", "country"),
)
FALLBACK_STEPS = Counter(
    "verify_fallback_steps",
    "Fallback steps fired (the first claim of a plan's step after the first), by channel and "
    "step index.",
    ("channel", "step"),
)
DELIVERY_ATTEMPTS = Counter(
    "verify_delivery_attempts",
    "Sends of a code by the worker, by channel, adapter and outcome (sent, retry, failed).",
    ("channel", "adapter", "outcome"),
)
TIME_TO_PROVIDER = Histogram(
    "verify_time_to_provider_seconds",
    "From a verification's start to the provider accepting its first message, by channel.",
    ("channel",),
    buckets=_DELIVERY_BUCKETS,
)

# --- factors -------------------------------------------------------------------------------
FACTOR_CHECKS = Counter(
    "verify_factor_checks",
    "Codes checked against a factor (TOTP, phone factor or recovery code), by factor type and "
    "result (approved, approved_by_recovery_code, wrong, replayed, resubmitted).",
    ("factor_type", "result"),
)

# --- refusals (limits, auth throttle, counters) --------------------------------------------
REFUSED = Counter(
    "verify_requests_refused",
    "Requests refused by a limit, by reason.",
    ("reason",),
)

# --- webhooks ------------------------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "verify_webhook_deliveries",
    "Webhook delivery attempts by outcome (succeeded, retry, failed, canceled).",
    ("outcome",),
)
WEBHOOK_LAG = Histogram(
    "verify_webhook_delivery_lag_seconds",
    "From an event's creation to its delivery's final outcome (succeeded, or failed after "
    "its retries).",
    ("outcome",),
    buckets=_LAG_BUCKETS,
)

# --- Celery (recorded in the worker, verify_platform.metrics.worker) ------------------------
TASK_QUEUE_WAIT = Histogram(
    "verify_celery_task_queue_wait_seconds",
    "From a task's publish (or its ETA, when later) to its start in a worker, by task.",
    ("task",),
    buckets=_TASK_BUCKETS,
)
TASK_RUN = Histogram(
    "verify_celery_task_run_seconds",
    "Run time of a task, by task.",
    ("task",),
    buckets=_TASK_BUCKETS,
)
TASKS = Counter(
    "verify_celery_tasks",
    "Tasks run, by task and final state (SUCCESS, FAILURE, RETRY, ...).",
    ("task", "state"),
)


# --- labels --------------------------------------------------------------------------------

_CODES = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
# North America (+1) shares one calling code among 25 countries, and phonenumbers finds a
# number's one by testing it against each; but the area code alone names the country, so
# what phonenumbers answered for an area code is kept ("+1" and three digits, bounded).
_NANP: dict[str, str] = {}


@functools.lru_cache(maxsize=4096)
def country_of(to: str) -> str:
    """The ISO region of an E.164 number (phonenumbers'), `email` for an address,
    `unknown` otherwise. A calling code that belongs to one country answers from the code
    alone, a North American number from its area code once one number of it was typed; the
    other shared codes (+7, +44, ...) ask phonenumbers. Cached per process (bounded)."""
    if "@" in to:
        return "email"
    if not to.startswith("+") or not to[1:].isascii():
        return "unknown"
    for length in (1, 2, 3):
        regions = _CODES.get(int(to[1 : 1 + length])) if to[1 : 1 + length].isdigit() else None
        if regions:
            break
    else:
        return "unknown"
    if len(regions) == 1:
        return regions[0] if regions[0] != "001" else "unknown"
    area = to[:5] if length == 1 and to[1] == "1" else None
    if area is not None and area in _NANP:
        return _NANP[area]
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(to, None))
    except phonenumbers.NumberParseException:
        return "unknown"
    if not region or region == "001":
        return "unknown"
    if area is not None and len(_NANP) < 1000:
        _NANP[area] = region
    return region


_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    """`metric.labels(*values)`, kept: `labels()` validates and locks on every call, a
    dict lookup does not (the label values are bounded, so is this dict)."""
    key = (metric, *values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def _after_commit(record: Callable[..., Any], *args: Any) -> None:
    """Run `record(*args)` once the current transaction commits (at once outside one).
    Robust: a metrics failure is logged and never reaches the request or the task."""
    transaction.on_commit(functools.partial(record, *args), robust=True)


# --- record helpers (one call each in the domain) ------------------------------------------


def _started(channel: str, to: str) -> None:
    _child(VERIFICATIONS_STARTED, channel, country_of(to)).inc()


def verification_started(*, channel: str, to: str) -> None:
    """Called after the start's own statement or transaction has committed (the start adds
    no `on_commit` callback of its own: its one callback is the send's enqueue)."""
    _started(channel, to)


def _ended(status: str, channel: str, to: str) -> None:
    _child(VERIFICATIONS_ENDED, status, channel, country_of(to)).inc()


def verification_ended(*, status: str, channel: str, to: str) -> None:
    _after_commit(_ended, status, channel, to)


def _fallback(channel: str, step: int) -> None:
    _child(FALLBACK_STEPS, channel, str(step)).inc()


def fallback_fired(*, channel: str, step: int) -> None:
    _after_commit(_fallback, channel, step)


def _delivery(channel: str, adapter: str, outcome: str, to_provider: float | None) -> None:
    _child(DELIVERY_ATTEMPTS, channel, adapter or "none", outcome).inc()
    if to_provider is not None:
        _child(TIME_TO_PROVIDER, channel).observe(max(to_provider, 0.0))


def delivery_attempted(
    *,
    channel: str,
    adapter: str,
    outcome: str,
    started: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """One send's outcome; with `started` (the verification's start, given for the first
    message of a verification the provider accepted) also the time to the provider."""
    to_provider = (now - started).total_seconds() if started is not None and now else None
    _after_commit(_delivery, channel, adapter, outcome, to_provider)


def _factor_check(factor_type: str, result: str) -> None:
    _child(FACTOR_CHECKS, factor_type, result).inc()


def factor_checked(*, factor_type: str, result: str) -> None:
    _after_commit(_factor_check, factor_type, result)


def refused(reason: str) -> None:
    """A request refused by a limit: counted when the refusal is raised (it writes nothing,
    so there is nothing to wait for)."""
    _child(REFUSED, reason).inc()


_WEBHOOK_OUTCOMES = {"pending": "retry"}


def _webhook(outcome: str, lag: float | None) -> None:
    _child(WEBHOOK_DELIVERIES, outcome).inc()
    if lag is not None:
        _child(WEBHOOK_LAG, outcome).observe(max(lag, 0.0))


def webhook_delivered(*, status: str | None, event_created: datetime | None, now: datetime) -> None:
    """A webhook attempt's recorded status (None: its claim was lost, nothing counted);
    a final success or failure also observes the lag since the event was created."""
    if status is None:
        return
    outcome = _WEBHOOK_OUTCOMES.get(status, status)
    final = outcome in ("succeeded", "failed") and event_created is not None
    lag = (now - event_created).total_seconds() if final else None
    _after_commit(_webhook, outcome, lag)
