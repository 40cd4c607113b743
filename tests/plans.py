"""Seeding and EXPLAIN helpers for the tests that check PostgreSQL's own plans on large,
analyzed tables (the planner left alone: on a test's tiny tables it rightly prefers scans,
so a plan test needs rows in the proportions of a real history)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from django.db import connection

# `count` verifications of one service spread evenly over the `days` days that end at `end`,
# one delivered SMS attempt each; every third one approved.
_SEED = """
INSERT INTO challenges_verification (
    sid, service_id, "to", channel, status, custom_code, code_hash, code_salt, code_sealed,
    code_length, check_attempts, send_count, locale, plan, expires_at, date_created,
    date_updated)
SELECT 'VE' || md5(%(service)s || i::text), %(service)s, '+4474' || lpad(i::text, 6, '0'),
    'sms', CASE WHEN i %% 3 = 0 THEN 'approved' ELSE 'expired' END, false, 'x', 'x', '', 6, 0,
    1, 'en', '[]'::jsonb, t + interval '10 minutes', t, t
FROM generate_series(1, %(n)s) AS i,
    LATERAL (SELECT %(end)s::timestamptz - (i * %(days)s * interval '1 day') / %(n)s AS t) AS s
"""
_SEED_ATTEMPTS = """
INSERT INTO challenges_deliveryattempt (
    sid, verification_id, send_number, step, channel, adapter, status, due_at, deadline, tries,
    provider_message_id, date_sent, date_created, date_updated)
SELECT 'VL' || substr(v.sid, 3), v.sid, 1, 0, 'sms', 'locmem', 'delivered', v.date_created,
    v.expires_at, 1, 'SM' || substr(v.sid, 3), v.date_created + interval '2 seconds',
    v.date_created, v.date_created
FROM challenges_verification AS v WHERE v.service_id = %(service)s
"""
HISTORY_TABLES = ("challenges_deliveryattempt", "challenges_verification", "services_service")


def seed_history(service_sid: str, *, end: datetime, days: int, count: int) -> None:
    """Insert `count` verifications (and their attempts) of a service, `days` days up to
    `end`, in two statements."""
    params = {"service": service_sid, "n": count, "days": days, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(_SEED, params)
        cursor.execute(_SEED_ATTEMPTS, params)


def analyze(tables: tuple[str, ...] = HISTORY_TABLES) -> None:
    """Refresh the planner's statistics after a seed (autovacuum would, later)."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def explain(sql: str, params: dict | None = None, options: str = "FORMAT JSON") -> dict:
    """The root plan node of `sql` as PostgreSQL's JSON document."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}) {sql}", params)
        [value] = cursor.fetchone()
    document = value if isinstance(value, list) else json.loads(value)
    return document[0]["Plan"]


def nodes(plan: dict) -> Iterator[dict]:
    """Every node of a plan, the root first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)
