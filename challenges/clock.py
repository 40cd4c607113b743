"""The engine's clock: the database's, so web and worker processes agree on expiry."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone


def current_time(now: datetime | None = None) -> datetime:
    """`now` when a caller fixes it (tests, replays), else PostgreSQL's statement time."""
    if now is not None:
        return now
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()  # SQLite in development: one machine, one clock
