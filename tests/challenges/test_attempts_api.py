"""`/v2/Attempts`, `/v2/Attempts/{VL}` and `/v2/Attempts/Summary` through the API: Twilio's
fields and filters, tenant isolation, paging and the schema."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from challenges.models import DeliveryAttempt
from tests.challenges.conftest import MOBILE, OTHER_MOBILE, outbox_codes, run_due
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

US_MOBILE = "+12015550123"  # phonenumbers: US
CA_MOBILE = "+16135550123"  # phonenumbers: CA (same calling code)
GB_MOBILE = "+447400123456"  # phonenumbers: GB (+44 7911, MOBILE, is Guernsey's)


def _start(api, service, to: str, channel: str = "sms") -> dict:
    response = form(
        api, f"/v2/Services/{service.sid}/Verifications", {"To": to, "Channel": channel}
    )
    assert response.status_code == 201, response.content
    return response.json()


def _approve(api, service, to: str) -> None:
    [code] = {c for _, dest, c in outbox_codes() if dest == to}
    response = form(api, f"/v2/Services/{service.sid}/VerificationCheck", {"To": to, "Code": code})
    assert response.json()["status"] == "approved"


def _list(api, **params) -> list[dict]:
    response = api.get("/v2/Attempts", params)
    assert response.status_code == 200, response.content
    return response.json()["attempts"]


def _summary(api, **params) -> dict:
    response = api.get("/v2/Attempts/Summary", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_an_approved_verification_s_attempt_is_converted_with_twilio_s_fields(api, service, tenant):
    converted = _start(api, service, MOBILE)
    pending = _start(api, service, OTHER_MOBILE, channel="call")
    assert sorted(run_due()) == ["sent", "sent"]
    _approve(api, service, MOBILE)

    first, second = _list(api)
    assert set(first) == {
        "sid",
        "account_sid",
        "service_sid",
        "verification_sid",
        "date_created",
        "date_updated",
        "conversion_status",
        "channel",
        "price",
        "channel_data",
        "url",
    }
    attempt_sid = converted["send_code_attempts"][0]["attempt_sid"]
    assert first["sid"] == attempt_sid and first["sid"].startswith("VL")
    assert first["account_sid"] == tenant.sid and first["service_sid"] == service.sid
    assert first["verification_sid"] == converted["sid"]
    assert first["conversion_status"] == "converted" and first["channel"] == "sms"
    assert first["price"] is None
    assert first["date_created"].endswith("Z")
    assert first["url"] == f"http://testserver/v2/Attempts/{attempt_sid}"
    assert first["channel_data"] == {
        "verification_sid": converted["sid"],
        "to": "+4*******3456",
        "status": "confirmed",
        "message_status": "sent",
        "provider_message_id": attempt_sid,  # what the locmem adapter answers
        "error_code": None,
        "country": "GG",  # phonenumbers: +44 7911 is Guernsey's
        "code_length": 6,
        "locale": "en",
        "device_ip": None,
        "tags": {},
    }
    assert second["verification_sid"] == pending["sid"]
    assert second["conversion_status"] == "unconverted" and second["channel"] == "call"
    assert second["channel_data"]["status"] == "unconfirmed"
    assert second["channel_data"]["call_status"] == "queued"
    assert second["channel_data"]["country"] == "BR"
    assert "+5511987654321" not in str(second)

    fetched = api.get(f"/v2/Attempts/{attempt_sid}")
    assert fetched.status_code == 200 and fetched.json() == first

    assert _summary(api) == {
        "total_attempts": 2,
        "total_converted": 1,
        "total_unconverted": 1,
        "conversion_rate_percentage": "50",
        "url": "http://testserver/v2/Attempts/Summary",
    }


def test_filters(api, service, tenant):
    from services import domain

    other_service = domain.service_create(account=tenant.account, friendly_name="Other")
    a = _start(api, service, GB_MOBILE)
    b = _start(api, service, US_MOBILE, channel="whatsapp")
    c = _start(api, other_service, CA_MOBILE)
    d = _start(api, service, "jane.doe@example.com", channel="email")
    run_due()
    _approve(api, service, GB_MOBILE)

    def sids(**params) -> list[str]:
        return [row["verification_sid"] for row in _list(api, **params)]

    assert sids() == [a["sid"], b["sid"], c["sid"], d["sid"]]
    assert sids(Status="converted") == [a["sid"]]
    assert sids(Status="UNCONVERTED") == [b["sid"], c["sid"], d["sid"]]
    assert sids(Channel="whatsapp") == [b["sid"]]
    assert sids(VerifyServiceSid=other_service.sid) == [c["sid"]]
    assert sids(VerificationSid=b["sid"]) == [b["sid"]]
    assert sids(**{"ChannelData.To": US_MOBILE}) == [b["sid"]]
    assert sids(**{"ChannelData.To": "jane.doe@Example.COM"}) == [d["sid"]]
    assert sids(Country="US") == [b["sid"]]
    assert sids(Country="ca") == [c["sid"]]
    assert sids(Country="GB") == [a["sid"]]
    assert sids(Country="GG") == []
    assert sids(Country="FR") == []
    assert _list(api, Channel="email")[0]["channel_data"]["to"] == "j***@example.com"

    created = DeliveryAttempt.objects.get(verification_id=b["sid"]).date_created
    iso = "%Y-%m-%dT%H:%M:%S.%fZ"
    assert b["sid"] in sids(DateCreatedAfter=created.strftime(iso))
    assert a["sid"] not in sids(DateCreatedAfter=created.strftime(iso))
    assert sids(DateCreatedBefore=created.strftime(iso)) == [a["sid"]]
    later = (created + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sids(DateCreatedAfter=later) == []

    assert _summary(api, Country="US")["total_attempts"] == 1
    assert _summary(api, DestinationPrefix="+1")["total_attempts"] == 2
    assert _summary(api, VerifyServiceSid=service.sid, Channel="sms") == {
        "total_attempts": 1,
        "total_converted": 1,
        "total_unconverted": 0,
        "conversion_rate_percentage": "100",
        "url": "http://testserver/v2/Attempts/Summary",
    }
    empty = _summary(api, DateCreatedAfter=later)
    assert empty["total_attempts"] == 0 and empty["conversion_rate_percentage"] is None


@pytest.mark.parametrize(
    "path, params, name",
    [
        ("/v2/Attempts", {"Status": "approved"}, "Status"),
        ("/v2/Attempts", {"Channel": "pigeon"}, "Channel"),
        ("/v2/Attempts", {"Country": "GBR"}, "Country"),
        ("/v2/Attempts", {"VerifyServiceSid": "VA123"}, "VerifyServiceSid"),
        ("/v2/Attempts", {"VerificationSid": "VL" + "0" * 32}, "VerificationSid"),
        ("/v2/Attempts", {"DateCreatedAfter": "yesterday"}, "DateCreatedAfter"),
        ("/v2/Attempts", {"ChannelData.To": "12345"}, "ChannelData.To"),
        ("/v2/Attempts", {"PageSize": "1001"}, "PageSize"),
        ("/v2/Attempts/Summary", {"DestinationPrefix": "57"}, "DestinationPrefix"),
        (
            "/v2/Attempts/Summary",
            {"DateCreatedBefore": "2024-13-01T00:00:00Z"},
            "DateCreatedBefore",
        ),
    ],
)
def test_invalid_filters_are_400_naming_the_parameter(api, path, params, name):
    body = assert_twilio_error(api.get(path, params), 400, 60200)
    assert name in body["message"]


def test_only_attempts_that_went_out_count(api, tenant):
    """A fallback step's timer that has not fired is no attempt (as in send_code_attempts)."""
    from services import domain

    service = domain.service_create(
        account=tenant.account,
        friendly_name="Fallback",
        fallback=[{"channel": "whatsapp", "timeout": 60}, {"channel": "sms"}],
    )
    started = _start(api, service, MOBILE, channel="auto")
    assert run_due() == ["sent"]
    assert DeliveryAttempt.objects.filter(verification_id=started["sid"]).count() == 2
    waiting = DeliveryAttempt.objects.get(verification_id=started["sid"], step=1)
    assert [row["channel"] for row in _list(api)] == ["whatsapp"]
    assert _summary(api)["total_attempts"] == 1
    assert_twilio_error(api.get(f"/v2/Attempts/{waiting.sid}"), 404, 20404)


def test_another_tenant_sees_nothing(api, other_api, service):
    started = _start(api, service, MOBILE)
    attempt_sid = started["send_code_attempts"][0]["attempt_sid"]
    assert api.get(f"/v2/Attempts/{attempt_sid}").status_code == 200

    assert_twilio_error(other_api.get(f"/v2/Attempts/{attempt_sid}"), 404, 20404)
    assert_twilio_error(other_api.get("/v2/Attempts/VL" + "0" * 32), 404, 20404)
    assert _list(other_api) == []
    assert _list(other_api, VerifyServiceSid=service.sid) == []
    assert _list(other_api, VerificationSid=started["sid"]) == []
    assert _summary(other_api)["total_attempts"] == 0
    assert _summary(other_api, VerifyServiceSid=service.sid)["total_attempts"] == 0
    assert_twilio_error(api_client_without_credentials().get("/v2/Attempts"), 401, 20003)


def api_client_without_credentials():
    from tests.conftest import api_client

    return api_client(None)


def test_pages_carry_the_filters_and_a_keyset_token(api, service):
    for n in range(5):
        _start(api, service, f"+4479111234{n:02d}")
    expected = [row["sid"] for row in _list(api)]
    seen: list[str] = []
    url = "/v2/Attempts?PageSize=2&Channel=sms"
    for _ in range(5):
        page = api.get(url).json()
        seen += [row["sid"] for row in page["attempts"]]
        assert page["meta"]["key"] == "attempts"
        if page["meta"]["next_page_url"] is None:
            break
        parsed = urlparse(page["meta"]["next_page_url"])
        query = parse_qs(parsed.query)
        assert query["Channel"] == ["sms"] and query["PageSize"] == ["2"]
        assert "PageToken" in query
        url = f"{parsed.path}?{parsed.query}"
    assert seen == expected and len(seen) == 5


def test_the_schema_documents_the_three_operations(api):
    schema = api.get("/openapi.json").json()
    paths = schema["paths"]
    listing = paths["/v2/Attempts"]["get"]
    assert listing["operationId"] == "ListVerificationAttempt"
    names = {p["name"] for p in listing["parameters"]}
    assert {
        "DateCreatedAfter",
        "DateCreatedBefore",
        "ChannelData.To",
        "Country",
        "Channel",
        "VerifyServiceSid",
        "VerificationSid",
        "Status",
        "PageSize",
        "Page",
        "PageToken",
    } <= names
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert "attempts" in str(page)
    fetch = paths["/v2/Attempts/{sid}"]["get"]
    assert fetch["operationId"] == "FetchVerificationAttempt"
    assert "404" in fetch["responses"]
    summary = paths["/v2/Attempts/Summary"]["get"]
    assert summary["operationId"] == "FetchVerificationAttemptsSummary"
    assert {p["name"] for p in summary["parameters"]} == {
        "DateCreatedAfter",
        "DateCreatedBefore",
        "Country",
        "Channel",
        "VerifyServiceSid",
        "DestinationPrefix",
    }
    components = schema["components"]["schemas"]
    attempt = components["Attempt"]["properties"]
    assert {"conversion_status", "channel_data", "price", "verification_sid"} <= set(attempt)
    assert set(components["AttemptsSummary"]["properties"]) == {
        "total_attempts",
        "total_converted",
        "total_unconverted",
        "conversion_rate_percentage",
        "url",
    }
