"""The Attempts summary on a large table, with the planner left alone: PostgreSQL's own plan
(EXPLAIN ANALYZE on seeded, analyzed tables) reads the attempts of the window by the
`attempt_created` index and each one's verification by its primary key; it never scans the
attempts or the verifications, and forks no parallel workers.

Written as a plain join, the same summary was planned as a (parallel) sequential scan of every
verification once a day held about 1% of the table, and with a parallel worker started for
each request on larger tables (bench/README.md, "Cost with a year of history")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.plans import analyze, explain, nodes, seed_history
from verify_platform.lib.clock import current_time

pytestmark = pytest.mark.django_db

DAYS = 100
PER_DAY = 1_500  # the account's: 150,000 verifications and attempts
OTHER_PER_DAY = 100  # another tenant's, in the same days
BIG_TABLES = {"challenges_deliveryattempt", "challenges_verification"}


def _summary(api, after, before) -> tuple[dict, dict]:
    """The endpoint's answer, and EXPLAIN (ANALYZE, BUFFERS) of the statement it ran."""
    params = {
        "DateCreatedAfter": after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "DateCreatedBefore": before.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/v2/Attempts/Summary", params)
    assert response.status_code == 200, response.content
    [sql] = [
        q["sql"] for q in captured.captured_queries if "challenges_deliveryattempt" in q["sql"]
    ]
    return response.json(), explain(sql, options="ANALYZE, BUFFERS, FORMAT JSON")


def _buffers(plan: dict) -> int:
    return plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)


def _by_index_only(plan: dict) -> None:
    found = list(nodes(plan))
    for node in found:
        assert node["Node Type"] not in ("Gather", "Gather Merge"), node
        if node.get("Relation Name") in BIG_TABLES:
            assert node["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), node
    indexes = {n.get("Index Name") for n in found}
    assert "attempt_created" in indexes, plan
    assert "challenges_verification_pkey" in indexes, plan


def test_a_day_costs_its_own_rows_on_a_large_table(api, service, other_tenant):
    from services import domain

    other_service = domain.service_create(account=other_tenant.account, friendly_name="Other")
    now = current_time().replace(microsecond=0)
    # Spread over the DAYS days that end a day before `now` (the last day is empty).
    for seeded, per_day in ((service, PER_DAY), (other_service, OTHER_PER_DAY)):
        seed_history(seeded.sid, end=now - timedelta(days=1), days=DAYS, count=per_day * DAYS)
    analyze()

    # A day in the middle: the account's 1,500 attempts of it, not the other tenant's 100;
    # read one verification probe each, whatever the tables hold besides.
    middle = now - timedelta(days=DAYS // 2)
    body, plan = _summary(api, middle, middle + timedelta(days=1))
    assert abs(body["total_attempts"] - PER_DAY) <= 1
    assert abs(body["total_converted"] - PER_DAY / 3) <= 1
    _by_index_only(plan)
    in_window = (PER_DAY + OTHER_PER_DAY) + 2
    assert _buffers(plan) < 6 * in_window, plan

    # The last day holds no attempt: only index entries of that window are read.
    body, plan = _summary(api, now - timedelta(days=1), now)
    assert (body["total_attempts"], body["total_converted"]) == (0, 0)
    _by_index_only(plan)
    assert _buffers(plan) < 20, plan
