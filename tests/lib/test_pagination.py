"""Keyset pages: every row exactly once in both directions, ties broken by SID."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from services import domain
from services.models import Service

pytestmark = pytest.mark.django_db


def _walk(api, url: str, key: str) -> tuple[list[str], list[dict]]:
    seen, metas = [], []
    while url:
        body = api.get(url).json()
        seen += [row["sid"] for row in body[key]]
        metas.append(body["meta"])
        url = body["meta"]["next_page_url"]
    return seen, metas


def test_forward_and_back_with_equal_timestamps(api, tenant):
    made = [domain.service_create(account=tenant.account, friendly_name=f"s{i}") for i in range(7)]
    same = datetime(2030, 1, 1, tzinfo=UTC)
    Service.objects.filter(pk__in=[s.pk for s in made[2:5]]).update(date_created=same)
    expected = [s.sid for s in Service.objects.order_by("date_created", "sid")]

    seen, metas = _walk(api, "/v2/Services?PageSize=2", "services")
    assert seen == expected
    assert [m["page"] for m in metas] == [0, 1, 2, 3]
    assert metas[0]["previous_page_url"] is None
    assert all(m["key"] == "services" and m["page_size"] == 2 for m in metas)
    assert metas[0]["url"].startswith("http://testserver/v2/Services?")

    # Walk back from the last page with previous_page_url.
    back, url = [], metas[-1]["previous_page_url"]
    while url:
        body = api.get(url).json()
        back = [row["sid"] for row in body["services"]] + back
        url = body["meta"]["previous_page_url"]
    assert back == expected[: len(back)] and len(back) == 6


def test_paging_is_stable_when_rows_are_added_meanwhile(api, tenant):
    for i in range(4):
        domain.service_create(account=tenant.account, friendly_name=f"s{i}")
    first = api.get("/v2/Services?PageSize=2").json()
    domain.service_create(account=tenant.account, friendly_name="late")
    second = api.get(first["meta"]["next_page_url"]).json()
    names = [s["friendly_name"] for s in first["services"] + second["services"]]
    assert names == ["s0", "s1", "s2", "s3"]


def test_descending_order(rf, tenant):
    from rest_framework.request import Request

    from verify_platform.lib.api.pagination import paginate

    for i in range(5):
        domain.service_create(account=tenant.account, friendly_name=f"s{i}")
    request = Request(rf.get("/v2/Services", {"PageSize": "2"}))
    body = paginate(
        request,
        Service.objects.all(),
        key="services",
        render=lambda s: s.friendly_name,
        descending=True,
        extra_query={"Status": "pending", "FactorSid": None},
    )
    assert body["services"] == ["s4", "s3"]
    assert "Status=pending" in body["meta"]["next_page_url"]
    assert "FactorSid" not in body["meta"]["next_page_url"]
    token = QueryDict(body["meta"]["next_page_url"].split("?", 1)[1])["PageToken"]
    nxt = Request(rf.get("/v2/Services", {"PageSize": "2", "PageToken": token}))
    assert paginate(
        nxt,
        Service.objects.all(),
        key="services",
        render=lambda s: s.friendly_name,
        descending=True,
    )["services"] == ["s2", "s1"]
