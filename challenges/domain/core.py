"""The engine's shared core: the code store, plans, events, scheduling of delivery steps,
and the one terminal transition of a verification.

Every transaction that changes a verification or its attempts first locks the verification
row (`_lock`), so a check, a cancel, a provider callback and a worker recording a send are
serialised per verification; status changes are compare-and-set on top of that.

Phone factors reuse this engine: their `FactorCode` inherits `OtpSession` (code store,
counters, plan, expiry) and is the second, nullable owner of `DeliveryAttempt`; the helpers
below take either owner (`Owner`). A `FactorCode` writes no `verification.*` event when it
ends: its challenge or factor records what the client sees.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS, is_landline
from challenges.models import (
    DeliveryAttempt,
    FactorCode,
    Verification,
)
from channels import registry
from factors.models import Factor
from services.domain import event_record
from services.models import Service
from verify_platform.celery import left_to_sweeper, publish
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter
from verify_platform.lib.transitions import compare_and_set

logger = logging.getLogger("challenges.delivery")

Status = Verification.Status
AttemptStatus = DeliveryAttempt.Status
KNOWN_CHANNELS = (*PHONE_CHANNELS, "email")
MAX_STEP_TIMEOUT = 600

# What a delivery attempt belongs to.
Owner = Verification | FactorCode


def _owner_field(owner: Owner) -> str:
    return "factor_code" if isinstance(owner, FactorCode) else "verification"


def _attempts(owner: Owner) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(**{f"{_owner_field(owner)}_id": owner.pk})


def _destination(owner: Owner) -> str:
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


def _new_code(length: int) -> str:
    return f"{secrets.randbelow(10**length):0{length}d}"


def _code_matches(verification: Owner, code: str) -> bool:
    digest = crypto.keyed_hash(code, salt=verification.code_salt)
    return hmac.compare_digest(digest.encode(), verification.code_hash.encode())


# --- plans ----------------------------------------------------------------------------------


def _stored_plan(service: Service) -> list[dict[str, Any]]:
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
    stored = _stored_plan(service)
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


# --- events ---------------------------------------------------------------------------------


def _event_fields(verification: Owner, type: str, **payload: Any) -> dict[str, Any]:
    if isinstance(verification, FactorCode):
        subject = {"factor_sid": verification.factor_id, "challenge_sid": verification.challenge_id}
    else:
        subject = {"verification_sid": verification.sid}
    return {
        "service": verification.service,
        "type": type,
        "resource_sid": verification.sid,
        "payload": {**subject, "channel": verification.channel, **payload},
    }


def _event(verification: Owner, type: str, **payload: Any) -> None:
    event_record(**_event_fields(verification, type, **payload))


def _attempt_payload(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt_sid": attempt.sid,
        "attempt_channel": attempt.channel,
        "send_number": attempt.send_number,
        "step": attempt.step,
        "status": attempt.status,
        "error_code": attempt.error_code,
    }


# --- scheduling -----------------------------------------------------------------------------


def _enqueue(attempt_sid: str, eta: datetime) -> None:
    from challenges.tasks import delivery_attempt_send_task

    # A step already due is queued without an ETA: Celery holds every ETA task in the
    # worker's memory and hands it to the pool through a timer, even one already due, which
    # costs each send milliseconds of worker time.
    due = eta if eta > current_time() else None
    with left_to_sweeper(logger, "attempt %s", attempt_sid):
        publish(delivery_attempt_send_task, attempt_sid, eta=due)


def _enqueue_on_commit(attempt: DeliveryAttempt) -> None:
    sid, eta = attempt.sid, attempt.due_at
    transaction.on_commit(lambda: _enqueue(sid, eta))


# Seconds a step with a next one waits before falling back when its plan names no timeout.
DEFAULT_STEP_TIMEOUT = 60


def _step_timeout(plan: list[dict[str, Any]], step: int) -> int | None:
    """How long `step` has before the next one: its timeout, the default when it names none,
    None for the last step (it lasts as long as the code). The retry window and the next
    step's timer both come from here, so temporary errors never outlast the fallback."""
    if step >= len(plan) - 1:
        return None
    return plan[step].get("timeout") or DEFAULT_STEP_TIMEOUT


def _step_deadline(verification: Owner, step: int, start: datetime) -> datetime:
    timeout = _step_timeout(verification.plan, step)
    if timeout is None:
        return verification.expires_at
    return min(start + timedelta(seconds=timeout), verification.expires_at)


def _schedule_step(
    verification: Owner, *, send_number: int, step: int, due_at: datetime
) -> DeliveryAttempt:
    attempt = DeliveryAttempt.objects.create(
        **{_owner_field(verification): verification},
        send_number=send_number,
        step=step,
        channel=verification.plan[step]["channel"],
        due_at=due_at,
        deadline=_step_deadline(verification, step, due_at),
    )
    _enqueue_on_commit(attempt)
    return attempt


def _lock(verification_sid: str) -> Verification | None:
    return (
        Verification.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(pk=verification_sid)
        .first()
    )


def _lock_code(pk: int) -> FactorCode | None:
    return (
        FactorCode.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(pk=pk)
        .first()
    )


def _lock_owner_of(attempt_sid: str) -> Owner | None:
    """Lock the verification or factor code an attempt belongs to."""
    row = (
        DeliveryAttempt.objects.filter(pk=attempt_sid)
        .values("verification_id", "factor_code_id")
        .first()
    )
    if row is None:
        return None
    if row["verification_id"] is not None:
        return _lock(row["verification_id"])
    return _lock_code(row["factor_code_id"])


def _end(
    verification: Owner,
    target: str,
    now: datetime,
    *,
    extra_filter: dict[str, Any] | None = None,
    sources: tuple[str, ...] = (Status.PENDING,),
    **payload: Any,
) -> bool:
    """pending -> a terminal status: erase the sealed code, cancel what is still scheduled,
    record the event. Call with the owner locked."""
    won = compare_and_set(
        type(verification),
        pk=verification.pk,
        sources=list(sources),
        target=target,
        extra_filter=extra_filter,
        code_sealed="",
        date_updated=now,
    )
    if not won:
        return False
    _attempts(verification).filter(status=AttemptStatus.SCHEDULED).update(
        status=AttemptStatus.CANCELED, date_updated=now
    )
    verification.status = target
    verification.code_sealed = ""
    if isinstance(verification, Verification):
        _event(verification, f"verification.{target}", **payload)
    return True
