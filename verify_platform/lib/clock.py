"""The one clock of the platform: PostgreSQL's, read without a round trip per request.

Expiry, fallback timers, throttles and TOTP steps must be judged on one clock, whichever
host judges them: a worker whose clock runs five minutes fast must not expire codes early
or fire fallback steps late (SECURITY R8). Asking the database for the time on every
request would cost a round trip on the hottest paths, so each process measures the offset
between its own clock and the database's once a minute (one `SELECT statement_timestamp()`,
taken at the midpoint of the round trip) and adds it to its own clock. The error is the
round trip's asymmetry plus a minute of drift: well under a millisecond on NTP hosts, and
the same fix-up for a host that is minutes off.

Domain functions take `now=` so tests and replays can fix the moment.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger("verify_platform.clock")

RESYNC_SECONDS = 60.0
_lock = threading.Lock()
_offset = timedelta(0)
_measured_at: float | None = None  # time.monotonic() of the last measurement


def current_time(now: datetime | None = None) -> datetime:
    """`now` when a caller fixes it, else the database's time."""
    if now is not None:
        return now
    if _measured_at is None or time.monotonic() - _measured_at > RESYNC_SECONDS:
        _measure()
    return timezone.now() + _offset


def _measure() -> None:
    global _offset, _measured_at
    with _lock:
        if _measured_at is not None and time.monotonic() - _measured_at <= RESYNC_SECONDS:
            return  # another thread has just measured
        try:
            # Inside a caller's transaction a failed statement would leave it aborted (every
            # later statement refused), so the measurement gets a savepoint of its own there.
            # Connect first: a connection opened inside the timed round trip would move its
            # midpoint by half the connect time.
            connection.ensure_connection()
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                before = timezone.now()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT statement_timestamp()")
                    database_time = cursor.fetchone()[0]
                after = timezone.now()
        except DatabaseError:
            # The caller's own statements will meet the same fault; keep the last offset and
            # try again on the next call.
            logger.warning("could not read the database clock; keeping the last offset")
            return
        offset = database_time - (before + (after - before) / 2)
        if abs(offset) > timedelta(seconds=1):
            logger.warning("host clock is %.1f s off the database's", offset.total_seconds())
        _offset, _measured_at = offset, time.monotonic()


def forget_offset() -> None:
    """Measure again on the next call (tests that move the host clock)."""
    global _measured_at
    with _lock:
        _measured_at = None
