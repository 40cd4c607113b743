"""The Attempts API on a year of data: PostgreSQL's own plans, on seeded and analyzed tables
with the planner left alone, read the `attempt_created` index for a one-day summary and for
a list page, and never scan the attempts table."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from verify_platform.lib.clock import current_time

pytestmark = pytest.mark.django_db

DAYS = 365
PER_SERVICE = 30_000  # two services of two accounts: 60,000 verifications and attempts

# A year of verifications, one attempt each, spread evenly over the year before `now`;
# every third one approved.
SEED = """
INSERT INTO challenges_verification (
    sid, service_id, "to", channel, status, custom_code, code_hash, code_salt, code_sealed,
    code_length, check_attempts, send_count, locale, plan, expires_at, date_created,
    date_updated)
SELECT 'VE' || md5(%(service)s || i::text), %(service)s, '+4474001' || lpad(i::text, 5, '0'),
    'sms', CASE WHEN i %% 3 = 0 THEN 'approved' ELSE 'expired' END, false, 'x', 'x', '', 6, 0,
    1, 'en', '[]'::jsonb, t + interval '10 minutes', t, t
FROM generate_series(1, %(n)s) AS i,
    LATERAL (SELECT %(now)s::timestamptz - (i * %(days)s * interval '1 day') / %(n)s AS t) AS s
"""
SEED_ATTEMPTS = """
INSERT INTO challenges_deliveryattempt (
    sid, verification_id, send_number, step, channel, adapter, status, due_at, deadline, tries,
    provider_message_id, date_created, date_updated)
SELECT 'VL' || substr(v.sid, 3), v.sid, 1, 0, 'sms', 'locmem', 'sent', v.date_created,
    v.expires_at, 1, 'VL' || substr(v.sid, 3), v.date_created, v.date_created
FROM challenges_verification AS v WHERE v.service_id = %(service)s
"""


def _seed(service, now) -> None:
    with connection.cursor() as cursor:
        params = {"service": service.sid, "n": PER_SERVICE, "days": DAYS, "now": now}
        cursor.execute(SEED, params)
        cursor.execute(SEED_ATTEMPTS, params)


def _explain(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        [value] = cursor.fetchone()
    document = value if isinstance(value, list) else json.loads(value)
    return document[0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _attempt_query(api, path: str, params: dict) -> tuple[dict, str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, params)
    assert response.status_code == 200, response.content
    [sql] = [
        q["sql"] for q in captured.captured_queries if "challenges_deliveryattempt" in q["sql"]
    ]
    return response.json(), sql


def _reads_the_index(plan: dict) -> list[dict]:
    on_attempts = [
        n for n in _nodes(plan) if n.get("Relation Name") == "challenges_deliveryattempt"
    ]
    assert on_attempts, plan
    for node in on_attempts:
        assert node["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), node
    indexes = {n.get("Index Name") for n in _nodes(plan)}
    assert "attempt_created" in indexes, plan
    return on_attempts


def test_one_day_of_a_year_reads_only_that_day(api, service, other_tenant):
    from services import domain

    other_service = domain.service_create(account=other_tenant.account, friendly_name="Other")
    now = current_time().replace(microsecond=0)
    _seed(service, now)
    _seed(other_service, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE challenges_deliveryattempt")
        cursor.execute("ANALYZE challenges_verification")
        cursor.execute("ANALYZE services_service")

    day = {
        "DateCreatedAfter": (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "DateCreatedBefore": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body, sql = _attempt_query(api, "/v2/Attempts/Summary", day)
    per_day = PER_SERVICE / DAYS
    assert abs(body["total_attempts"] - per_day) <= 1
    assert abs(body["total_converted"] - per_day / 3) <= 1
    plan = _explain(sql)
    [scan] = _reads_the_index(plan)
    # The rows of both tenants in that day, not the account's year: about 2 x 82 of 60,000.
    assert scan["Plan Rows"] < 2_000, scan

    page, sql = _attempt_query(api, "/v2/Attempts", {"PageSize": 50})
    assert len(page["attempts"]) == 50
    assert page["attempts"][0]["date_created"] < page["attempts"][-1]["date_created"]
    plan = _explain(sql)
    assert plan["Node Type"] == "Limit", plan
    _reads_the_index(plan)
    assert not any(n["Node Type"] == "Sort" for n in _nodes(plan)), plan

    following = urlparse(page["meta"]["next_page_url"])
    _, sql = _attempt_query(api, following.path, dict(parse_qsl(following.query)))
    _reads_the_index(_explain(sql))
