"""Retention of the OTP engine's rows: verifications and their delivery attempts, phone
factors' codes and challenges are deleted once they are older than `VERIFY_RETENTION`
allows, and a verification's destination is masked after a shorter time.

Each batch is one short statement (the masking: one short transaction) that takes the oldest
rows with `FOR UPDATE SKIP LOCKED` and never a row still in use: a pending verification or
code, one whose code can still be answered (`expires_at` ahead), a challenge still pending or
whose code is, a delivery attempt scheduled or being sent. Requests only ever lock live rows
and these batches only old ended ones, so neither waits for the other; a locked row is
skipped and taken by a later run.

A row goes with its owner, in the same statement (the foreign keys are checked at its end):
a verification with its delivery attempts, a code with its attempts, a challenge with its
phone code. So the owner's retention bounds its dependents': attempts kept longer than
their verification (`ATTEMPTS_DAYS` > `VERIFICATIONS_DAYS`) still go with it.

Masking (`REDACT_DESTINATIONS_DAYS`) writes `+1******0100` (or `j***@e******.com`) over an
ended verification's `to`, and drops the start's `DeviceIp` and e-mail sender options. Fetches and checks by To only ever find a live verification, and
the destination throttle (`limits.DestinationThrottle`) keeps its own copy of the number,
which it needs in clear to match the next start and check. The Attempts API shows `to`
masked anyway, but reads an attempt's country from it and filters `ChannelData.To` on it:
a masked attempt has no country and is found by To no more, hence the default of masking
no earlier than attempts are deleted. A value with a `*` after its last `@` (or anywhere, for a
phone number) is masked: no phone number or e-mail domain contains one. Two partial indexes
(migration 0008) split the table on that test, so the masking sweep reads only rows still in
clear and the deletion, when masking comes first, only masked ones; a new verification
writes one of them.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from challenges.models import Challenge, DeliveryAttempt, OtpStatus
from verify_platform.lib import retention
from verify_platform.lib.clock import current_time
from verify_platform.lib.phones import mask_phone

# Literals, not parameters: the partial indexes' predicates must be visible to the planner
# in every plan, a prepared statement's generic one included.
_PENDING = OtpStatus.PENDING.value
_CHALLENGE_PENDING = Challenge.Status.PENDING.value
# Masked: a `*` after the last `@` (phone numbers have no `@`). The same text as the indexes'.
MASKED = r""""to" ~ '\*[^@]*$'"""
_LIVE_ATTEMPTS = [DeliveryAttempt.Status.SCHEDULED.value, DeliveryAttempt.Status.SENDING.value]

# A verification that is over: not pending, and its code can no longer be answered (a failed
# one may still be approved until it expires).
_VERIFICATION_ENDED = f"""v.status <> '{_PENDING}' AND v.expires_at <= %(now)s
    AND NOT EXISTS (
        SELECT 1 FROM challenges_deliveryattempt a
        WHERE a.verification_id = v.sid AND a.status = ANY(%(live)s)
    )"""  # noqa: S608 (literals of ours; every value is a parameter)

REDACT_SELECT = f"""
SELECT v.sid, v."to" FROM challenges_verification v
WHERE NOT ({MASKED}) AND v.date_created < %(cutoff)s AND {_VERIFICATION_ENDED}
ORDER BY v.date_created
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED"""  # noqa: S608 (literals of ours; every value is a parameter)

REDACT_UPDATE = """
UPDATE challenges_verification AS v
SET "to" = m.masked, options = v.options - 'device_ip' - 'channel_configuration'
FROM unnest(%(sids)s::text[], %(masked)s::text[]) AS m(sid, masked)
WHERE v.sid = m.sid"""

# Delivery attempts of verifications, by the Attempts API's index (`attempt_created`). A
# phone factor's code keeps its attempts until the code itself goes.
ATTEMPTS_DELETE = """
DELETE FROM challenges_deliveryattempt WHERE sid IN (
    SELECT sid FROM challenges_deliveryattempt
    WHERE verification_id IS NOT NULL AND date_created < %(cutoff)s
        AND NOT (status = ANY(%(live)s))
    ORDER BY date_created, sid
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)"""


def _verifications_delete(masked: bool) -> str:
    """Through the partial index of masked rows when masking runs before deletion (every
    row old enough to go is masked by then), else through the one of rows in clear."""
    which = MASKED if masked else f"NOT ({MASKED})"
    return f"""
WITH batch AS (
    SELECT v.sid FROM challenges_verification v
    WHERE {which} AND v.date_created < %(cutoff)s AND {_VERIFICATION_ENDED}
    ORDER BY v.date_created
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), attempts AS (
    DELETE FROM challenges_deliveryattempt WHERE verification_id IN (SELECT sid FROM batch)
)
DELETE FROM challenges_verification WHERE sid IN (SELECT sid FROM batch)"""  # noqa: S608 (literals of ours; every value is a parameter)


VERIFICATIONS_DELETE = {masked: _verifications_delete(masked) for masked in (True, False)}

FACTOR_CODES_DELETE = f"""
WITH batch AS (
    SELECT c.id FROM challenges_factorcode c
    WHERE c.status <> '{_PENDING}' AND c.date_created < %(cutoff)s
        AND c.expires_at <= %(now)s AND c.budget_until <= %(now)s
        AND NOT EXISTS (
            SELECT 1 FROM challenges_deliveryattempt a
            WHERE a.factor_code_id = c.id AND a.status = ANY(%(live)s)
        )
    ORDER BY c.date_created
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), attempts AS (
    DELETE FROM challenges_deliveryattempt WHERE factor_code_id IN (SELECT id FROM batch)
)
DELETE FROM challenges_factorcode WHERE id IN (SELECT id FROM batch)"""  # noqa: S608 (literals of ours; every value is a parameter)

# A challenge with its phone code (if any) and that code's attempts; never one whose code is
# still answerable.
CHALLENGES_DELETE = f"""
WITH batch AS (
    SELECT ch.sid FROM challenges_challenge ch
    WHERE ch.status <> '{_CHALLENGE_PENDING}' AND ch.date_created < %(cutoff)s
        AND NOT EXISTS (
            SELECT 1 FROM challenges_factorcode c
            WHERE c.challenge_id = ch.sid
                AND (c.status = '{_PENDING}' OR c.expires_at > %(now)s)
        )
    ORDER BY ch.date_created
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), codes AS (
    SELECT id FROM challenges_factorcode WHERE challenge_id IN (SELECT sid FROM batch)
), attempts AS (
    DELETE FROM challenges_deliveryattempt WHERE factor_code_id IN (SELECT id FROM codes)
), gone_codes AS (
    DELETE FROM challenges_factorcode WHERE id IN (SELECT id FROM codes)
)
DELETE FROM challenges_challenge WHERE sid IN (SELECT sid FROM batch)"""  # noqa: S608 (literals of ours; every value is a parameter)


def mask_destination(to: str) -> str:
    """What a destination is kept as once masked: `+1******0100`, `j***@e******.com`.
    Idempotent, and always with a `*` after the last `@` (what `MASKED` tests)."""
    if "@" not in to:
        masked = mask_phone(to)
        return masked if "*" in masked else "*" * max(len(to), 1)
    local, _, domain = to.rpartition("@")
    labels = domain.split(".")
    keep = labels[-1:] if len(labels) > 1 else []
    hidden = labels[: len(labels) - len(keep)]
    return "@".join(
        (_mask_part(local), ".".join([*(_mask_part(label) for label in hidden), *keep]))
    )


def _mask_part(text: str) -> str:
    return text[:1] + "*" * max(len(text) - 1, 1)


def _delete(statement: str, params: dict) -> int:
    """One batch: a statement on its own (autocommit), or a savepoint in a caller's
    transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _batches(statement: str, cutoff: datetime | None, now: datetime) -> int:
    if cutoff is None:
        return 0
    params = {"cutoff": cutoff, "now": now, "live": _LIVE_ATTEMPTS}
    return retention.run_batches(lambda limit: _delete(statement, {**params, "limit": limit}))


def verifications_redact_batch(*, cutoff: datetime, now: datetime, limit: int) -> int:
    """Mask the destinations of up to `limit` ended verifications created before `cutoff`."""
    params = {"cutoff": cutoff, "now": now, "live": _LIVE_ATTEMPTS, "limit": limit}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(REDACT_SELECT, params)
        rows = cursor.fetchall()
        if rows:
            cursor.execute(
                REDACT_UPDATE,
                {
                    "sids": [sid for sid, _ in rows],
                    "masked": [mask_destination(to) for _, to in rows],
                },
            )
    return len(rows)


def retention_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """One run of the beat task: mask, then delete, each kind in bounded batches; how many
    rows of each kind it masked or deleted."""
    now = current_time(now)
    redact_cutoff = retention.cutoff("REDACT_DESTINATIONS_DAYS", now)
    redacted = 0
    if redact_cutoff is not None:
        redacted = retention.run_batches(
            lambda limit: verifications_redact_batch(cutoff=redact_cutoff, now=now, limit=limit)
        )
    verification_cutoff = retention.cutoff("VERIFICATIONS_DAYS", now)
    masked_first = redact_cutoff is not None and (
        verification_cutoff is not None and redact_cutoff >= verification_cutoff
    )
    return {
        "verifications_redacted": redacted,
        "attempts": _batches(ATTEMPTS_DELETE, retention.cutoff("ATTEMPTS_DAYS", now), now),
        "verifications": _batches(VERIFICATIONS_DELETE[masked_first], verification_cutoff, now),
        "factor_codes": _batches(
            FACTOR_CODES_DELETE, retention.cutoff("FACTOR_CODES_DAYS", now), now
        ),
        "challenges": _batches(CHALLENGES_DELETE, retention.cutoff("CHALLENGES_DAYS", now), now),
    }
