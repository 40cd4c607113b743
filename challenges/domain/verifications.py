"""Verifications: start (or resend), check, cancel, approve, expire."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F

from challenges import queries
from challenges.domain.core import (
    AttemptStatus,
    Status,
    _code_matches,
    _end,
    _enqueue_on_commit,
    _event_fields,
    _lock,
    _new_code,
    _schedule_step,
    _step_deadline,
    plan_for,
)
from challenges.errors import (
    ConcurrentRequests,
    MaxCheckAttemptsReached,
    MaxSendAttemptsReached,
)
from challenges.models import (
    LIFETIME_SECONDS,
    MAX_CHECK_ATTEMPTS,
    MAX_SEND_ATTEMPTS,
    DeliveryAttempt,
    Verification,
)
from limits import domain as limits
from limits import geo
from limits.models import DestinationThrottle
from services.domain import event_outbox
from services.models import Account, Service
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter, NotFound
from verify_platform.lib.prepared import PreparedQuery
from verify_platform.lib.statements import insert_columns, insert_params

if TYPE_CHECKING:
    from services.webhooks.dispatch import Outbox


def _with_attempts(verification: Verification, attempts: list[DeliveryAttempt]) -> None:
    """Hand the answer the attempts as this transaction wrote them (what
    `verification.attempts.all()` returns), instead of reading them back after commit."""
    cached = DeliveryAttempt.objects.none()
    cached._result_cache = attempts
    cached._prefetch_done = True
    verification._prefetched_objects_cache = {"attempts": cached}


def _new(
    *,
    service: Service,
    to: str,
    plan: list[dict[str, Any]],
    now: datetime,
    custom_code: str | None,
    **fields: Any,
) -> Verification:
    """A new verification, not saved yet."""
    code = custom_code or _new_code(service.code_length)
    salt = secrets.token_hex(16)
    return Verification(
        service=service,
        to=to,
        channel=plan[0]["channel"],
        plan=plan,
        code_hash=crypto.keyed_hash(code, salt=salt),
        code_salt=salt,
        code_sealed=crypto.encrypt(code),
        code_length=len(code),
        custom_code=custom_code is not None,
        expires_at=now + timedelta(seconds=LIFETIME_SECONDS),
        **fields,
    )


def _create(*, verification: Verification, now: datetime) -> Verification:
    verification.save(force_insert=True)
    attempt = _schedule_step(verification, send_number=1, step=0, due_at=now)
    _with_attempts(verification, [attempt])
    return verification


_V_FIELDS = insert_columns(Verification)
_A_FIELDS = insert_columns(DeliveryAttempt)
_CREATE_FIRST_SQL: dict[tuple[str, bool], str] = {}


def _create_first_sql(connection, *, gate: bool) -> str:
    """Built once per process from the models' metadata (identifiers only, quoted; every
    value is a parameter). With `gate`, the destination gate is one more condition."""
    sql = _CREATE_FIRST_SQL.get((connection.alias, gate))
    if sql is not None:
        return sql
    quote = connection.ops.quote_name
    meta = Verification._meta

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    v_table, a_table = quote(meta.db_table), quote(DeliveryAttempt._meta.db_table)
    v_columns = ", ".join(quote(field.column) for field in _V_FIELDS)
    a_columns = ", ".join(quote(field.column) for field in _A_FIELDS)
    open_gate = f"AND {limits.destination_open_sql(connection)} " if gate else ""
    sql = (
        # What decides a start the locking way, locked here too: a pending verification or
        # an exhausted one within its lifetime. A row lock waited for re-reads the row as
        # committed (a concurrent fifth wrong check is seen as exhausted), which a plain
        # NOT EXISTS, reading the statement's snapshot, would not.
        f"WITH live AS MATERIALIZED (SELECT 1 FROM {v_table} "  # noqa: S608 (identifiers only)
        f"WHERE {column('service')} = %s AND {column('to')} = %s "
        f"AND ({column('status')} = %s "
        f"OR ({column('status')} = %s AND {column('expires_at')} > %s)) LIMIT 1 FOR UPDATE), "
        f"v AS (INSERT INTO {v_table} ({v_columns}) "
        f"SELECT {', '.join(['%s'] * len(_V_FIELDS))} "
        f"WHERE NOT EXISTS (SELECT 1 FROM live) {open_gate}"
        "ON CONFLICT DO NOTHING RETURNING 1), "
        f"a AS (INSERT INTO {a_table} ({a_columns}) "
        f"SELECT {', '.join(['%s'] * len(_A_FIELDS))} FROM v RETURNING 1) "
        "SELECT count(*) FROM a"
    )
    _CREATE_FIRST_SQL[connection.alias, gate] = sql
    return sql


def _create_first(*, verification: Verification, now: datetime, gate: bool) -> bool:
    """The common start, a destination with no pending and no exhausted verification, as
    one statement (its own transaction in autocommit): the verification and its first
    attempt are inserted together unless a pending verification or an exhausted one within
    its lifetime (60202) exists, read with a row lock, or a concurrent start inserts first
    (the partial unique index: ON CONFLICT DO NOTHING). False when nothing was inserted; the
    caller then takes the locking path, which decides those cases. With `gate`, a
    destination the gate would refuse is one more such case (the locking path then runs the
    gate and answers its error). Failures of a destination are only recorded by a check of
    its pending verification, whose lock this statement waits for, so the gate read here is
    as fresh as the locking path's.

    Against the locking path's transaction it saves four round trips (BEGIN, the locking
    read, one of the two INSERTs, COMMIT) and two ORM compilations per create."""
    connection = transaction.get_connection()
    attempt = DeliveryAttempt(
        verification=verification,
        send_number=1,
        step=0,
        channel=verification.plan[0]["channel"],
        due_at=now,
        deadline=_step_deadline(verification, 0, now),
    )
    values = [
        verification.service_id,
        verification.to,
        Status.PENDING,
        Status.MAX_ATTEMPTS_REACHED,
        now,
        *insert_params(verification, _V_FIELDS, connection),
        *(
            limits.destination_open_params(
                service=verification.service, to=verification.to, now=now
            )
            if gate
            else []
        ),
        *insert_params(attempt, _A_FIELDS, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_create_first_sql(connection, gate=gate), values)
        [[inserted]] = cursor.fetchall()
    if not inserted:
        return False
    for saved in (verification, attempt):
        saved._state.adding, saved._state.db = False, connection.alias
    _enqueue_on_commit(attempt)  # at once in autocommit: the statement has committed
    _with_attempts(verification, [attempt])
    return True


def _resend(verification: Verification, plan: list[dict[str, Any]], now: datetime) -> None:
    """Same verification, same code, one more send; counters are never reset (N-06). Call
    with the verification locked: the fields written are then set in memory, not re-read."""
    won = Verification.objects.filter(
        pk=verification.pk, status=Status.PENDING, send_count__lt=MAX_SEND_ATTEMPTS
    ).update(
        send_count=F("send_count") + 1, plan=plan, channel=plan[0]["channel"], date_updated=now
    )
    if not won:
        retry_after = max(1, int((verification.expires_at - now).total_seconds()))
        raise MaxSendAttemptsReached(retry_after=retry_after)
    verification.send_count += 1
    verification.plan = plan
    verification.channel = plan[0]["channel"]
    verification.date_updated = now
    # The earlier send's fallback timers are superseded by this send's plan; what the user
    # asked for (step 0 of every send) still goes out.
    DeliveryAttempt.objects.filter(
        verification_id=verification.pk, status=AttemptStatus.SCHEDULED, step__gt=0
    ).update(status=AttemptStatus.CANCELED, date_updated=now)
    _schedule_step(verification, send_number=verification.send_count, step=0, due_at=now)


# The one read that decides a start: of this destination's pending and exhausted
# verifications, the one that expires last, locked. A pending verification is always that
# one: it can only be created once every exhausted one has expired (60202 until then), and
# it expires a full lifetime after its creation. Compiled once per process.
_LATEST_LIVE = PreparedQuery(
    lambda service_sid, to: (
        Verification.objects.select_for_update()
        .filter(
            service_id=service_sid,
            to=to,
            status__in=(Status.PENDING, Status.MAX_ATTEMPTS_REACHED),
        )
        .order_by("-expires_at")[:1]
    )
)


def _start(
    *,
    service: Service,
    to: str,
    plan: list[dict[str, Any]],
    now: datetime | None,
    custom_code: str | None,
    **fields: Any,
) -> Verification:
    """One transaction of a start: one locking read decides between 60202, a resend of the
    pending verification and a new one (after expiring a stale pending one)."""
    now = current_time(now)
    latest = _LATEST_LIVE.first(service.pk, to)
    if latest is not None and latest.status == Status.MAX_ATTEMPTS_REACHED:
        # Out of checks: no fresh code (and five fresh guesses) for this destination until
        # the exhausted verification's lifetime is over, as on Twilio (error 60202).
        if latest.expires_at > now:
            retry_after = max(1, int((latest.expires_at - now).total_seconds()))
            raise MaxCheckAttemptsReached(retry_after=retry_after)
    elif latest is not None:  # the pending one
        latest.service = service
        if latest.expires_at > now:
            _resend(latest, plan, now)
            _with_attempts(latest, list(_ordered_attempts(latest)))
            return latest
        _end(latest, Status.EXPIRED, now)  # stale: a fresh verification replaces it
    return _create(
        verification=_new(
            service=service, to=to, plan=plan, now=now, custom_code=custom_code, **fields
        ),
        now=now,
    )


def _ordered_attempts(verification: Verification):
    return DeliveryAttempt.objects.filter(verification_id=verification.pk).order_by(
        "date_created", "sid"
    )


def verification_start(
    *,
    service: Service,
    to: str,
    channel: str,
    locale: str = "en",
    custom_friendly_name: str | None = None,
    app_hash: str | None = None,
    custom_code: str | None = None,
    amount: str | None = None,
    payee: str | None = None,
    rate_limits: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Verification:
    """Create a verification for `to`, or resend the pending one (same SID, same code).

    Before anything is written: a destination throttled or blocked after failed checks is
    refused, and the start is metered against the tenant's rate limits and send budgets
    (`limits.domain.sends_admit`); a refusal there writes and sends nothing.

    A destination with nothing pending and nothing exhausted (the common case) gets its
    verification in one statement (`_create_first`). Otherwise one locking transaction
    decides: 60202, a resend of the pending verification, or a new one after expiring a
    stale one. Concurrent starts for one destination collide on the partial unique index;
    a loser's transaction is rolled back and retried, and then finds the winner's
    verification and resends it (a retry instead of a savepoint around every insert).

    The verification returned carries its attempts as written (`attempts.all()` reads
    nothing).
    """
    plan = plan_for(service=service, channel=channel, to=to)
    if channel != "email":
        geo.destination_country_permit(to=to, account_id=service.account_id)
    moment = current_time(now)
    fields = {
        "custom_code": custom_code,
        "locale": locale,
        "custom_friendly_name": custom_friendly_name,
        "app_hash": app_hash,
        "amount": amount,
        "payee": payee,
    }
    verification = _new(service=service, to=to, plan=plan, now=moment, **fields)
    # The gate comes before the metering (a refused start is not counted); with nothing to
    # meter, it can be judged inside the insert itself.
    metered = limits.sends_metered(rate_limits=rate_limits)
    # One statement needs PostgreSQL (data-modifying CTEs, FOR UPDATE); SQLite in
    # development takes the locking path.
    one_statement = transaction.get_connection().vendor == "postgresql"
    if (
        one_statement
        and not metered
        and _create_first(verification=verification, now=moment, gate=True)
    ):
        return verification
    limits.destination_gate(service=service, to=to, now=moment)
    limits.sends_admit(service=service, rate_limits=rate_limits)
    if (
        one_statement
        and metered
        and _create_first(verification=verification, now=moment, gate=False)
    ):
        return verification
    for _ in range(3):
        try:
            with transaction.atomic():
                return _start(service=service, to=to, plan=plan, now=moment, **fields)
        except IntegrityError:
            continue  # another request created it first: resend that one
    raise ConcurrentRequests()


def verification_resend(*, verification: Verification, now: datetime | None = None) -> bool:
    """Send the pending verification's code again with its current plan (admin action)."""
    with transaction.atomic():
        now = current_time(now)
        locked = _lock(verification.pk)
        if locked is None or locked.status != Status.PENDING or locked.expires_at <= now:
            return False
        _resend(locked, locked.plan, now)
        return True


def _terminal_update(
    *, verification: Verification, target: str, now: datetime | None
) -> Verification:
    expired = False
    with transaction.atomic():
        now = current_time(now)
        locked = _lock(verification.pk)
        if locked is None or locked.status != Status.PENDING:
            raise NotFound()
        if locked.expires_at <= now:
            expired = _end(locked, Status.EXPIRED, now)
        elif not _end(locked, target, now, extra_filter={"expires_at__gt": now}):
            raise NotFound()
        locked.refresh_from_db()
    if expired:
        raise NotFound()
    return locked


def verification_cancel(*, verification: Verification, now: datetime | None = None) -> Verification:
    return _terminal_update(verification=verification, target=Status.CANCELED, now=now)


def verification_approve(
    *, verification: Verification, now: datetime | None = None
) -> Verification:
    """`Status=approved` on update: for custom-code flows checked outside the platform."""
    return _terminal_update(verification=verification, target=Status.APPROVED, now=now)


_APPROVE_SQL: dict[str, str] = {}


def _approve_sql(connection, outbox: Outbox) -> str:
    """Built once per process from the models' metadata (identifiers only, quoted; every
    value is a parameter): pending -> approved, the cancel of the scheduled steps, the end of
    the destination's failure streak, the event and its webhook deliveries, in one
    statement."""
    sql = _APPROVE_SQL.get(connection.alias)
    if sql is not None:
        return sql
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    def table(model) -> str:
        return quote(model._meta.db_table)

    V, A, T = Verification, DeliveryAttempt, DestinationThrottle
    outbox_ctes, outbox_final = outbox.sql(connection, "v")
    sql = _APPROVE_SQL[connection.alias] = (
        f"WITH v AS (UPDATE {table(V)} SET {column(V, 'status')} = %s, "  # noqa: S608
        f"{column(V, 'code_sealed')} = '', {column(V, 'date_updated')} = %s "
        # The destination as well as the key: either index the planner picks (the primary
        # key, or the partial unique index of pending verifications) then finds one row.
        f"WHERE {column(V, 'sid')} = %s AND {column(V, 'service')} = %s "
        f"AND {column(V, 'to')} = %s AND {column(V, 'status')} = %s "
        f"AND {column(V, 'expires_at')} > %s AND {column(V, 'check_attempts')} < %s "
        # The row as it was read: a check without the lock loses to any write since.
        f"AND {column(V, 'date_updated')} = %s "
        f"AND {limits.destination_open_sql(connection)} RETURNING {column(V, 'sid')}), "
        f"a AS (UPDATE {table(A)} SET {column(A, 'status')} = %s, "
        f"{column(A, 'date_updated')} = %s "
        # By the verification's key (the attempts' own index), only once v has moved.
        f"WHERE {column(A, 'verification')} = %s AND {column(A, 'status')} = %s "
        "AND EXISTS (SELECT 1 FROM v) RETURNING 1), "
        f"d AS (DELETE FROM {table(T)} WHERE {column(T, 'service')} = %s "
        f"AND {column(T, 'to')} = %s AND {column(T, 'status')} = %s "
        f"AND EXISTS (SELECT 1 FROM v) RETURNING 1), {outbox_ctes} {outbox_final}"
    )
    return sql


def _approve_in_one_statement(locked: Verification, now: datetime) -> bool:
    """A correct code on a pending, unexpired verification with checks left: what
    `_end(..., APPROVED)` and `destination_success_record` write (the compare-and-set, the
    cancel of scheduled steps, the streak's end, the event and its deliveries) in one
    statement instead of five, with the destination gate as one more condition. False
    changes nothing (the gate refuses, the row changed since it was read, or not
    PostgreSQL): the caller takes the step-by-step path.

    `locked` may be read without the lock (`_approve_unlocked`): the statement then wins only
    while the row is as read (its `date_updated`; every write to a verification moves it,
    arming a step included, see `delivery._touch`). After a concurrent write the UPDATE
    re-reads the row and loses, so the caller's locked path sees that write; an UPDATE that
    wins found the row unchanged, so no step was inserted since the read and the statement's
    snapshot holds every step to cancel, as after the lock."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return False
    outbox = event_outbox(**_event_fields(locked, f"verification.{Status.APPROVED}"))
    params = [
        Status.APPROVED,
        now,
        locked.pk,
        locked.service_id,
        locked.to,
        Status.PENDING,
        now,
        MAX_CHECK_ATTEMPTS,
        locked.date_updated,
        *limits.destination_open_params(service=locked.service, to=locked.to, now=now),
        AttemptStatus.CANCELED,
        now,
        locked.pk,
        AttemptStatus.SCHEDULED,
        locked.service_id,
        locked.to,
        DestinationThrottle.Status.ACTIVE,
        *outbox.params(connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_approve_sql(connection, outbox), params)
        row = cursor.fetchone()
    if row is None:
        return False
    locked.status, locked.code_sealed, locked.date_updated = Status.APPROVED, "", now
    outbox.stored(row)
    return True


def _check(locked: Verification | None, code: str, now: datetime) -> tuple[Verification, bool]:
    """The check on the locked verification. Every write sets its fields in memory as well
    (the row is locked), so the answer needs no read-back. Returns the verification and
    whether it has just been found expired (the caller answers 404 after the commit)."""
    if locked is None:
        raise NotFound()
    if locked.status == Status.MAX_ATTEMPTS_REACHED:
        raise MaxCheckAttemptsReached()
    if locked.status != Status.PENDING:
        raise NotFound()
    if len(code) != locked.code_length:
        raise InvalidParameter("Code", f"must be {locked.code_length} digits")
    if locked.expires_at <= now:
        ended = _end(locked, Status.EXPIRED, now)
        if ended:
            locked.date_updated = now
        return locked, ended
    matches = _code_matches(locked, code)
    if matches and _approve_in_one_statement(locked, now):
        return locked, False
    # Read after the lock, in its own statement: it sees every failure committed before.
    streak = limits.destination_gate(service=locked.service, to=locked.to, now=now)
    if matches:
        if not _end(
            locked,
            Status.APPROVED,
            now,
            extra_filter={"expires_at__gt": now, "check_attempts__lt": MAX_CHECK_ATTEMPTS},
        ):
            raise NotFound()
        locked.date_updated = now
        if streak:
            # Without a streak there is nothing to forget: only a check of this destination's
            # pending verification (locked here) could have started one since the read.
            limits.destination_success_record(service=locked.service, to=locked.to)
        return locked, False
    counted = Verification.objects.filter(
        pk=locked.pk, status=Status.PENDING, check_attempts__lt=MAX_CHECK_ATTEMPTS
    ).update(check_attempts=F("check_attempts") + 1, date_updated=now)
    if counted:
        locked.check_attempts += 1
        locked.date_updated = now
    limits.destination_failure_record(service=locked.service, to=locked.to, now=now)
    if locked.check_attempts >= MAX_CHECK_ATTEMPTS:
        _end(locked, Status.MAX_ATTEMPTS_REACHED, now)
    return locked, False


def verification_check(
    *, verification: Verification, code: str, now: datetime | None = None
) -> Verification:
    """One check of `code`. A wrong code counts; the fifth ends the verification. Of any
    number of concurrent correct checks exactly one approves; the rest find it ended.

    Every wrong code also counts against the destination across verifications (NIST SP
    800-63B rev. 4 3.1.3.2: a new code does not reset failures); a throttled or blocked
    destination is refused before the code is compared, and a success resets the count."""
    with transaction.atomic():
        now = current_time(now)
        locked, expired = _check(_lock(verification.pk), code, now)
    if expired:
        raise NotFound()
    return locked


def _approve_unlocked(read: Verification | None, code: str, now: datetime) -> bool:
    """The common check, a correct code on a live verification, without a transaction or a
    row lock: the read, then `_approve_in_one_statement` on the row as read (two round trips
    instead of four). False writes nothing; anything else (a wrong code, an expired or ended
    verification, a refused destination, a concurrent write) takes the locked path."""
    return (
        read is not None
        and read.status == Status.PENDING
        and len(code) == read.code_length
        and read.expires_at > now
        and read.check_attempts < MAX_CHECK_ATTEMPTS
        and _code_matches(read, code)
        and _approve_in_one_statement(read, now)
    )


def verification_check_find(
    *,
    account: Account,
    service_sid: str,
    sid: str | None = None,
    to: str | None = None,
    code: str,
    now: datetime | None = None,
) -> Verification:
    """`verification_check` of the verification a check request names (by SID, or the
    latest one for `to`, in the tenant's service). On PostgreSQL a correct code on a live
    verification is approved from an unlocked read (`_approve_unlocked`); anything else
    takes the locked path, whose lookup and lock are one read. Elsewhere the one-statement
    approval never runs, so the unlocked read is not made."""
    now = current_time(now)
    if transaction.get_connection().vendor == "postgresql":
        read = queries.verification_find_for_check(
            account=account, service_sid=service_sid, sid=sid, to=to, lock=False
        )
        if _approve_unlocked(read, code, now):
            return read
    with transaction.atomic():
        locked = queries.verification_find_for_check(
            account=account, service_sid=service_sid, sid=sid, to=to
        )
        locked, expired = _check(locked, code, now)
    if expired:
        raise NotFound()
    return locked


def verification_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The expiry sweeper: end every pending verification whose time is up."""
    with transaction.atomic():
        now = current_time(now)
        due = list(
            Verification.objects.select_for_update(skip_locked=True)
            .select_related("service")
            .filter(status=Status.PENDING, expires_at__lte=now)
            .order_by("expires_at")[:limit]
        )
        return sum(_end(v, Status.EXPIRED, now) for v in due)
