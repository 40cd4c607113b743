"""Delivery: a send is three steps: claim (short transaction), adapter call (no
transaction), record (short transaction). Rows are the durable timer; fallback, retries,
provider callbacks and the sweeper all move them by compare-and-set."""

from __future__ import annotations

import json
import logging
import math
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import F, Model, Q, Value
from django.db.models.functions import Greatest

from challenges.domain.core import (
    AttemptStatus,
    Owner,
    Status,
    _attempt_payload,
    _attempts,
    _destination,
    _end,
    _enqueue,
    _enqueue_on_commit,
    _event,
    _event_fields,
    _lock_owner_of,
    _owner_field,
    _schedule_step,
    _step_deadline,
    _step_timeout,
)
from challenges.models import (
    LIFETIME_SECONDS,
    DeliveryAttempt,
    FactorCode,
    Verification,
)
from channels import registry
from channels.base import (
    ChannelOutcomeUnknownError,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    OutboundMessage,
)
from channels.status import default_status_callback_url
from services.domain import event_outbox
from services.models import Service
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.statements import (
    insert_unless_conflict,
    update_sql_then_insert,
    update_then_insert,
)
from verify_platform.lib.transitions import compare_and_set

logger = logging.getLogger("challenges.delivery")

RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 30
# The ETA task normally sends a due attempt at once; the sweeper only takes rows it missed.
SWEEP_GRACE_SECONDS = 10
# Attempts that still count as "a code may reach the user".
_LIVE_ATTEMPTS = (
    AttemptStatus.SCHEDULED,
    AttemptStatus.SENDING,
    AttemptStatus.SENT,
    AttemptStatus.DELIVERED,
)


def _lease_seconds() -> int:
    return int(getattr(settings, "VERIFY_DELIVERY_LEASE_SECONDS", 60))


@dataclass(frozen=True)
class _Claim:
    """What the adapter call and the record step need, taken once when the attempt is
    claimed: its immutable fields and its owner (with the service the events name)."""

    attempt_sid: str
    owner: Owner
    channel: str
    send_number: int
    step: int
    message: OutboundMessage


# --- step 1: claim ----------------------------------------------------------------------------

# One statement takes a due (or lease-expired) attempt of a pending, unexpired verification
# and returns everything the send needs. The verification is locked first, as every writer
# of its attempts does, so a check, a cancel or a callback is serialised against the claim
# as before; the attempt's own status is the compare-and-set. The first claim of a fallback
# step records an event, so it goes through the transactional path (`_claim_locked`), as do
# phone factors' codes, expiry, and every attempt this statement does not take.
# The verification is found by its key alone and judged (pending, unexpired) in the UPDATE,
# on the row as locked: with those conditions in its scan, PostgreSQL could read it through
# the partial index of pending verifications by expiry, every pending verification for one
# send, which it did on tables never analysed.
_CLAIM_SQL = """
WITH owner AS (
    SELECT v.sid, v.service_id, v."to", v.channel, v.code_sealed, v.locale, v.app_hash,
           v.custom_friendly_name, v.send_count, v.expires_at, v.plan, v.status
    FROM challenges_verification v
    WHERE v.sid = (SELECT verification_id FROM challenges_deliveryattempt WHERE sid = %(sid)s)
    FOR UPDATE
)
UPDATE challenges_deliveryattempt a
SET status = 'sending', lease_expires_at = %(lease)s, tries = a.tries + 1,
    date_updated = %(now)s
FROM owner o JOIN services_service s ON s.sid = o.service_id
WHERE a.sid = %(sid)s AND a.verification_id = o.sid AND (a.step = 0 OR a.tries > 0)
  AND o.status = 'pending' AND o.expires_at > %(now)s
  AND ((a.status = 'scheduled' AND a.due_at <= %(now)s)
       OR (a.status = 'sending' AND a.lease_expires_at <= %(now)s))
RETURNING a.channel, a.send_number, a.step,
          o.sid, o.service_id, o."to", o.channel, o.code_sealed, o.locale, o.app_hash,
          o.custom_friendly_name, o.send_count, o.expires_at, o.plan,
          s.account_id, s.friendly_name, s.do_not_share_warning_enabled,
          s.has_enabled_webhooks
"""
_CLAIMED_VERIFICATION_FIELDS = (
    "sid",
    "service_id",
    "to",
    "channel",
    "code_sealed",
    "locale",
    "app_hash",
    "custom_friendly_name",
    "send_count",
    "expires_at",
    "plan",
)
# The service columns the send and its event read; any other field loads on access.
_CLAIMED_SERVICE_FIELDS = (
    "account_id",
    "friendly_name",
    "do_not_share_warning_enabled",
    "has_enabled_webhooks",
)


def _from_row(model: type[Model], values: dict[str, Any]) -> Any:
    """An instance holding only the given fields (the others load on access, like `only()`),
    built without a query: `from_db` takes the values in the model's field order."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[n] for n in names])


def _message(
    owner: Owner, service: Service, *, attempt_sid: str, channel: str, to: str
) -> OutboundMessage:
    return OutboundMessage(
        channel=channel,
        to=to,
        code=crypto.decrypt(owner.code_sealed),
        service_name=owner.custom_friendly_name or service.friendly_name,
        attempt_sid=attempt_sid,
        locale=owner.locale,
        lifetime_minutes=LIFETIME_SECONDS // 60,
        do_not_share_warning=service.do_not_share_warning_enabled,
        app_hash=owner.app_hash,
        status_callback_url=default_status_callback_url(attempt_sid),
    )


def _claim_verification_attempt(*, attempt_sid: str, now: datetime) -> _Claim | None:
    """The common case in one round trip (no transaction of its own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "sid": attempt_sid,
                "now": now,
                "lease": now + timedelta(seconds=_lease_seconds()),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    channel, send_number, step = row[:3]
    values = dict(zip(_CLAIMED_VERIFICATION_FIELDS, row[3:14], strict=True))
    values["plan"] = (
        json.loads(values["plan"]) if isinstance(values["plan"], str) else values["plan"]
    )
    verification = _from_row(Verification, {**values, "status": Status.PENDING})
    service = _from_row(
        Service,
        {"sid": values["service_id"], **dict(zip(_CLAIMED_SERVICE_FIELDS, row[14:], strict=True))},
    )
    verification.service = service
    return _Claim(
        attempt_sid=attempt_sid,
        owner=verification,
        channel=channel,
        send_number=send_number,
        step=step,
        message=_message(
            verification, service, attempt_sid=attempt_sid, channel=channel, to=verification.to
        ),
    )


def _claim_locked(*, attempt_sid: str, now: datetime) -> _Claim | None:
    """Every other claim: phone factors' codes, the first claim of a fallback step (its
    event), an expired verification (ended here), and attempts nobody may take."""
    with transaction.atomic():
        owner = _lock_owner_of(attempt_sid)
        if owner is None:
            return None
        if owner.status != Status.PENDING:
            # Its end canceled what was scheduled then. A step that is still scheduled (armed
            # by a path that missed the end) is closed here, or every sweep would queue it
            # again, for ever.
            DeliveryAttempt.objects.filter(pk=attempt_sid, status=AttemptStatus.SCHEDULED).update(
                status=AttemptStatus.CANCELED, date_updated=now
            )
            return None
        if owner.expires_at <= now:
            _end(owner, Status.EXPIRED, now)
            return None
        claimable = Q(status=AttemptStatus.SCHEDULED, due_at__lte=now) | Q(
            status=AttemptStatus.SENDING, lease_expires_at__lte=now
        )
        won = (
            DeliveryAttempt.objects.filter(claimable, pk=attempt_sid).update(
                status=AttemptStatus.SENDING,
                lease_expires_at=now + timedelta(seconds=_lease_seconds()),
                tries=F("tries") + 1,
                date_updated=now,
            )
            == 1
        )
        if not won:
            return None  # a duplicate task, not yet due, or already handled
        attempt = (
            DeliveryAttempt.objects.filter(pk=attempt_sid)
            .only("sid", "channel", "send_number", "step", "tries", "error_code")
            .get()
        )
        attempt.status = AttemptStatus.SENDING
        if attempt.step > 0 and attempt.tries == 1:
            _event(owner, "delivery.fallback", **_attempt_payload(attempt))
        return _Claim(
            attempt_sid=attempt_sid,
            owner=owner,
            channel=attempt.channel,
            send_number=attempt.send_number,
            step=attempt.step,
            message=_message(
                owner,
                owner.service,
                attempt_sid=attempt_sid,
                channel=attempt.channel,
                to=_destination(owner),
            ),
        )


def _attempt_claim(*, attempt_sid: str, now: datetime | None) -> _Claim | None:
    """Step 1: take the attempt, only while its owner is pending and unexpired."""
    now = current_time(now)
    if connection.vendor == "postgresql":
        claim = _claim_verification_attempt(attempt_sid=attempt_sid, now=now)
        if claim is not None:
            return claim
    return _claim_locked(attempt_sid=attempt_sid, now=now)


# --- step 2: the adapter call, outside any transaction ----------------------------------------


def delivery_attempt_send(*, attempt_sid: str, now: datetime | None = None) -> str:
    """Claim, send outside any transaction, record. Returns what happened (for logs and
    tests): skipped, sent, retry, failed or stale."""
    claim = _attempt_claim(attempt_sid=attempt_sid, now=now)
    if claim is None:
        return "skipped"
    adapter_name = ""
    try:
        adapter = registry.get_adapter(claim.channel)
        adapter_name = str(getattr(adapter, "name", type(adapter).__name__))[:64]
        result = adapter.send(claim.message)
    except ChannelOutcomeUnknownError as exc:
        # The provider may have the message: a blind retry could deliver the code twice, so
        # count it as sent (with the doubt recorded) and let the next step's timer or a
        # status callback decide.
        return _attempt_record_sent(
            claim=claim, adapter=adapter_name, provider_message_id=None, now=now, doubt=exc
        )
    except ChannelTemporaryError as exc:
        return _attempt_record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=exc, temporary=True, now=now
        )
    except (ChannelPermanentError, ImproperlyConfigured) as exc:
        return _attempt_record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=exc, temporary=False, now=now
        )
    except Exception as exc:  # an adapter bug: log it, and retry like a network error
        # Only the type and where it was raised are kept, in the log and on the attempt (which
        # the API and the admin show): an unexpected exception's text may carry anything the
        # adapter had, the code too.
        logger.error(
            "adapter %s raised %s on attempt %s\n%s",
            adapter_name,
            type(exc).__name__,
            attempt_sid,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        bug = RuntimeError(f"adapter error: {type(exc).__name__}")
        return _attempt_record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=bug, temporary=True, now=now
        )
    return _attempt_record_sent(
        claim=claim,
        adapter=adapter_name,
        provider_message_id=result.provider_message_id,
        now=now,
    )


# --- step 3: record ---------------------------------------------------------------------------


def _locked_attempt(attempt_sid: str) -> tuple[Owner, DeliveryAttempt] | None:
    verification = _lock_owner_of(attempt_sid)
    if verification is None:
        return None
    return verification, DeliveryAttempt.objects.get(pk=attempt_sid)


# sending -> sent, with the owner locked first in the same statement; returns the owner's
# state under that lock, which decides whether the next step's timer is armed.
_RECORD_SENT_TEMPLATE = """
WITH owner AS (
    SELECT status, send_count, expires_at, plan FROM {owner_table}
    WHERE {owner_key} = %(owner)s FOR UPDATE
)
UPDATE challenges_deliveryattempt a
SET status = 'sent', adapter = %(adapter)s, provider_message_id = %(provider_message_id)s,
    date_sent = %(now)s, lease_expires_at = NULL, date_updated = %(now)s,
    error_code = %(error_code)s, error_message = %(error_message)s
FROM owner o
WHERE a.sid = %(sid)s AND a.status = 'sending'
RETURNING o.status, o.send_count, o.expires_at, o.plan
"""
_RECORD_SENT_SQL = {
    owner: _RECORD_SENT_TEMPLATE.format(owner_table=owner._meta.db_table, owner_key=key)
    for owner, key in ((Verification, "sid"), (FactorCode, "id"))
}


def _attempt_record_sent(
    *,
    claim: _Claim,
    adapter: str,
    provider_message_id: str | None,
    now: datetime | None,
    doubt: Exception | None = None,
) -> str:
    """Step 3 (success): record the send and arm the next step's timer."""
    errors = (
        _error_fields(doubt, prefix="outcome unknown: ")
        if doubt
        else {"error_code": None, "error_message": None}
    )
    owner = claim.owner
    now = current_time(now)
    provider = (provider_message_id or "")[:128] or None
    event = {
        "attempt_sid": claim.attempt_sid,
        "attempt_channel": claim.channel,
        "send_number": claim.send_number,
        "step": claim.step,
        "status": AttemptStatus.SENT,
        "error_code": errors["error_code"],
    }
    sent = {"adapter": adapter, "provider_message_id": provider, **errors}
    alone = _record_last_step_sent(
        claim, {**sent, "date_sent": now, "lease_expires_at": None, "date_updated": now}, event
    )
    if alone is not None:
        return alone
    with transaction.atomic():
        row = _record_sent_row(
            owner, {"owner": owner.pk, "sid": claim.attempt_sid, "now": now, **sent}
        )
        if row is None:
            return "stale"  # a callback already decided, or the lease was taken over
        status, send_count, expires_at, plan = row
        owner.status, owner.send_count, owner.expires_at = status, send_count, expires_at
        owner.plan = json.loads(plan) if isinstance(plan, str) else plan
        _event(owner, "delivery.sent", **event)
        nxt = claim.step + 1
        if (
            owner.status == Status.PENDING
            and claim.send_number == owner.send_count
            and nxt < len(owner.plan)
        ):
            due_at = now + timedelta(seconds=_step_timeout(owner.plan, claim.step))
            if due_at < owner.expires_at:
                _schedule_next(
                    owner, send_number=claim.send_number, step=nxt, due_at=due_at, now=now
                )
        return "sent"


def _record_last_step_sent(
    claim: _Claim, sent: dict[str, Any], event: dict[str, Any]
) -> str | None:
    """The common record in one statement: the attempt's sending -> sent compare-and-set
    (`sent`: the columns written), its event and the event's webhook deliveries, no
    transaction round trips. Only for the last step of a verification's plan: there is no
    next step to arm, so the owner's state (read under its lock otherwise) decides nothing.
    A resend that lengthened the plan meanwhile started a new send, whose steps this one may
    not arm anyway. None: use the transactional record."""
    owner = claim.owner
    if not isinstance(owner, Verification) or claim.step + 1 < len(owner.plan):
        return None
    outbox = event_outbox(**_event_fields(owner, "delivery.sent", **event))
    if connection.vendor != "postgresql":  # development databases: the same in a transaction
        won = update_then_insert(
            DeliveryAttempt.objects.filter(pk=claim.attempt_sid, status=AttemptStatus.SENDING),
            {"status": AttemptStatus.SENT, **sent},
            [],
            outbox,
        )
        return "sent" if won else "stale"
    won = update_sql_then_insert(
        connection,
        key="delivery.record_last_sent",
        update_sql=_RECORD_LAST_SENT_SQL,
        params=[*(sent[name] for name in _RECORD_LAST_SENT_COLUMNS), claim.attempt_sid],
        inserts=[],
        tail=outbox,
    )
    return "sent" if won else "stale"  # stale: a callback decided, or the lease was taken


# The compare-and-set of the record above, written once (compiling it through the ORM on
# every send cost a third of the send's CPU in the worker); `update_sql_then_insert` chains
# the event's insert to it.
_RECORD_LAST_SENT_COLUMNS = (  # the SET placeholders below, in order
    "adapter",
    "provider_message_id",
    "error_code",
    "error_message",
    "date_sent",
    "lease_expires_at",
    "date_updated",
)
_RECORD_LAST_SENT_SQL = """
UPDATE challenges_deliveryattempt
SET status = 'sent', adapter = %s, provider_message_id = %s, error_code = %s,
    error_message = %s, date_sent = %s, lease_expires_at = %s, date_updated = %s
WHERE sid = %s AND status = 'sending'
RETURNING sid
"""


def _record_sent_row(owner: Owner, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """sending -> sent; the owner's (status, send_count, expires_at, plan) under its lock,
    or None when the attempt was no longer sending."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_RECORD_SENT_SQL[type(owner)], params)
            return cursor.fetchone()
    # Other databases (development only): the same in two statements.
    row = (
        type(owner)
        .objects.select_for_update()
        .filter(pk=owner.pk)
        .values_list("status", "send_count", "expires_at", "plan")
        .first()
    )
    won = row is not None and compare_and_set(
        DeliveryAttempt,
        pk=params["sid"],
        sources=[AttemptStatus.SENDING],
        target=AttemptStatus.SENT,
        adapter=params["adapter"],
        provider_message_id=params["provider_message_id"],
        date_sent=params["now"],
        lease_expires_at=None,
        date_updated=params["now"],
        error_code=params["error_code"],
        error_message=params["error_message"],
    )
    return row if won else None


def _touch(owner: Owner, now: datetime) -> None:
    """A step was added to a locked, pending verification: move its `date_updated`, so a
    check that read the row before (and approves without the lock only while the row is as
    read, `verifications._approve_in_one_statement`) loses and takes the locked path, which
    cancels this step too. Strictly later than the stored value even if the clocks of two
    hosts disagree. Factor codes are only checked under their lock: nothing to move."""
    if isinstance(owner, Verification):
        later = Greatest(Value(now), F("date_updated") + timedelta(microseconds=1))
        Verification.objects.filter(pk=owner.pk).update(date_updated=later)


def _schedule_next(
    owner: Owner, *, send_number: int, step: int, due_at: datetime, now: datetime
) -> None:
    """`_schedule_step` in one statement: under the owner's lock, a step that already
    exists is the only conflict, and it keeps its own timer."""
    if connection.vendor != "postgresql":  # development databases
        if not _attempts(owner).filter(send_number=send_number, step=step).exists():
            _schedule_step(owner, send_number=send_number, step=step, due_at=due_at)
            _touch(owner, now)
        return
    attempt = DeliveryAttempt(
        **{_owner_field(owner): owner},
        send_number=send_number,
        step=step,
        channel=owner.plan[step]["channel"],
        due_at=due_at,
        deadline=_step_deadline(owner, step, due_at),
    )
    if insert_unless_conflict(attempt):
        _touch(owner, now)
        transaction.on_commit(lambda: _enqueue(attempt.sid, due_at))


def _error_fields(error: Exception, *, prefix: str = "") -> dict[str, Any]:
    code = getattr(error, "code", None)
    return {
        "error_code": str(code)[:32] if code is not None else None,
        "error_message": (prefix + (str(error) or type(error).__name__))[:255],
    }


def _attempt_record_failure(
    *, attempt_sid: str, adapter: str, error: Exception, temporary: bool, now: datetime | None
) -> str:
    """Step 3 (failure): retry a temporary error inside the step's window with capped
    backoff; otherwise fail the attempt and fall back to the next step now."""
    with transaction.atomic():
        now = current_time(now)
        locked = _locked_attempt(attempt_sid)
        if locked is None:
            return "stale"
        verification, attempt = locked
        if attempt.status != AttemptStatus.SENDING:
            return "stale"
        if temporary and verification.status == Status.PENDING:
            backoff = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempt.tries - 1, 0))
            hint = getattr(error, "retry_after", None)
            if isinstance(hint, int | float) and hint > backoff:
                backoff = math.ceil(hint)  # never sooner than the provider asked
            retry_at = now + timedelta(seconds=backoff)
            if retry_at < attempt.deadline:
                compare_and_set(
                    DeliveryAttempt,
                    pk=attempt_sid,
                    sources=[AttemptStatus.SENDING],
                    target=AttemptStatus.SCHEDULED,
                    adapter=adapter,
                    due_at=retry_at,
                    lease_expires_at=None,
                    date_updated=now,
                    **_error_fields(error),
                )
                # The row is locked through its owner: it now holds what was written.
                attempt.due_at = retry_at
                _enqueue_on_commit(attempt)
                return "retry"
        fields = {
            "adapter": adapter,
            "lease_expires_at": None,
            "date_updated": now,
            **_error_fields(error),
        }
        if not compare_and_set(
            DeliveryAttempt,
            pk=attempt_sid,
            sources=[AttemptStatus.SENDING],
            target=AttemptStatus.FAILED,
            **fields,
        ):
            return "stale"
        for name, value in {**fields, "status": AttemptStatus.FAILED}.items():
            setattr(attempt, name, value)
        _event(verification, "delivery.failed", **_attempt_payload(attempt))
        _fall_back(verification, attempt, now)
        return "failed"


def _fall_back(verification: Owner, attempt: DeliveryAttempt, now: datetime) -> None:
    """The attempt failed: the next step of its send goes out now. With no step left and
    nothing that may still reach the user, the verification has failed."""
    if verification.status != Status.PENDING or attempt.send_number != verification.send_count:
        return
    nxt = attempt.step + 1
    if nxt < len(verification.plan):
        following = (
            _attempts(verification).filter(send_number=attempt.send_number, step=nxt).first()
        )
        if following is None:
            _schedule_step(verification, send_number=attempt.send_number, step=nxt, due_at=now)
            _touch(verification, now)
        elif compare_and_set(
            DeliveryAttempt,
            pk=following.pk,
            sources=[AttemptStatus.SCHEDULED],
            target=AttemptStatus.SCHEDULED,
            due_at=now,
            deadline=_step_deadline(verification, nxt, now),
            date_updated=now,
        ):
            following.due_at = now
            _enqueue_on_commit(following)
        return
    if not _attempts(verification).filter(status__in=_LIVE_ATTEMPTS).exists():
        _end(verification, Status.FAILED, now, **_attempt_payload(attempt))


def delivery_attempt_sweep(*, now: datetime | None = None, limit: int = 100) -> list[str]:
    """The backstop of the ETA tasks: due rows they missed (lost broker message, worker
    killed mid-send once its lease ran out). Returns the SIDs queued again after commit."""
    with transaction.atomic():
        now = current_time(now)
        overdue = now - timedelta(seconds=SWEEP_GRACE_SECONDS)
        sids = list(
            DeliveryAttempt.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=AttemptStatus.SCHEDULED, due_at__lte=overdue)
                | Q(status=AttemptStatus.SENDING, lease_expires_at__lte=now)
            )
            .order_by("due_at")
            .values_list("sid", flat=True)[:limit]
        )
        for sid in sids:
            transaction.on_commit(lambda sid=sid: _enqueue(sid, now))
    return sids


_CALLBACK_FAILURES = {
    DeliveryStatus.FAILED: AttemptStatus.FAILED,
    DeliveryStatus.UNDELIVERED: AttemptStatus.UNDELIVERED,
}


def delivery_status_record(
    *,
    attempt_sid: str,
    provider_message_id: str | None,
    status: DeliveryStatus | str,
    error_code: str | None,
    now: datetime | None = None,
) -> bool:
    """A provider's status callback. Statuses only move forward and a duplicate is a no-op;
    failed or undelivered falls back to the next step at once. True when it changed a row."""
    try:
        status = DeliveryStatus(status)
    except ValueError:
        return False
    if status not in (DeliveryStatus.DELIVERED, DeliveryStatus.READ, *_CALLBACK_FAILURES):
        return False  # queued/sent: the adapter's own answer already recorded the send
    with transaction.atomic():
        now = current_time(now)
        locked = _locked_attempt(attempt_sid)
        if locked is None and provider_message_id:
            sid = (
                DeliveryAttempt.objects.filter(provider_message_id=provider_message_id)
                .values_list("sid", flat=True)
                .first()
            )
            locked = _locked_attempt(sid) if sid else None
        if locked is None:
            return False
        verification, attempt = locked
        extra = {"provider_message_id": provider_message_id[:128]} if provider_message_id else {}
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
            return compare_and_set(
                DeliveryAttempt,
                pk=attempt.pk,
                sources=[AttemptStatus.SENT],
                target=AttemptStatus.DELIVERED,
                date_updated=now,
                **extra,
            )
        fields = {
            "lease_expires_at": None,
            "error_code": (error_code or "")[:32] or None,
            "error_message": f"provider reported {status.value}",
            "date_updated": now,
            **extra,
        }
        target = _CALLBACK_FAILURES[status]
        if not compare_and_set(
            DeliveryAttempt,
            pk=attempt.pk,
            sources=[AttemptStatus.SENDING, AttemptStatus.SENT],
            target=target,
            **fields,
        ):
            return False
        # The row is locked through its owner: it now holds what was written.
        for name, value in {**fields, "status": target}.items():
            setattr(attempt, name, value)
        _event(verification, "delivery.failed", **_attempt_payload(attempt))
        _fall_back(verification, attempt, now)
        return True
