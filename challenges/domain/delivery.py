"""Delivery: a send is three steps: claim (one statement), adapter call (no transaction),
record (one statement, or a short transaction when a next step is armed). Rows are the
durable timer; fallback, retries, provider callbacks and the sweeper all move them by
compare-and-set (`challenges.domain.fallback`)."""

from __future__ import annotations

import logging
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from challenges import sql
from challenges.domain import fallback
from challenges.domain.engine import (
    AttemptStatus,
    Owner,
    Status,
    attempt_payload,
    attempts_of,
    event_fields,
    owner_field,
    record_event,
    step_timeout,
)
from challenges.domain.message import message_for
from challenges.models import LIFETIME_SECONDS, DeliveryAttempt, FactorCode, Verification
from channels import registry
from channels.base import (
    ChannelOutcomeUnknownError,
    ChannelPermanentError,
    ChannelTemporaryError,
    OutboundMessage,
)
from services.domain import event_outbox
from services.models import Service
from verify_platform.lib import metrics, rows
from verify_platform.lib.clock import current_time

logger = logging.getLogger("challenges.delivery")


def _lease_seconds() -> int:
    return int(getattr(settings, "VERIFY_DELIVERY_LEASE_SECONDS", 60))


@dataclass(frozen=True)
class Claim:
    """What the adapter call and the record step need, taken once when the attempt is
    claimed: its immutable fields and its owner (with the service the events name)."""

    attempt_sid: str
    owner: Owner
    channel: str
    send_number: int
    step: int
    message: OutboundMessage


# --- step 1: claim ----------------------------------------------------------------------------


def _claim(attempt_sid: str, now: datetime, *, owner: str, first_fallback: bool) -> Claim | None:
    """`ATTEMPT_CLAIM` for an attempt of an `owner` ("verification" or "factor_code")."""
    _, sending = DeliveryAttempt.transitions.edge(
        [AttemptStatus.SCHEDULED, AttemptStatus.SENDING], AttemptStatus.SENDING
    )
    params = {
        "sid": attempt_sid,
        "now": now,
        "lease": now + timedelta(seconds=_lease_seconds()),
        "sending": sending,
        "first_fallback": first_fallback,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.ATTEMPT_CLAIM[owner], params)
        row = cursor.fetchone()
    if row is None:
        return None
    channel, send_number, step, tries, error_code, account_id, name, warning = row[:8]
    whatsapp_service, whatsapp_from = row[8:10]
    model = Verification if owner == "verification" else FactorCode
    offset = sql.CLAIM_OWNER_OFFSET
    session = rows.instance(
        model, dict(zip(sql.CLAIM_OWNER_COLUMNS[owner], row[offset:], strict=True))
    )
    session.service = rows.instance(
        Service,
        {
            "sid": session.service_id,
            "account_id": account_id,
            "friendly_name": name,
            "do_not_share_warning_enabled": warning,
            "whatsapp_msg_service_sid": whatsapp_service,
            "whatsapp_from": whatsapp_from,
        },
    )
    if step > 0 and tries == 1:
        attempt = DeliveryAttempt(
            sid=attempt_sid,
            channel=channel,
            send_number=send_number,
            step=step,
            status=sending,
            error_code=error_code,
        )
        record_event(session, "delivery.fallback", **attempt_payload(attempt))
        metrics.fallback_fired(channel=channel, step=step)
    return Claim(
        attempt_sid=attempt_sid,
        owner=session,
        channel=channel,
        send_number=send_number,
        step=step,
        message=message_for(session, attempt_sid=attempt_sid, channel=channel),
    )


def _attempt_claim(*, attempt_sid: str, now: datetime | None) -> Claim | None:
    """Step 1: take the attempt, only while its owner is pending and unexpired. The common
    case (an attempt of a verification, no event to record) is one statement; the first
    claim of a fallback step records `delivery.fallback` in the claim's transaction, and an
    attempt that cannot be claimed because its owner ended or expired is settled there
    (`fallback.attempt_settle`)."""
    now = current_time(now)
    claim = _claim(attempt_sid, now, owner="verification", first_fallback=False)
    if claim is not None:
        return claim
    with transaction.atomic():
        for owner in sql.OWNERS:
            claim = _claim(attempt_sid, now, owner=owner, first_fallback=True)
            if claim is not None:
                return claim
        fallback.attempt_settle(attempt_sid=attempt_sid, now=now)
    return None


# --- step 2: the adapter call, outside any transaction ----------------------------------------


def delivery_attempt_send(*, attempt_sid: str, now: datetime | None = None) -> str:
    """Claim, send outside any transaction, record. Returns what happened (for logs and
    tests): skipped, sent, retry, failed or stale."""
    claim = _attempt_claim(attempt_sid=attempt_sid, now=now)
    if claim is None:
        return "skipped"
    adapter_name = ""
    record_failure = fallback.attempt_record_failure
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
        return record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=exc, temporary=True, now=now
        )
    except (ChannelPermanentError, ImproperlyConfigured) as exc:
        return record_failure(
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
        return record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=bug, temporary=True, now=now
        )
    return _attempt_record_sent(
        claim=claim,
        adapter=adapter_name,
        provider_message_id=result.provider_message_id,
        now=now,
    )


# --- step 3: record ---------------------------------------------------------------------------


def _attempt_record_sent(
    *,
    claim: Claim,
    adapter: str,
    provider_message_id: str | None,
    now: datetime | None,
    doubt: Exception | None = None,
) -> str:
    """Step 3 (success): sending -> sent with its event (`ATTEMPT_RECORD_SENT`), and the
    next step's timer armed when the send has one. The last step of a plan has nothing to
    arm, so its record is the statement alone, without a transaction around it."""
    errors = (
        fallback.error_fields(doubt, prefix="outcome unknown: ")
        if doubt
        else {"error_code": None, "error_message": None}
    )
    owner = claim.owner
    now = current_time(now)
    event = {
        "attempt_sid": claim.attempt_sid,
        "attempt_channel": claim.channel,
        "send_number": claim.send_number,
        "step": claim.step,
        "status": AttemptStatus.SENT,
        "error_code": errors["error_code"],
    }
    sending, sent = DeliveryAttempt.transitions.edge([AttemptStatus.SENDING], AttemptStatus.SENT)
    outbox = event_outbox(**event_fields(owner, "delivery.sent", **event))
    params = {
        **outbox.params(),
        "owner": owner.pk,
        "sid": claim.attempt_sid,
        "now": now,
        "sent": sent,
        "sending": sending,
        "adapter": adapter,
        "provider_message_id": (provider_message_id or "")[:128] or None,
        **errors,
    }
    last_step = claim.step + 1 >= len(owner.plan)
    with nullcontext() if last_step else transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql.ATTEMPT_RECORD_SENT[owner_field(owner)], params)
            row = cursor.fetchone()
        if row is None:
            return "stale"  # a callback already decided, or the lease was taken over
        owner.status, owner.send_count, owner.expires_at, plan, delivery_ids = row
        owner.plan = rows.json_value(plan)
        outbox.stored(delivery_ids)
        metrics.delivery_attempted(
            channel=claim.channel,
            adapter=adapter,
            outcome="sent",
            started=_start_of(claim),
            now=now,
        )
        nxt = claim.step + 1
        if (
            owner.status == Status.PENDING
            and claim.send_number == owner.send_count
            and nxt < len(owner.plan)
        ):
            due_at = now + timedelta(seconds=step_timeout(owner.plan, claim.step))
            if due_at < owner.expires_at:
                _schedule_next(
                    owner, send_number=claim.send_number, step=nxt, due_at=due_at, now=now
                )
        return "sent"


def _start_of(claim: Claim) -> datetime | None:
    """When the verification of a first message (send 1, step 0) started, for the time to
    the provider; its expiry is set a fixed lifetime after it. None for any other send."""
    if not isinstance(claim.owner, Verification) or (claim.send_number, claim.step) != (1, 0):
        return None
    return claim.owner.expires_at - timedelta(seconds=LIFETIME_SECONDS)


def _schedule_next(
    owner: Owner, *, send_number: int, step: int, due_at: datetime, now: datetime
) -> None:
    """Arm the next step's timer, under the owner's lock (taken by the record's statement);
    a step that already exists (a failure fell back to it first) keeps its own timer."""
    if not attempts_of(owner).filter(send_number=send_number, step=step).exists():
        fallback.step_schedule(owner, send_number=send_number, step=step, due_at=due_at, now=now)
