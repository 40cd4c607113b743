"""A 400 names the wire parameter, also when the error is in one item of a list."""

from __future__ import annotations

import json

import pytest
from rest_framework.exceptions import ErrorDetail

from tests.helpers import assert_twilio_error, form
from verify_platform.lib.api.exceptions import _first_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            {"EventTypes": {0: [ErrorDetail("may not be blank")]}},
            ("EventTypes", "may not be blank"),
        ),
        ({"Details.Fields": {2: [ErrorDetail("bad item")]}}, ("Details.Fields", "bad item")),
        ({"FriendlyName": [ErrorDetail("too long")]}, ("FriendlyName", "too long")),
        ({"non_field_errors": [ErrorDetail("form-wide")]}, ("", "form-wide")),
        ({"Valid": {}, "Broken": [ErrorDetail("x")]}, ("Broken", "x")),
        ({"Items": [{}, {"Label": [ErrorDetail("y")]}]}, ("Label", "y")),
    ],
)
def test_first_error_keeps_the_parameter_name(detail, expected):
    assert _first_error(detail) == expected


def test_blank_event_type_names_event_types(api, service):
    response = form(
        api,
        f"/v2/Services/{service.sid}/Webhooks",
        {"FriendlyName": "Hook", "EventTypes": ["factor.created", ""], "WebhookUrl": "https://example.com/h"},
    )  # fmt: skip
    body = assert_twilio_error(response, 400, 60200)
    assert body["message"].startswith("Invalid parameter `EventTypes`"), body


def test_bad_detail_field_item_names_details_fields(api, service):
    from tests.factors.conftest import make_verified_factor

    factor, _ = make_verified_factor(service, identity="user-0001-abcd")
    good = json.dumps({"label": "IP", "value": "1.2.3.4"})
    response = form(
        api,
        f"/v2/Services/{service.sid}/Entities/user-0001-abcd/Challenges",
        {"FactorSid": factor.sid, "Details.Fields": [good, "not json"]},
    )
    body = assert_twilio_error(response, 400, 60200)
    assert body["message"].startswith("Invalid parameter `Details.Fields`"), body
