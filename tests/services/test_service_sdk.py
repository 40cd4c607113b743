"""Services through the official `twilio` SDK against a live server."""

from __future__ import annotations

from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException


def test_create_fetch_update_delete(sdk):
    created = sdk.services.create(
        friendly_name="Acme Login",
        code_length=8,
        lookup_enabled=False,
        psd2_enabled=True,
        do_not_share_warning_enabled=True,
        totp_issuer="Acme Inc",
        totp_time_step=45,
        totp_code_length=8,
        totp_skew=2,
    )
    assert created.sid.startswith("VA") and len(created.sid) == 34
    assert created.friendly_name == "Acme Login"
    assert created.code_length == 8
    assert created.psd2_enabled is True
    assert created.do_not_share_warning_enabled is True
    assert created.lookup_enabled is False
    assert created.totp == {"issuer": "Acme Inc", "time_step": 45, "code_length": 8, "skew": 2}
    assert isinstance(created.date_created, datetime)
    assert isinstance(created.date_updated, datetime)
    assert created.url.endswith(f"/v2/Services/{created.sid}")
    assert created.links["entities"].endswith(f"/v2/Services/{created.sid}/Entities")
    assert created.links["verification_checks"].endswith("/VerificationCheck")

    fetched = sdk.services(created.sid).fetch()
    assert fetched.sid == created.sid and fetched.totp == created.totp

    updated = sdk.services(created.sid).update(friendly_name="Renamed", custom_code_enabled=True)
    assert updated.friendly_name == "Renamed"
    assert updated.custom_code_enabled is True
    assert updated.code_length == 8  # untouched fields keep their values

    assert sdk.services(created.sid).delete() is True
    with pytest.raises(TwilioRestException) as exc:
        sdk.services(created.sid).fetch()
    assert exc.value.status == 404 and exc.value.code == 20404


def test_defaults_and_every_field(sdk):
    svc = sdk.services.create(friendly_name="Defaults")
    assert svc.code_length == 6
    assert svc.totp == {"issuer": "Defaults", "time_step": 30, "code_length": 6, "skew": 1}
    assert svc.push == {
        "include_date": False,
        "apn_credential_sid": None,
        "fcm_credential_sid": None,
    }
    assert svc.whatsapp == {"msg_service_sid": None, "from": None}
    assert svc.tts_name is None and svc.default_template_sid is None
    assert svc.dtmf_input_required is True
    assert svc.skip_sms_to_landlines is False
    assert svc.verify_event_subscription_enabled is False
    assert set(svc.passkeys) == {
        "relying_party",
        "authenticator_attachment",
        "discoverable_credentials",
        "user_verification",
    }


def test_nested_objects_round_trip(sdk, tenant):
    from tests.push_support import apn_credential

    cr = apn_credential(tenant.account).sid  # a Service names only its own credentials
    mg = "MG" + "2" * 32
    svc = sdk.services.create(
        friendly_name="Nested",
        push_include_date=True,
        push_apn_credential_sid=cr,
        whatsapp_msg_service_sid=mg,
        whatsapp_from="+15005550006",
        passkeys_relying_party_id="example.com",
        passkeys_relying_party_name="Example",
        passkeys_relying_party_origins="https://example.com,https://www.example.com",
        passkeys_authenticator_attachment="platform",
        passkeys_user_verification="preferred",
    )
    assert svc.push["include_date"] is True and svc.push["apn_credential_sid"] == cr
    assert svc.whatsapp == {"msg_service_sid": mg, "from": "+15005550006"}
    assert svc.passkeys["relying_party"] == {
        "id": "example.com",
        "name": "Example",
        "origins": ["https://example.com", "https://www.example.com"],
    }
    assert svc.passkeys["authenticator_attachment"] == "platform"


def test_list_across_pages(sdk):
    made = [sdk.services.create(friendly_name=f"Svc {i}").sid for i in range(7)]
    listed = [s.sid for s in sdk.services.list(page_size=3)]
    assert listed == made  # oldest first, every record once, across three pages
    page = sdk.services.page(page_size=3)
    assert [s.sid for s in page] == made[:3] and page.next_page_url is not None
    assert "PageToken=" in page.next_page_url and "PageSize=3" in page.next_page_url
    second = page.next_page()
    assert [s.sid for s in second] == made[3:6]
    third = second.next_page()
    assert [s.sid for s in third] == made[6:]
    assert third.next_page_url is None
    assert [s.sid for s in sdk.services.list(limit=4)] == made[:4]


def test_other_tenant_sees_nothing(sdk, other_sdk):
    mine = sdk.services.create(friendly_name="Mine")
    assert other_sdk.services.list() == []
    for call in (
        lambda: other_sdk.services(mine.sid).fetch(),
        lambda: other_sdk.services(mine.sid).update(friendly_name="Stolen"),
        lambda: other_sdk.services(mine.sid).delete(),
    ):
        with pytest.raises(TwilioRestException) as exc:
            call()
        assert exc.value.status == 404 and exc.value.code == 20404
    assert sdk.services(mine.sid).fetch().friendly_name == "Mine"


def test_api_key_credentials(live_server, tenant):
    from services import domain
    from tests.conftest import sdk_for

    key, secret = domain.api_key_create(account=tenant.account, friendly_name="ci")
    client = sdk_for(live_server.url, key.sid, secret)
    svc = client.services.create(friendly_name="Via key")
    assert svc.account_sid == tenant.account.sid

    domain.api_key_revoke(api_key=key)
    with pytest.raises(TwilioRestException) as exc:
        client.services(svc.sid).fetch()
    assert exc.value.status == 401 and exc.value.code == 20003
