"""The Service's fallback plan (extension `Fallback`) through the API."""

from __future__ import annotations

import json

import pytest

from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

PLAN = [
    {"channel": "whatsapp", "timeout": 30},
    {"channel": "sms", "timeout": 60},
    {"channel": "call"},
]


def test_create_update_and_clear(api):
    created = form(api, "/v2/Services", {"FriendlyName": "Plan", "Fallback": json.dumps(PLAN)})
    assert created.status_code == 201
    body = created.json()
    assert body["fallback"] == PLAN
    sid = body["sid"]
    assert api.get(f"/v2/Services/{sid}").json()["fallback"] == PLAN
    updated = form(api, f"/v2/Services/{sid}", {"Fallback": json.dumps(PLAN[1:])})
    assert updated.status_code == 200 and updated.json()["fallback"] == PLAN[1:]
    assert updated.json()["friendly_name"] == "Plan"
    cleared = form(api, f"/v2/Services/{sid}", {"Fallback": "[]"})
    assert cleared.json()["fallback"] == []
    assert form(api, "/v2/Services", {"FriendlyName": "None"}).json()["fallback"] == []


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        json.dumps({"channel": "sms"}),
        json.dumps([{"channel": "pigeon"}]),
        json.dumps([{"channel": "sms", "timeout": 4}, {"channel": "call"}]),
        json.dumps([{"channel": "sms", "timeout": 601}, {"channel": "call"}]),
        json.dumps([{"channel": "sms", "timeout": "30"}, {"channel": "call"}]),
        json.dumps([{"channel": "sms", "timeout": True}, {"channel": "call"}]),
        json.dumps([{"channel": "sms"}, {"channel": "call"}]),  # a timeout before the last
        json.dumps([{"channel": "sms", "timeout": 30, "extra": 1}]),
        json.dumps([{"channel": "sms", "timeout": 30}] * 6),
        "[" * 5000,
    ],
)
def test_invalid_plans_are_400(api, value):
    response = form(api, "/v2/Services", {"FriendlyName": "Plan", "Fallback": value})
    body = assert_twilio_error(response, 400, 60200)
    assert "Fallback" in body["message"]


def test_auto_uses_plan_or_sms(api, service):
    path = f"/v2/Services/{service.sid}/Verifications"
    plain = form(api, path, {"To": "+447911123456", "Channel": "auto"})
    assert plain.status_code == 201 and plain.json()["channel"] == "sms"
    form(api, f"/v2/Services/{service.sid}", {"Fallback": json.dumps(PLAN)})
    planned = form(api, path, {"To": "+5511987654321", "Channel": "auto"})
    assert planned.json()["channel"] == "whatsapp"
    assert [a["channel"] for a in planned.json()["send_code_attempts"]] == ["whatsapp"]
