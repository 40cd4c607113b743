"""The Webhooks resource through the official SDK and the raw API."""

from __future__ import annotations

from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from services.models import Webhook
from services.webhooks import events
from tests.helpers import assert_twilio_error, form
from verify_platform.lib import crypto

URL = "https://backend.example.com/twilio/verify"


def test_sdk_create_fetch_list_update_delete(sdk, service):
    hooks = sdk.services(service.sid).webhooks
    created = hooks.create(
        friendly_name="Backend",
        event_types=["factor.verified", "challenge.approved"],
        webhook_url=URL,
    )
    assert created.sid.startswith("YW") and len(created.sid) == 34
    assert created.service_sid == service.sid
    assert created.account_sid == service.account_id
    assert created.friendly_name == "Backend"
    assert created.event_types == ["factor.verified", "challenge.approved"]
    assert created.status == "enabled"
    assert created.version == "v2"
    assert created.webhook_method == "POST"
    assert created.webhook_url == URL
    assert isinstance(created.date_created, datetime)
    assert isinstance(created.date_updated, datetime)
    assert created.url.endswith(f"/v2/Services/{service.sid}/Webhooks/{created.sid}")

    fetched = hooks(created.sid).fetch()
    assert fetched.sid == created.sid and fetched.event_types == created.event_types

    updated = hooks(created.sid).update(
        friendly_name="Renamed",
        event_types=["*"],
        status="disabled",
        resource_version="v1",
        webhook_url="http://other.example.com/hook",
    )
    assert updated.friendly_name == "Renamed"
    assert updated.event_types == ["*"]
    assert updated.status == "disabled"
    assert updated.version == "v1"
    assert updated.webhook_url == "http://other.example.com/hook"
    assert hooks(created.sid).update(status="enabled").status == "enabled"

    hooks.create(friendly_name="Second", event_types=["*"], webhook_url=URL, status="disabled")
    listed = hooks.list(page_size=1)
    assert [w.friendly_name for w in listed] == ["Renamed", "Second"]

    assert hooks(created.sid).delete() is True
    with pytest.raises(TwilioRestException) as exc:
        hooks(created.sid).fetch()
    assert exc.value.status == 404 and exc.value.code == 20404


def test_create_returns_signing_secret_once_and_stores_it_encrypted(api, service):
    path = f"/v2/Services/{service.sid}/Webhooks"
    resp = form(api, path, {"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": URL})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["signing_secret"].startswith("whsec_")
    assert resp["Cache-Control"] == "no-store"
    row = Webhook.objects.get(pk=body["sid"])
    assert body["signing_secret"] not in row.secret_encrypted
    assert crypto.decrypt(row.secret_encrypted) == body["signing_secret"]
    for again in (api.get(f"{path}/{body['sid']}"), api.get(path)):
        assert again.status_code == 200
        assert "signing_secret" not in again.content.decode()
        assert body["signing_secret"] not in again.content.decode()
    updated = form(api, f"{path}/{body['sid']}", {"FriendlyName": "y"})
    assert updated.status_code == 200 and "signing_secret" not in updated.json()


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ({"EventTypes": ["*"], "WebhookUrl": URL}, "FriendlyName"),
        ({"FriendlyName": "x", "WebhookUrl": URL}, "EventTypes"),
        ({"FriendlyName": "x", "EventTypes": ["*"]}, "WebhookUrl"),
        ({"FriendlyName": "x", "EventTypes": ["factor.exploded"], "WebhookUrl": URL}, "EventTypes"),
        (
            {"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": "ftp://x.example/"},
            "WebhookUrl",
        ),
        ({"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": "not a url"}, "WebhookUrl"),
        ({"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": "/relative"}, "WebhookUrl"),
        ({"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": URL, "Status": "on"}, "Status"),
        ({"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": URL, "Version": "v3"}, "Version"),
        ({"FriendlyName": "x" * 65, "EventTypes": ["*"], "WebhookUrl": URL}, "FriendlyName"),
    ],
)
def test_bad_input_is_a_twilio_400(api, service, data, param):
    resp = form(api, f"/v2/Services/{service.sid}/Webhooks", data)
    body = assert_twilio_error(resp, 400, 60200)
    assert param in body["message"]
    assert not Webhook.objects.exists()


def test_update_rejects_bad_values(api, service):
    path = f"/v2/Services/{service.sid}/Webhooks"
    sid = form(api, path, {"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": URL}).json()[
        "sid"
    ]
    assert_twilio_error(form(api, f"{path}/{sid}", {"WebhookUrl": "javascript:x"}), 400, 60200)
    assert_twilio_error(form(api, f"{path}/{sid}", {"EventTypes": ["nope"]}), 400, 60200)
    assert Webhook.objects.get(pk=sid).webhook_url == URL


def test_other_tenants_webhook_is_a_plain_404(api, other_api, service, other_tenant):
    path = f"/v2/Services/{service.sid}/Webhooks"
    sid = form(api, path, {"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": URL}).json()[
        "sid"
    ]
    missing = "YW" + "0" * 32
    random_resp = other_api.get(f"{path}/{missing}")
    body = assert_twilio_error(random_resp, 404, 20404)
    for resp in (
        other_api.get(f"{path}/{sid}"),
        form(other_api, f"{path}/{sid}", {"FriendlyName": "stolen"}),
        other_api.delete(f"{path}/{sid}"),
    ):
        # Byte for byte the answer for a SID that never existed (only the SID differs).
        other = assert_twilio_error(resp, 404, 20404)
        assert other["message"].replace(sid, missing) == body["message"]
    for resp in (
        other_api.get(path),
        form(other_api, path, {"FriendlyName": "x", "EventTypes": ["*"], "WebhookUrl": URL}),
    ):
        assert_twilio_error(resp, 404, 20404)
    # A service of the other tenant does not make the webhook reachable either.
    from services import domain

    theirs = domain.service_create(account=other_tenant.account, friendly_name="Theirs")
    resp = other_api.get(f"/v2/Services/{theirs.sid}/Webhooks/{sid}")
    assert_twilio_error(resp, 404, 20404)
    assert Webhook.objects.get(pk=sid).friendly_name == "x"


def test_sdk_other_tenant_404(sdk, other_sdk, service):
    created = sdk.services(service.sid).webhooks.create(
        friendly_name="Mine", event_types=["*"], webhook_url=URL
    )
    with pytest.raises(TwilioRestException) as exc:
        other_sdk.services(service.sid).webhooks(created.sid).fetch()
    assert exc.value.status == 404 and exc.value.code == 20404


def test_reenabling_clears_the_auto_disabled_flag(api, service):
    from tests.webhooks.conftest import make_webhook

    webhook, _ = make_webhook(service, URL)
    Webhook.objects.filter(pk=webhook.pk).update(
        status="disabled", auto_disabled=True, failure_streak=12, disabled_reason="streak"
    )
    path = f"/v2/Services/{service.sid}/Webhooks/{webhook.sid}"
    assert api.get(path).json()["auto_disabled"] is True
    body = form(api, path, {"Status": "enabled"}).json()
    assert body["status"] == "enabled" and body["auto_disabled"] is False
    webhook.refresh_from_db()
    assert webhook.failure_streak == 0 and webhook.disabled_reason == ""


def test_openapi_documents_every_event_type(client):
    resp = client.get("/openapi.json?format=json")
    assert resp.status_code == 200
    components = resp.json()["components"]["schemas"]

    def enum(items: dict) -> list[str]:
        if "$ref" in items:
            items = components[items["$ref"].rsplit("/", 1)[1]]
        return items["enum"]

    request_body = components["WebhookFormRequest"]["properties"]["EventTypes"]
    assert enum(request_body["items"]) == ["*", *events.EVENT_TYPES]
    assert "Extension" in request_body["description"]
    created = components["WebhookCreated"]["properties"]
    assert enum(created["event_types"]["items"]) == ["*", *events.EVENT_TYPES]
    assert "signing_secret" in created
    assert "signing_secret" not in components["Webhook"]["properties"]
