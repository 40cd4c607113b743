"""Entities through the official `twilio` SDK against a live server."""

from __future__ import annotations

from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException


@pytest.fixture
def svc(sdk):
    return sdk.services.create(friendly_name="Entities")


def test_create_fetch_list_delete(sdk, svc):
    entity = sdk.services(svc.sid).entities.create(identity="ff483d1f-f3a5-4a3a-b5c7-2d3b4e5f6a7b")
    assert entity.sid.startswith("YE") and len(entity.sid) == 34
    assert entity.identity == "ff483d1f-f3a5-4a3a-b5c7-2d3b4e5f6a7b"
    assert entity.service_sid == svc.sid and entity.account_sid == svc.account_sid
    assert isinstance(entity.date_created, datetime)
    assert entity.url.endswith(f"/v2/Services/{svc.sid}/Entities/{entity.identity}")
    assert entity.links["factors"].endswith(f"/Entities/{entity.identity}/Factors")
    assert entity.links["new_factors"] == entity.links["factors"]
    assert entity.links["challenges"].endswith(f"/Entities/{entity.identity}/Challenges")

    fetched = sdk.services(svc.sid).entities(entity.identity).fetch()
    assert fetched.sid == entity.sid

    assert sdk.services(svc.sid).entities(entity.identity).delete() is True
    with pytest.raises(TwilioRestException) as exc:
        sdk.services(svc.sid).entities(entity.identity).fetch()
    assert exc.value.status == 404 and exc.value.code == 20404


def test_list_across_pages(sdk, svc):
    made = [
        sdk.services(svc.sid).entities.create(identity=f"user-{i:04d}").identity for i in range(7)
    ]
    assert [e.identity for e in sdk.services(svc.sid).entities.list(page_size=2)] == made


def test_duplicate_identity_is_a_conflict(sdk, svc):
    sdk.services(svc.sid).entities.create(identity="duplicate-1")
    with pytest.raises(TwilioRestException) as exc:
        sdk.services(svc.sid).entities.create(identity="duplicate-1")
    assert (exc.value.status, exc.value.code) == (409, 60301)  # Twilio: "Entity already exists"


def test_other_tenant_gets_404(sdk, other_sdk, svc):
    sdk.services(svc.sid).entities.create(identity="private-user")
    for call in (
        lambda: other_sdk.services(svc.sid).entities("private-user").fetch(),
        lambda: other_sdk.services(svc.sid).entities("private-user").delete(),
        lambda: other_sdk.services(svc.sid).entities.create(identity="intruder-1"),
    ):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert exc.value.status == 404 and exc.value.code == 20404
    # A list page that is not 200 makes the SDK raise its generic exception with the response.
    with pytest.raises(TwilioException) as listing:
        other_sdk.services(svc.sid).entities.list()
    assert listing.value.args[1].status_code == 404
    assert sdk.services(svc.sid).entities("private-user").fetch().identity == "private-user"
