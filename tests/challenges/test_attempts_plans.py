"""The Attempts API on a year of data: PostgreSQL's own plans, on seeded and analyzed tables
with the planner left alone, read the `attempt_created` index for a one-day summary and for
a list page, and never scan the attempts table."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.plans import analyze, explain, nodes, seed_history
from verify_platform.lib.clock import current_time

pytestmark = pytest.mark.django_db

DAYS = 365
PER_SERVICE = 30_000  # two services of two accounts: 60,000 verifications and attempts


def _attempt_query(api, path: str, params: dict) -> tuple[dict, str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, params)
    assert response.status_code == 200, response.content
    [sql] = [
        q["sql"] for q in captured.captured_queries if "challenges_deliveryattempt" in q["sql"]
    ]
    return response.json(), sql


def _reads_the_index(plan: dict) -> list[dict]:
    on_attempts = [n for n in nodes(plan) if n.get("Relation Name") == "challenges_deliveryattempt"]
    assert on_attempts, plan
    for node in on_attempts:
        assert node["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), node
    indexes = {n.get("Index Name") for n in nodes(plan)}
    assert "attempt_created" in indexes, plan
    return on_attempts


def test_one_day_of_a_year_reads_only_that_day(api, service, other_tenant):
    from services import domain

    other_service = domain.service_create(account=other_tenant.account, friendly_name="Other")
    now = current_time().replace(microsecond=0)
    for seeded in (service, other_service):
        seed_history(seeded.sid, end=now, days=DAYS, count=PER_SERVICE)
    analyze()

    day = {
        "DateCreatedAfter": (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "DateCreatedBefore": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body, sql = _attempt_query(api, "/v2/Attempts/Summary", day)
    per_day = PER_SERVICE / DAYS
    assert abs(body["total_attempts"] - per_day) <= 1
    assert abs(body["total_converted"] - per_day / 3) <= 1
    plan = explain(sql)
    [scan] = _reads_the_index(plan)
    # The rows of both tenants in that day, not the account's year: about 2 x 82 of 60,000.
    assert scan["Plan Rows"] < 2_000, scan

    page, sql = _attempt_query(api, "/v2/Attempts", {"PageSize": 50})
    assert len(page["attempts"]) == 50
    assert page["attempts"][0]["date_created"] < page["attempts"][-1]["date_created"]
    plan = explain(sql)
    assert plan["Node Type"] == "Limit", plan
    _reads_the_index(plan)
    assert not any(n["Node Type"] == "Sort" for n in nodes(plan)), plan

    following = urlparse(page["meta"]["next_page_url"])
    _, sql = _attempt_query(api, following.path, dict(parse_qsl(following.query)))
    _reads_the_index(explain(sql))
