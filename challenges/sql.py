"""The challenges app's hand-written SQL: the hot transitions, each one statement.

Each of these is the only implementation of its transition (there is no ORM twin): the
benchmark showed one statement worth far more than the 15% that justifies hand-written SQL
(bench/README.md: with the ORM's transactions instead, TOTP fell from 0.68x to 0.42x of the
baseline, a verification's create from 0.59x to 0.42x and its check from 0.69x to 0.39x).
PostgreSQL runs a statement with data-modifying CTEs atomically, so a change and the rows that
must exist only if it won (an inserted challenge, the event and its webhook deliveries) are
written together or not at all, with no BEGIN and COMMIT round trips.

Statuses written come from the models' transition tables through parameters (`edge()`,
`created_as()` in `challenges.domain`); columns inserted are listed once per table, and
tests/challenges/test_sql.py compares those lists with the models. Parameters are named;
fragments from `factors.sql`, `limits.sql` and `services.sql` share the names that mean the
same value (`service`, `to`, `now`, `factor`).
"""

from __future__ import annotations

from factors.sql import TOTP_STEP_BOOK
from limits.sql import DESTINATION_OPEN, destination_streak_end
from services.sql import OUTBOX_DELIVERY_IDS, outbox_ctes

VERIFICATION_COLUMNS = (
    "sid",
    "service_id",
    "to",
    "channel",
    "status",
    "custom_friendly_name",
    "custom_code",
    "amount",
    "payee",
    "options",
    "code_hash",
    "code_salt",
    "code_sealed",
    "code_length",
    "check_attempts",
    "send_count",
    "locale",
    "app_hash",
    "plan",
    "expires_at",
    "date_created",
    "date_updated",
)
ATTEMPT_COLUMNS = (
    "sid",
    "verification_id",
    "factor_code_id",
    "send_number",
    "step",
    "channel",
    "adapter",
    "status",
    "due_at",
    "deadline",
    "lease_expires_at",
    "tries",
    "provider_message_id",
    "error_code",
    "error_message",
    "date_sent",
    "date_created",
    "date_updated",
)
CHALLENGE_COLUMNS = (
    "sid",
    "service_id",
    "entity_id",
    "factor_id",
    "status",
    "responded_reason",
    "expiration_date",
    "date_responded",
    "details_message",
    "details_fields",
    "hidden_details",
    "metadata",
    "failed_attempts",
    "recovery_codes_remaining",
    "date_created",
    "date_updated",
)


def _names(columns: tuple[str, ...], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in columns)


# A start with nothing pending and nothing exhausted for its destination: the verification
# and its first attempt, unless a pending verification or an exhausted one within its lifetime
# exists (read with a row lock, so a concurrent fifth wrong check is seen as committed), a
# concurrent start inserted first (the partial unique index: ON CONFLICT DO NOTHING), or the
# destination gate is closed. Returns how many attempts were inserted: 1, or 0 when the caller
# must take the locking path, which decides those cases.
VERIFICATION_CREATE = f"""
WITH live AS MATERIALIZED (
    SELECT 1 FROM challenges_verification
    WHERE service_id = %(service)s AND "to" = %(to)s
      AND (status = 'pending' OR (status = 'max_attempts_reached' AND expires_at > %(now)s))
    LIMIT 1 FOR UPDATE
),
verification AS (
    INSERT INTO challenges_verification ({_names(VERIFICATION_COLUMNS)})
    SELECT %(sid)s, %(service)s, %(to)s, %(channel)s, %(status)s, %(custom_friendly_name)s,
           %(custom_code)s, %(amount)s, %(payee)s, %(options)s, %(code_hash)s, %(code_salt)s,
           %(code_sealed)s, %(code_length)s, 0, 1, %(locale)s, %(app_hash)s, %(plan)s,
           %(expires_at)s, %(stamp)s, %(stamp)s
    WHERE NOT EXISTS (SELECT 1 FROM live) AND {DESTINATION_OPEN}
    ON CONFLICT DO NOTHING
    RETURNING sid
),
attempt AS (
    INSERT INTO challenges_deliveryattempt ({_names(ATTEMPT_COLUMNS)})
    SELECT %(attempt_sid)s, verification.sid, NULL, 1, 0, %(channel)s, '', %(attempt_status)s,
           %(now)s, %(deadline)s, NULL, 0, NULL, NULL, NULL, NULL, %(stamp)s, %(stamp)s
    FROM verification
    RETURNING sid
)
SELECT count(*) FROM attempt
"""  # noqa: S608 (names of ours; every value is a parameter)

# A correct code: pending -> approved, the cancel of the scheduled steps, the end of the
# destination's failure streak, the event and its webhook deliveries. It wins only while the
# row is as the caller read it (`date_updated`; every write to a verification moves it) and
# the destination gate is open, so a check that read the row without a lock loses to any write
# since, and then takes the locked path. One row (the deliveries' ids) when it won.
VERIFICATION_APPROVE = f"""
WITH v AS (
    UPDATE challenges_verification
    SET status = %(approved)s, code_sealed = '', date_updated = %(now)s
    WHERE sid = %(sid)s AND service_id = %(service)s AND "to" = %(to)s
      AND status = ANY(%(pending)s) AND expires_at > %(now)s
      AND check_attempts < %(max_checks)s AND date_updated = %(read_updated)s
      AND {DESTINATION_OPEN}
    RETURNING sid
),
canceled AS (
    UPDATE challenges_deliveryattempt
    SET status = %(attempt_canceled)s, date_updated = %(now)s
    WHERE verification_id = %(sid)s AND status = ANY(%(attempt_scheduled)s)
      AND EXISTS (SELECT 1 FROM v)
    RETURNING 1
),
streak AS ({destination_streak_end("v")}),{outbox_ctes("v")}
SELECT {OUTBOX_DELIVERY_IDS} FROM v
"""  # noqa: S608

# A correct, fresh TOTP code on an open factor: the factor's step (`factors.sql`), the
# challenge inserted approved, its event and the event's deliveries. One row when it won.
TOTP_CHALLENGE_APPROVE = f"""
WITH booked AS ({TOTP_STEP_BOOK}),
challenge AS (
    INSERT INTO challenges_challenge ({_names(CHALLENGE_COLUMNS)})
    SELECT %(challenge)s, %(service)s, %(entity)s, %(factor)s, %(status)s,
           %(responded_reason)s, %(expiration_date)s, %(now)s, %(details_message)s,
           %(details_fields)s, %(hidden_details)s, %(metadata)s, 0, NULL, %(stamp)s,
           %(stamp)s
    FROM booked
    RETURNING sid
),{outbox_ctes("challenge")}
SELECT {OUTBOX_DELIVERY_IDS} FROM challenge
"""  # noqa: S608

# The two owners of a delivery attempt: (table, key column, the attempt's foreign key).
OWNERS = {
    "verification": ("challenges_verification", "sid", "verification_id"),
    "factor_code": ("challenges_factorcode", "id", "factor_code_id"),
}
# What a send reads of its owner (after the attempt's and the service's columns of a claim).
_SESSION_READ = (
    "service_id",
    "channel",
    "status",
    "code_sealed",
    "locale",
    "app_hash",
    "send_count",
    "expires_at",
    "plan",
)
CLAIM_OWNER_COLUMNS = {
    "verification": (
        "sid",
        "to",
        "custom_friendly_name",
        "amount",
        "payee",
        "options",
        *_SESSION_READ,
    ),
    "factor_code": ("id", "factor_id", "challenge_id", *_SESSION_READ),
}


def _attempt_claim(owner: str) -> str:
    table, key, fk = OWNERS[owner]
    return f"""
WITH o AS (
    SELECT * FROM {table}
    WHERE {key} = (SELECT {fk} FROM challenges_deliveryattempt WHERE sid = %(sid)s)
    FOR UPDATE
)
UPDATE challenges_deliveryattempt a
SET status = %(sending)s, lease_expires_at = %(lease)s, tries = a.tries + 1,
    date_updated = %(now)s
FROM o JOIN services_service s ON s.sid = o.service_id
WHERE a.sid = %(sid)s AND a.{fk} = o.{key}
  AND o.status = 'pending' AND o.expires_at > %(now)s
  AND ((a.status = 'scheduled' AND a.due_at <= %(now)s)
       OR (a.status = 'sending' AND a.lease_expires_at <= %(now)s))
  AND (a.step = 0 OR a.tries > 0 OR %(first_fallback)s)
RETURNING a.channel, a.send_number, a.step, a.tries, a.error_code,
          s.account_id, s.friendly_name, s.do_not_share_warning_enabled,
          s.whatsapp_msg_service_sid, s.whatsapp_from,
          {", ".join(f'o."{column}"' for column in CLAIM_OWNER_COLUMNS[owner])}
"""  # noqa: S608


# Take a due (or lease-expired) attempt of a pending, unexpired owner, with the owner locked
# first as every writer of its attempts does (a check, a cancel or a callback is serialised
# against the claim); the attempt's own status is the compare-and-set. The first claim of a
# fallback step records an event in the same transaction, so it is taken only with
# `first_fallback` (inside one). Returns the attempt's fields, the service's, then the
# owner's `CLAIM_OWNER_COLUMNS` as locked.
ATTEMPT_CLAIM = {owner: _attempt_claim(owner) for owner in OWNERS}
# Where the owner's columns start in a claim's row.
CLAIM_OWNER_OFFSET = 10


def _attempt_record_sent(owner: str) -> str:
    table, key, _fk = OWNERS[owner]
    return f"""
WITH o AS (
    SELECT status, send_count, expires_at, plan FROM {table}
    WHERE {key} = %(owner)s FOR UPDATE
),
sent AS (
    UPDATE challenges_deliveryattempt a
    SET status = %(sent)s, adapter = %(adapter)s, provider_message_id = %(provider_message_id)s,
        date_sent = %(now)s, lease_expires_at = NULL, date_updated = %(now)s,
        error_code = %(error_code)s, error_message = %(error_message)s
    FROM o
    WHERE a.sid = %(sid)s AND a.status = ANY(%(sending)s)
    RETURNING o.status, o.send_count, o.expires_at, o.plan
),{outbox_ctes("sent")}
SELECT sent.status, sent.send_count, sent.expires_at, sent.plan, {OUTBOX_DELIVERY_IDS}
FROM sent
"""  # noqa: S608


# sending -> sent, with its `delivery.sent` event and deliveries; returns the owner's state
# under its lock (which decides whether the next step's timer is armed), or no row when the
# attempt was no longer sending (a callback decided, or the lease was taken over).
ATTEMPT_RECORD_SENT = {owner: _attempt_record_sent(owner) for owner in OWNERS}


def _verification_for_check(by: str, lock: bool) -> str:
    where = "v.sid = %(sid)s" if by == "sid" else 'v."to" = %(to)s'
    return f"""
SELECT {_names(VERIFICATION_COLUMNS, "v")}, s.account_id
FROM challenges_verification v JOIN services_service s ON s.sid = v.service_id
WHERE s.account_id = %(account)s AND v.service_id = %(service)s AND {where}
ORDER BY v.date_created DESC, v.sid DESC
LIMIT 1{" FOR UPDATE OF v" if lock else ""}
"""  # noqa: S608


# The verification a check names, in the tenant's service (by SID, or the latest for a `To`):
# its `VERIFICATION_COLUMNS`, then the service's account; the locking variant locks the
# verification row only. The ORM's
# join, compiled on every check, cost as much CPU as the rest of the approval.
VERIFICATION_FOR_CHECK = {
    (by, lock): _verification_for_check(by, lock) for by in ("sid", "to") for lock in (True, False)
}
