"""MessagingConfigurations through the official `twilio` SDK against a live server: the
whole life of one configuration, Twilio's refusals, and tenant isolation."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

MG = "MG" + "a" * 32
OTHER_MG = "MG" + "b" * 32


def _refused(call, status: int, code: int) -> str:
    with pytest.raises(TwilioRestException) as exc:
        call()
    assert (exc.value.status, exc.value.code) == (status, code), exc.value.msg
    return exc.value.msg


def test_create_list_fetch_update_delete(sdk):
    service = sdk.services.create(friendly_name="Acme Login")
    configurations = sdk.services(service.sid).messaging_configurations

    created = configurations.create(country="gb", messaging_service_sid=MG)
    assert created.country == "GB"  # any case in, upper-case stored
    assert created.messaging_service_sid == MG
    assert created.service_sid == service.sid and created.account_sid == service.account_sid
    assert isinstance(created.date_created, datetime)
    assert created.url.endswith(f"/v2/Services/{service.sid}/MessagingConfigurations/GB")
    everywhere = configurations.create(country="ALL", messaging_service_sid=OTHER_MG)
    assert everywhere.country == "all"

    assert [(c.country, c.messaging_service_sid) for c in configurations.list(page_size=1)] == [
        ("GB", MG),
        ("all", OTHER_MG),
    ]
    fetched = sdk.services(service.sid).messaging_configurations("gb").fetch()
    assert (fetched.country, fetched.messaging_service_sid) == ("GB", MG)

    updated = (
        sdk.services(service.sid)
        .messaging_configurations("GB")
        .update(messaging_service_sid=OTHER_MG)
    )
    assert updated.messaging_service_sid == OTHER_MG and updated.country == "GB"
    assert updated.date_updated >= created.date_updated
    assert sdk.services(service.sid).messaging_configurations(
        "GB"
    ).fetch().messaging_service_sid == (OTHER_MG)

    assert sdk.services(service.sid).messaging_configurations("GB").delete() is True
    _refused(sdk.services(service.sid).messaging_configurations("GB").fetch, 404, 20404)
    assert [c.country for c in configurations.list()] == ["all"]


def test_service_link_points_at_the_list(sdk, live_server, tenant):
    import requests

    service = sdk.services.create(friendly_name="Acme Login")
    sdk.services(service.sid).messaging_configurations.create(
        country="US", messaging_service_sid=MG
    )
    link = service.links["messaging_configurations"]
    assert link == f"{live_server.url}/v2/Services/{service.sid}/MessagingConfigurations"
    body = requests.get(link, auth=(tenant.sid, tenant.auth_token), timeout=10).json()
    assert [c["country"] for c in body["messaging_configurations"]] == ["US"]
    assert body["meta"]["key"] == "messaging_configurations"


def test_refusals(sdk):
    service = sdk.services.create(friendly_name="Acme Login")
    configurations = sdk.services(service.sid).messaging_configurations
    configurations.create(country="FR", messaging_service_sid=MG)

    message = _refused(
        lambda: configurations.create(country="fr", messaging_service_sid=MG), 400, 60213
    )
    assert "already exists" in message
    for country in ("XX1", "XX", "F", "001", "al l", ""):
        message = _refused(
            lambda c=country: configurations.create(country=c, messaging_service_sid=MG), 400, 60200
        )
        assert "Country" in message
    for sid in ("MG" + "a" * 31, "MGzz" + "a" * 30, "PN" + "a" * 32, ""):
        message = _refused(
            lambda s=sid: configurations.create(country="DE", messaging_service_sid=s), 400, 60200
        )
        assert "MessagingServiceSid" in message
        _refused(
            lambda s=sid: (
                sdk.services(service.sid)
                .messaging_configurations("FR")
                .update(messaging_service_sid=s)
            ),
            400,
            60200,
        )
    for country in ("DE", "XX1", "all"):  # never configured, or no country at all
        _refused(sdk.services(service.sid).messaging_configurations(country).fetch, 404, 20404)
        _refused(sdk.services(service.sid).messaging_configurations(country).delete, 404, 20404)
    assert [(c.country, c.messaging_service_sid) for c in configurations.list()] == [("FR", MG)]


def test_another_tenants_service_is_a_404(sdk, other_sdk):
    service = sdk.services.create(friendly_name="Mine")
    sdk.services(service.sid).messaging_configurations.create(
        country="GB", messaging_service_sid=MG
    )
    theirs = other_sdk.services(service.sid)
    for call in (
        lambda: theirs.messaging_configurations.create(country="US", messaging_service_sid=MG),
        lambda: theirs.messaging_configurations("GB").fetch(),
        lambda: theirs.messaging_configurations("GB").update(messaging_service_sid=OTHER_MG),
        lambda: theirs.messaging_configurations("GB").delete(),
    ):
        _refused(call, 404, 20404)
    with pytest.raises(TwilioException) as exc:  # the SDK's list raises the page's answer
        theirs.messaging_configurations.list()
    response = exc.value.args[1]
    assert response.status_code == 404 and json.loads(response.text)["code"] == 20404
    [mine] = sdk.services(service.sid).messaging_configurations.list()
    assert (mine.country, mine.messaging_service_sid) == ("GB", MG)
