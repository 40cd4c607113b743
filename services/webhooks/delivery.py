"""Delivering one event to one webhook: claim, send, record; plus the sweeper and replay.

A send is three steps so that no HTTP call runs inside a transaction: (1) a conditional
UPDATE claims the row (only if it is due, still pending, and no earlier delivery of the same
resource to the same webhook is unfinished, which keeps each resource's events in order);
(2) the endpoint is called with a timeout, outside any transaction; (3) a short transaction
records the outcome, but only if this worker still holds the claim (same attempt number),
and schedules the retry or releases the next event of the resource.

Every time here is the platform clock (`verify_platform.lib.clock`: the database's, whichever
host reads it), never one host's own: a lease written by one worker is judged expired by the
sweeper of another, and a retry due at 12:00:10 must not be taken at 12:00:05 by a worker
whose clock runs fast. The outcome is timed when the answer (or the timeout) arrived, not when
the call started: a retry waits its backoff after the failure, and the retry window and the
auto-disable streak count the time the calls really took.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from cryptography.fernet import InvalidToken
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Coalesce

from services.models import Webhook, WebhookDelivery
from services.webhooks import conf, destinations, dispatch, payload, signing, transport
from services.webhooks.domain import webhook_disable
from verify_platform.lib import clock, crypto, metrics
from verify_platform.lib.transitions import move, move_all

logger = logging.getLogger("services.webhooks")

Status = WebhookDelivery.Status
_UNFINISHED = (Status.PENDING, Status.SENDING)
_RETRYABLE_STATUS = {408, 429}


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str = ""
    latency_ms: int = 0
    body: str = ""
    retry_after: str | None = None  # the header as received; read against the record time
    permanent: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        code = self.status_code
        if self.permanent:
            return False
        return code is None or code >= 500 or code in _RETRYABLE_STATUS


def _earlier_unfinished() -> Exists:
    return Exists(
        WebhookDelivery.objects.filter(
            webhook_id=OuterRef("webhook_id"),
            resource_sid=OuterRef("resource_sid"),
            pk__lt=OuterRef("pk"),
            status__in=_UNFINISHED,
        )
    )


def retry_delay(attempt: int, *, retry_after: float | None = None, rng=random) -> float:
    """Seconds before attempt `attempt + 1`: capped exponential with equal jitter, so
    receivers coming back from an outage are not hit by every retry at once. A server's
    Retry-After is honoured up to the cap."""
    base, cap = conf.get("RETRY_BASE_SECONDS"), conf.get("RETRY_MAX_SECONDS")
    delay = min(cap, base * 2 ** min(max(attempt - 1, 0), 40))
    delay = delay / 2 + rng.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def delivery_claim(*, delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """Move a due delivery to `sending` under a lease; None unless this caller won."""
    now = clock.current_time(now)
    # The lease outlasts the longest call twice over, so only a dead worker's claim is ever
    # taken over.
    lease = timedelta(seconds=max(conf.get("LEASE_SECONDS"), 2 * conf.get("TOTAL_TIMEOUT")))
    won = move(
        WebhookDelivery,
        ~_earlier_unfinished(),
        pk=delivery_id,
        filters={"next_attempt_at__lte": now},
        sources=[Status.PENDING],
        target=Status.SENDING,
        attempts=F("attempts") + 1,
        lease_expires_at=now + lease,
        last_attempt_at=now,
        date_updated=now,
    )
    if not won:
        return None
    return WebhookDelivery.objects.select_related("webhook", "event", "event__account").get(
        pk=delivery_id
    )


def _send(delivery: WebhookDelivery, now: datetime) -> SendResult:
    """One signed POST (signed and stamped `now`, the claim's time), bounded by the connect
    and read timeouts and, as a whole, by TOTAL_TIMEOUT; never raises."""
    webhook, event = delivery.webhook, delivery.event
    params = payload.build(event=event, sent_at=now, version=webhook.version)
    body = urlencode(sorted(params.items()))
    try:
        auth_token = crypto.decrypt(event.account.auth_token_encrypted)
        secret = crypto.decrypt(webhook.secret_encrypted)
    except InvalidToken:
        # A key ring missing a key: retried (within the window) until an operator fixes it.
        logger.error("webhook %s: no key of the ring opens its signing keys", webhook.pk)
        return SendResult(status_code=None, error="signing keys unavailable")
    header = signing.headers(
        url=webhook.webhook_url,
        params=params,
        body=body,
        msg_id=event.sid,
        timestamp=int(now.timestamp()),
        auth_token=auth_token,
        secret=secret,
    )
    header.update(
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": conf.get("USER_AGENT"),
            "I-Twilio-Idempotency-Token": event.sid,
        }
    )
    limit = conf.get("RESPONSE_BODY_LIMIT")
    started = time.monotonic()
    call = None
    try:
        with (
            transport.deadline(conf.get("TOTAL_TIMEOUT")) as call,
            transport.session() as http,
            http.post(
                webhook.webhook_url,
                data=body.encode(),
                headers=header,
                timeout=(conf.get("CONNECT_TIMEOUT"), conf.get("READ_TIMEOUT")),
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            raw = response.raw.read(limit, decode_content=True)
            if call.finish():
                raise TimeoutError("the call outlasted TOTAL_TIMEOUT")
            # PostgreSQL text cannot hold NUL; a receiver's body must never break the record.
            text = raw.decode("utf-8", "replace").replace("\x00", "\ufffd")
            return SendResult(
                status_code=response.status_code,
                latency_ms=int((time.monotonic() - started) * 1000),
                body=text,
                retry_after=response.headers.get("Retry-After"),
            )
    except destinations.DestinationRefusedError:
        # Checked on the addresses the connection used (see destinations): nothing was sent.
        return SendResult(status_code=None, error="destination not allowed", permanent=True)
    except requests.Timeout:
        error = "timeout"
    except requests.ConnectionError:
        error = "connection error"
    except requests.RequestException as exc:
        error = f"request error: {type(exc).__name__}"
    except Exception as exc:  # a body that cannot be read is still just a failed attempt
        error = f"error: {type(exc).__name__}"
    if call is not None and call.finish():
        error = "timeout"  # the whole call's bound, whatever the cut connection raised
    return SendResult(
        status_code=None, error=error, latency_ms=int((time.monotonic() - started) * 1000)
    )


def delivery_record(*, delivery: WebhookDelivery, result: SendResult, now: datetime) -> str | None:
    """Store the outcome of the attempt this caller claimed, as of `now` (when the answer
    came); the new status, or None when the claim had been taken back (lease expired) and the
    result is dropped."""
    now = clock.current_time(now)
    window = timedelta(seconds=conf.get("RETRY_WINDOW_SECONDS"))
    delay: float | None = None
    if result.succeeded:
        target = Status.SUCCEEDED
    elif result.retryable and now - delivery.window_started_at < window:
        target = Status.PENDING
        delay = retry_delay(
            delivery.attempts, retry_after=_parse_retry_after(result.retry_after, now)
        )
    else:
        target = Status.FAILED
    terminal = target != Status.PENDING
    with transaction.atomic():
        # The attempt number is the claim: a claim taken back and made again by another
        # worker has a higher one, so this outcome is dropped.
        won = move(
            WebhookDelivery,
            pk=delivery.pk,
            sources=[Status.SENDING],
            target=target,
            filters={"attempts": delivery.attempts},
            lease_expires_at=None,
            next_attempt_at=now + timedelta(seconds=delay or 0),
            last_status_code=result.status_code,
            last_error=result.error[:255],
            last_latency_ms=result.latency_ms,
            last_response_body=result.body,
            date_completed=now if terminal else None,
            date_updated=now,
        )
        if not won:
            return None
        _webhook_streak(delivery.webhook, succeeded=result.succeeded, now=now)
        if delay is not None:
            transaction.on_commit(lambda: dispatch.enqueue([delivery.pk], countdown=delay))
        else:
            _release_next(delivery)
    return target


def _webhook_streak(webhook: Webhook, *, succeeded: bool, now: datetime) -> None:
    if succeeded:
        Webhook.objects.filter(pk=webhook.pk, failure_streak__gt=0).update(
            failure_streak=0, failing_since=None
        )
        return
    Webhook.objects.filter(pk=webhook.pk).update(
        failure_streak=F("failure_streak") + 1, failing_since=Coalesce("failing_since", now)
    )
    streak, since = Webhook.objects.values_list("failure_streak", "failing_since").get(
        pk=webhook.pk
    )
    long_enough = now - since >= timedelta(seconds=conf.get("DISABLE_AFTER_SECONDS"))
    if streak >= conf.get("DISABLE_AFTER_FAILURES") and long_enough:
        reason = f"{streak} consecutive failed attempts since {since:%Y-%m-%dT%H:%M:%SZ}"
        if webhook_disable(webhook=webhook, reason=reason, auto=True, now=now):
            logger.warning("webhook %s disabled automatically: %s", webhook.pk, reason)


def _release_next(delivery: WebhookDelivery) -> None:
    """The next event of the same resource was waiting for this one: start it now."""
    following = list(
        WebhookDelivery.objects.filter(
            webhook_id=delivery.webhook_id,
            resource_sid=delivery.resource_sid,
            status=Status.PENDING,
            pk__gt=delivery.pk,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1]
    )
    if following:
        dispatch.enqueue_on_commit(following)


def _cancel(delivery: WebhookDelivery, *, now: datetime, reason: str) -> None:
    with transaction.atomic():
        won = move(
            WebhookDelivery,
            pk=delivery.pk,
            sources=[Status.SENDING],
            target=Status.CANCELED,
            filters={"attempts": delivery.attempts},
            attempts=F("attempts") - 1,  # nothing was sent
            lease_expires_at=None,
            last_error=reason,
            date_completed=now,
            date_updated=now,
        )
        if won:
            _release_next(delivery)


def _requeue_if_early(*, delivery_id: int, now: datetime) -> None:
    """A retry's message came before the retry is due: the broker's countdown ran on the
    hosts' own clocks, which may be a little ahead of the platform clock that set the due
    time. Put it back for the rest of the wait instead of leaving the retry to the sweeper."""
    due = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is not None and due > now:
        dispatch.enqueue([delivery_id], countdown=(due - now).total_seconds())


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Make the due attempt of one delivery. Returns its new status, or None when there was
    nothing to do (not due, not pending, waiting for an earlier event, or claimed elsewhere).

    `now` fixes the clock for the whole attempt (tests, replays); without it the claim and
    the signature carry the time the call starts and the outcome the time it ended."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhook deliveries must not run inside a transaction")
    started = clock.current_time(now)
    delivery = delivery_claim(delivery_id=delivery_id, now=started)
    if delivery is None:
        _requeue_if_early(delivery_id=delivery_id, now=started)
        return None
    if delivery.webhook.status != Webhook.Status.ENABLED:
        _cancel(delivery, now=started, reason="webhook disabled")
        metrics.webhook_delivered(status=Status.CANCELED, event_created=None, now=started)
        return Status.CANCELED
    result = _send(delivery, started)
    finished = clock.current_time(now)
    status = delivery_record(delivery=delivery, result=result, now=finished)
    metrics.webhook_delivered(
        status=status, event_created=delivery.event.date_created, now=finished
    )
    return status


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """The backstop timer: take back expired claims, then enqueue every delivery overdue by
    more than the grace period (its after-commit or retry enqueue was lost)."""
    now = clock.current_time(now)
    move_all(
        WebhookDelivery.objects.filter(lease_expires_at__lt=now),
        sources=[Status.SENDING],
        target=Status.PENDING,
        lease_expires_at=None,
        next_attempt_at=now,
        last_error="claim expired",
        date_updated=now,
    )
    grace = timedelta(seconds=conf.get("SWEEP_GRACE_SECONDS"))
    ids = list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now - grace)
        .filter(~_earlier_unfinished())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: conf.get("SWEEP_BATCH")]
    )
    for start in range(0, len(ids), 50):
        dispatch.enqueue(ids[start : start + 50])
    return len(ids)


def delivery_replay(*, delivery: WebhookDelivery, now: datetime | None = None) -> bool:
    """Send a finished delivery again (same event id, new retry window)."""
    now = clock.current_time(now)
    with transaction.atomic():
        won = move(
            WebhookDelivery,
            pk=delivery.pk,
            sources=[Status.SUCCEEDED, Status.FAILED, Status.CANCELED],
            target=Status.PENDING,
            next_attempt_at=now,
            window_started_at=now,
            date_completed=None,
            date_updated=now,
        )
        if won:
            dispatch.enqueue_on_commit([delivery.pk])
    return won
