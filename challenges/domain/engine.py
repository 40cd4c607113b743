"""The OTP engine's shared core: the code store, plans, events, the scheduling of delivery
steps, owner locks, and the one terminal transition of a session.

Every transaction that changes a verification or its attempts first locks the verification
row (`lock_verification`), so a check, a cancel, a provider callback and a worker recording a
send are serialised per verification; status changes are compare-and-set on top of that.

Phone factors reuse this engine: their `FactorCode` shares the code store, counters, plan and
expiry (`OtpSession`) and is the second, nullable owner of `DeliveryAttempt`; the functions
below take either owner (`Owner`). A `FactorCode` writes no `verification.*` event when it
ends: its challenge or factor records what the client sees.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS, is_landline
from challenges.enqueue import delivery_attempt_enqueue, delivery_attempt_enqueue_on_commit
from challenges.models import DeliveryAttempt, FactorCode, OtpStatus, Verification
from channels import registry
from factors.models import Factor
from services.domain import event_record
from services.models import Service
from verify_platform.lib import crypto, metrics
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter
from verify_platform.lib.transitions import move, move_all

Status = OtpStatus
AttemptStatus = DeliveryAttempt.Status
KNOWN_CHANNELS = (*PHONE_CHANNELS, "email")
MAX_STEP_TIMEOUT = 600
# Seconds a step with a next one waits before falling back when its plan names no timeout.
DEFAULT_STEP_TIMEOUT = 60

# What a delivery attempt belongs to.
Owner = Verification | FactorCode


def owner_field(owner: Owner) -> str:
    """The attempt's foreign key to `owner`: `verification` or `factor_code`."""
    return "factor_code" if isinstance(owner, FactorCode) else "verification"


def attempts_of(owner: Owner) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(**{f"{owner_field(owner)}_id": owner.pk})


def destination_of(owner: Owner) -> str:
    """Where a step goes. A factor's number is decrypted only here, when a step is sent."""
    if isinstance(owner, FactorCode):
        sealed = (
            Factor.objects.filter(pk=owner.factor_id)
            .values_list("phone_number_encrypted", flat=True)
            .first()
        )
        return crypto.decrypt(sealed or "")
    return owner.to


# --- the code store -------------------------------------------------------------------------


def new_code(length: int) -> str:
    return f"{secrets.randbelow(10**length):0{length}d}"


def sealed_code_fields(code: str) -> dict[str, Any]:
    """What a session stores of its code: a keyed hash to compare, and a sealed copy for the
    worker that delivers it (erased when the session ends)."""
    salt = secrets.token_hex(16)
    return {
        "code_hash": crypto.keyed_hash(code, salt=salt),
        "code_salt": salt,
        "code_sealed": crypto.encrypt(code),
        "code_length": len(code),
    }


def code_matches(session: Owner, code: str) -> bool:
    digest = crypto.keyed_hash(code, salt=session.code_salt)
    return hmac.compare_digest(digest.encode(), session.code_hash.encode())


# --- plans ----------------------------------------------------------------------------------


def stored_plan(service: Service) -> list[dict[str, Any]]:
    """The service's plan as written; the API validates it, but the admin edits the JSON
    directly, so a malformed step is skipped here rather than failing a send."""
    steps = []
    for step in service.fallback if isinstance(service.fallback, list) else []:
        if not isinstance(step, dict) or step.get("channel") not in KNOWN_CHANNELS:
            continue
        timeout = step.get("timeout")
        valid = type(timeout) is int and 1 <= timeout <= MAX_STEP_TIMEOUT
        steps.append({"channel": step["channel"], **({"timeout": timeout} if valid else {})})
    return steps


def plan_for(*, service: Service, channel: str, to: str) -> list[dict[str, Any]]:
    """The channel steps of one send. An explicit channel is one step; `auto` follows the
    service's fallback plan (plain sms without one), minus the steps this destination cannot
    take (e-mail vs phone, text channels for a landline) or that have no adapter."""
    if channel != "auto":
        return [{"channel": channel}]
    configured = set(registry.configured_channels())
    stored = stored_plan(service)
    if "@" in to:
        steps = [s for s in stored if s["channel"] == "email"] or [{"channel": "email"}]
    else:
        landline = is_landline(to)
        steps = [
            s
            for s in stored
            if s["channel"] in PHONE_CHANNELS and not (landline and s["channel"] in TEXT_CHANNELS)
        ]
        steps = steps or [{"channel": "call" if landline else "sms"}]
    steps = [s for s in steps if s["channel"] in configured]
    if not steps:
        raise InvalidParameter("Channel", "no enabled channel can reach this destination")
    return steps


def step_timeout(plan: list[dict[str, Any]], step: int) -> int | None:
    """How long `step` has before the next one: its timeout, the default when it names none,
    None for the last step (it lasts as long as the code). The retry window and the next
    step's timer both come from here, so temporary errors never outlast the fallback."""
    if step >= len(plan) - 1:
        return None
    return plan[step].get("timeout") or DEFAULT_STEP_TIMEOUT


def step_deadline(session: Owner, step: int, start: datetime) -> datetime:
    timeout = step_timeout(session.plan, step)
    if timeout is None:
        return session.expires_at
    return min(start + timedelta(seconds=timeout), session.expires_at)


# --- events ---------------------------------------------------------------------------------


def event_fields(session: Owner, type: str, **payload: Any) -> dict[str, Any]:
    """What `event_record` / `event_outbox` take for an event of `session`."""
    if isinstance(session, FactorCode):
        subject = {"factor_sid": session.factor_id, "challenge_sid": session.challenge_id}
    else:
        subject = {"verification_sid": session.sid}
        tags = session.options.get("tags")
        if tags:  # the start's Tags go with every event of the verification
            subject["tags"] = tags
    return {
        "service": session.service,
        "type": type,
        "resource_sid": session.sid,
        "payload": {**subject, "channel": session.channel, **payload},
    }


def record_event(session: Owner, type: str, **payload: Any) -> None:
    event_record(**event_fields(session, type, **payload))


def attempt_payload(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt_sid": attempt.sid,
        "attempt_channel": attempt.channel,
        "send_number": attempt.send_number,
        "step": attempt.step,
        "status": attempt.status,
        "error_code": attempt.error_code,
    }


# --- scheduling -----------------------------------------------------------------------------


def enqueue_attempt(attempt_sid: str, due_at: datetime, *, on_commit: bool = True) -> None:
    """Queue the send of an attempt (after commit by default). A step already due is queued
    without an ETA (see `challenges.enqueue`)."""
    eta = due_at if due_at > current_time() else None
    if on_commit:
        delivery_attempt_enqueue_on_commit(attempt_sid, eta)
    else:
        delivery_attempt_enqueue(attempt_sid, eta)


def schedule_step(
    session: Owner, *, send_number: int, step: int, due_at: datetime
) -> DeliveryAttempt:
    """A new scheduled attempt for `step` of send `send_number`, queued after commit."""
    attempt = DeliveryAttempt.objects.create(
        **{owner_field(session): session},
        send_number=send_number,
        step=step,
        channel=session.plan[step]["channel"],
        status=DeliveryAttempt.transitions.created_as(AttemptStatus.SCHEDULED),
        due_at=due_at,
        deadline=step_deadline(session, step, due_at),
    )
    enqueue_attempt(attempt.sid, attempt.due_at)
    return attempt


def lock_verification(verification_sid: str) -> Verification | None:
    return (
        Verification.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(pk=verification_sid)
        .first()
    )


def lock_factor_code(pk: int) -> FactorCode | None:
    return (
        FactorCode.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(pk=pk)
        .first()
    )


def lock_owner_of(attempt_sid: str) -> Owner | None:
    """Lock the verification or factor code an attempt belongs to."""
    row = (
        DeliveryAttempt.objects.filter(pk=attempt_sid)
        .values("verification_id", "factor_code_id")
        .first()
    )
    if row is None:
        return None
    if row["verification_id"] is not None:
        return lock_verification(row["verification_id"])
    return lock_factor_code(row["factor_code_id"])


def session_end(
    session: Owner,
    target: str,
    now: datetime,
    *,
    filters: dict[str, Any] | None = None,
    **payload: Any,
) -> bool:
    """An open session -> a terminal status: erase the sealed code, cancel what is still
    scheduled, record the event. Call with the owner locked."""
    won = move(
        type(session),
        pk=session.pk,
        target=target,
        filters=filters,
        code_sealed="",
        date_updated=now,
    )
    if not won:
        return False
    move_all(
        attempts_of(session),
        sources=[AttemptStatus.SCHEDULED],
        target=AttemptStatus.CANCELED,
        date_updated=now,
    )
    session.status = target
    session.code_sealed = ""
    session.date_updated = now
    if isinstance(session, Verification):
        record_event(session, f"verification.{target}", **payload)
        metrics.verification_ended(status=target, channel=session.channel, to=session.to)
    return True
