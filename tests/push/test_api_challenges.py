"""Push challenges: the backend creates them with the official `twilio` SDK, the device
fetches them (with `Twilio-Verify-Signature-Fields`) and answers with a JWT signed by its
factor's key. Approve, deny, expiry, tampering, wrong keys, replays, other entities and other
tenants; notifications queued for the worker; the `form-push` Form."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from twilio.base.exceptions import TwilioRestException

from challenges.domain import push as push_domain
from challenges.models import Challenge
from services.models import Event
from tests.helpers import form as post_form
from tests.push.keys import DeviceKey, basic_token, call
from verify_platform.lib import clock

IDENTITY = "user-0001-abcd"
FIELDS = "sid,account_sid,service_sid,entity_sid,identity,factor_sid,date_created,expiration_date,details,hidden_details"


@pytest.fixture
def queued(monkeypatch):
    """The notifications the domain queued for the worker (`challenge_sid`, `ttl`)."""
    calls: list[tuple[str, int | None]] = []
    monkeypatch.setattr(
        push_domain, "push_notify_enqueue_on_commit", lambda sid, ttl: calls.append((sid, ttl))
    )
    return calls


@pytest.fixture
def push_service(sdk):
    return sdk.services.create(friendly_name="Push Login", push_include_date=True)


class Device:
    """An enrolled, verified device, talking to the live server as the SDK does."""

    def __init__(self, sdk, service_sid: str, base_url: str, identity: str, platform: str):
        self.base_url, self.key = base_url, DeviceKey()
        token = sdk.services(service_sid).access_tokens.create(
            identity=identity, factor_type="push"
        )
        form = {
            "FriendlyName": "Pixel",
            "FactorType": "push",
            "Binding.Alg": "ES256",
            "Binding.PublicKey": self.key.public_key,
            "Config.AppId": "com.example.app",
            "Config.NotificationPlatform": platform,
            "Config.SdkVersion": "0.12.0",
        }
        if platform != "none":
            form["Config.NotificationToken"] = "t" * 64
        status, _, self.factor = call(
            base_url,
            "POST",
            f"/v2/Services/{service_sid}/Entities/{identity}/Factors",
            basic_token(token.token),
            form,
        )
        assert status == 201, self.factor
        self.prefix = f"/v2/Services/{service_sid}/Entities/{identity}"
        status, _, body = self.call(
            "POST",
            f"{self.prefix}/Factors/{self.factor['sid']}",
            {"AuthPayload": self.key.sign_factor(self.factor["sid"])},
        )
        assert status == 200 and body["status"] == "verified", body

    @property
    def sid(self) -> str:
        return self.factor["sid"]

    def call(self, method: str, path: str, form: dict | None = None, query: dict | None = None):
        auth = basic_token(self.key.request_token(self.sid, self.factor["account_sid"]))
        return call(self.base_url, method, path, auth, form, query)

    def fetch(self, challenge_sid: str):
        return self.call("GET", f"{self.prefix}/Challenges/{challenge_sid}")

    def answer(self, challenge_sid: str, payload: str):
        return self.call(
            "POST", f"{self.prefix}/Challenges/{challenge_sid}", {"AuthPayload": payload}
        )

    def respond(self, challenge_sid: str, status: str):
        code, headers, challenge = self.fetch(challenge_sid)
        assert code == 200, challenge
        return self.answer(
            challenge_sid,
            self.key.answer(challenge, headers["Twilio-Verify-Signature-Fields"], status),
        )


@pytest.fixture
def device(sdk, push_service, live_server):
    return Device(sdk, push_service.sid, live_server.url, IDENTITY, "fcm")


def create(sdk, push_service, device, **extra):
    return (
        sdk.services(push_service.sid)
        .entities(IDENTITY)
        .challenges.create(
            factor_sid=device.sid,
            details_message="Approve login from Chrome on macOS?",
            details_fields=[
                {"label": "IP", "value": "203.0.113.9"},
                {"label": "City", "value": "Lyon"},
            ],
            hidden_details={"session": "s-42"},
            **extra,
        )
    )


def test_approve(sdk, push_service, device, queued):
    challenge = create(sdk, push_service, device)
    assert challenge.status == "pending" and challenge.factor_type == "push"
    assert challenge.details["message"] == "Approve login from Chrome on macOS?"
    assert challenge.details["fields"] == [
        {"label": "IP", "value": "203.0.113.9"},
        {"label": "City", "value": "Lyon"},
    ]
    assert "date" in challenge.details  # the service's Push.IncludeDate
    assert challenge.hidden_details == {"session": "s-42"}
    assert (challenge.expiration_date - challenge.date_created) == timedelta(minutes=5)
    assert queued == [(challenge.sid, None)]

    status, headers, _ = device.fetch(challenge.sid)
    assert status == 200 and headers["Twilio-Verify-Signature-Fields"] == FIELDS
    status, _, listed = device.call(
        "GET", f"{device.prefix}/Challenges", query={"FactorSid": device.sid, "Status": "pending"}
    )
    assert status == 200 and [c["sid"] for c in listed["challenges"]] == [challenge.sid]
    assert listed["meta"]["page"] == 0 and listed["meta"]["page_size"] == 50

    status, _, answered = device.respond(challenge.sid, "approved")
    assert status == 200 and answered["status"] == "approved", answered
    assert answered["date_responded"] and answered["responded_reason"] == "none"

    backend = sdk.services(push_service.sid).entities(IDENTITY).challenges(challenge.sid).fetch()
    assert backend.status == "approved"
    events = Event.objects.filter(resource_sid=challenge.sid).values_list("type", flat=True)
    assert list(events) == ["challenge.approved"]


def test_deny(sdk, push_service, device, queued):
    challenge = create(sdk, push_service, device)
    status, _, answered = device.respond(challenge.sid, "denied")
    assert status == 200 and answered["status"] == "denied"
    events = Event.objects.filter(resource_sid=challenge.sid).values_list("type", flat=True)
    assert list(events) == ["challenge.denied"]


def test_replayed_answer_is_refused(sdk, push_service, device, queued):
    first, second = create(sdk, push_service, device), create(sdk, push_service, device)
    _, headers, body = device.fetch(first.sid)
    payload = device.key.answer(body, headers["Twilio-Verify-Signature-Fields"], "approved")
    assert device.answer(first.sid, payload)[0] == 200
    status, _, error = device.answer(first.sid, payload)
    assert status == 403 and error["code"] == 60322
    # Challenge A's payload sent to challenge B: its signed fields name A.
    status, _, error = device.answer(second.sid, payload)
    assert status == 400 and error["code"] == 60200 and "sid" in error["message"]
    assert Challenge.objects.get(pk=second.sid).status == "pending"
    # A denial after the approval changes nothing either.
    assert device.respond(first.sid, "denied")[0] == 403
    assert Challenge.objects.get(pk=first.sid).status == "approved"


def test_tampered_wrong_key_wrong_alg(sdk, push_service, device, queued):
    challenge = create(sdk, push_service, device)
    _, headers, body = device.fetch(challenge.sid)
    fields = headers["Twilio-Verify-Signature-Fields"]
    good = device.key.answer(body, fields, "approved")
    head, claims, signature = good.split(".")
    denied_claims = device.key.answer(body, fields, "denied").split(".")[1]
    attempts = {
        "tampered signature": f"{head}.{claims}.{signature[:-6]}AAAAAA",
        "claims swapped": f"{head}.{denied_claims}.{signature}",
        "wrong key": DeviceKey().answer(body, fields, "approved"),
        "HS256": jwt.encode({"status": "approved"}, "k" * 32, algorithm="HS256"),
        "not a JWT": "abc",
        "other message": device.key.answer(
            {**body, "details": {"message": "x"}}, fields, "approved"
        ),
        "bad status": device.key.answer(body, fields, "pending"),
    }
    for name, payload in attempts.items():
        status, _, error = device.answer(challenge.sid, payload)
        assert status == 400 and error["code"] == 60200, (name, error)
    assert Challenge.objects.get(pk=challenge.sid).status == "pending"
    assert device.answer(challenge.sid, good)[0] == 200


def test_answer_after_expiry(sdk, push_service, device, queued, monkeypatch):
    challenge = create(sdk, push_service, device)
    _, headers, body = device.fetch(challenge.sid)
    payload = device.key.answer(body, headers["Twilio-Verify-Signature-Fields"], "approved")
    # The platform's clock moves past the 5 minutes (the device's own clock is not involved).
    monkeypatch.setattr(clock, "_offset", timedelta(minutes=6))
    status, _, error = device.answer(challenge.sid, payload)
    assert status == 403 and error["code"] == 60323
    assert Challenge.objects.get(pk=challenge.sid).status == "expired"
    events = Event.objects.filter(resource_sid=challenge.sid).values_list("type", flat=True)
    assert list(events) == ["challenge.expired"]


def test_expiration_date_bounds(sdk, push_service, device, queued):
    with pytest.raises(TwilioRestException) as exc:
        create(
            sdk,
            push_service,
            device,
            expiration_date=datetime.now().astimezone() + timedelta(minutes=61),
        )
    assert exc.value.status == 400
    with pytest.raises(TwilioRestException) as exc:
        sdk.services(push_service.sid).entities(IDENTITY).challenges.create(factor_sid=device.sid)
    assert exc.value.status == 400 and "Details.Message" in exc.value.msg


def test_devices_see_only_their_own(sdk, push_service, live_server, device, queued):
    mine = create(sdk, push_service, device)
    other = Device(sdk, push_service.sid, live_server.url, "user-0002-efgh", "fcm")
    sibling = Device(sdk, push_service.sid, live_server.url, IDENTITY, "fcm")
    # Another entity's device, on this entity's challenge: not its path.
    status, _, _ = call(
        live_server.url,
        "GET",
        f"{device.prefix}/Challenges/{mine.sid}",
        basic_token(other.key.request_token(other.sid, other.factor["account_sid"])),
    )
    assert status == 401
    # The same entity's other device: not its factor's challenge.
    assert sibling.fetch(mine.sid)[0] == 404
    status, _, listed = sibling.call("GET", f"{device.prefix}/Challenges")
    assert status == 200 and listed["challenges"] == []
    assert (
        sibling.call("GET", f"{device.prefix}/Challenges", query={"FactorSid": device.sid})[0]
        == 404
    )
    # A device cannot create challenges or send notifications: those are the backend's.
    assert (
        device.call(
            "POST", f"{device.prefix}/Challenges", {"FactorSid": device.sid, "Details.Message": "x"}
        )[0]
        == 401
    )
    assert device.call("POST", f"{device.prefix}/Challenges/{mine.sid}/Notifications")[0] == 401


def test_another_tenants_sids_are_404(sdk, push_service, device, other_api, queued):
    challenge = create(sdk, push_service, device)
    path = f"{device.prefix}/Challenges/{challenge.sid}"
    assert other_api.get(path).status_code == 404
    assert post_form(other_api, path, {"AuthPayload": "a.b.c"}).status_code == 404
    assert post_form(other_api, path + "/Notifications").status_code == 404
    response = post_form(
        other_api, f"{device.prefix}/Challenges", {"FactorSid": device.sid, "Details.Message": "x"}
    )
    assert response.status_code == 404


def test_notifications(sdk, push_service, device, queued, tenant):
    challenge = create(sdk, push_service, device)
    notifications = (
        sdk.services(push_service.sid).entities(IDENTITY).challenges(challenge.sid).notifications
    )
    sent = notifications.create(ttl=120)
    assert sent.sid.startswith("NT") and sent.challenge_sid == challenge.sid
    assert sent.priority == "high" and sent.ttl == 120
    assert sent.account_sid == tenant.sid and sent.identity == IDENTITY
    assert notifications.create().ttl == 300
    assert queued == [(challenge.sid, None), (challenge.sid, 120), (challenge.sid, 300)]
    with pytest.raises(TwilioRestException) as exc:
        notifications.create(ttl=301)
    assert exc.value.status == 400
    device.respond(challenge.sid, "approved")
    with pytest.raises(TwilioRestException) as exc:
        notifications.create()
    assert exc.value.status == 403 and exc.value.code == 60322


def test_platform_none_polls(sdk, push_service, live_server, queued):
    polling = Device(sdk, push_service.sid, live_server.url, "user-0003-ijkl", "none")
    challenge = (
        sdk.services(push_service.sid)
        .entities("user-0003-ijkl")
        .challenges.create(factor_sid=polling.sid, details_message="Sign in?")
    )
    assert queued == []
    _, _, listed = polling.call("GET", f"{polling.prefix}/Challenges", query={"Status": "pending"})
    assert [c["sid"] for c in listed["challenges"]] == [challenge.sid]
    assert polling.respond(challenge.sid, "approved")[0] == 200


def test_form_push(sdk):
    form = sdk.forms("form-push").fetch()
    assert form.form_type == "form-push"
    assert set(form.forms) == {"create_factor", "verify_factor", "create_challenge"}
    assert form.url.endswith("/v2/Forms/form-push")
    with pytest.raises(TwilioRestException) as exc:
        sdk.forms("form-totp").fetch()
    assert exc.value.status == 404


def test_ios_sdk_pages_with_lowercase_page_token(sdk, push_service, device, queued):
    """Twilio's iOS SDK reads `PageToken` from `next_page_url` and sends it as `pageToken`."""
    first, second = (create(sdk, push_service, device) for _ in range(2))
    path = f"{device.prefix}/Challenges"
    status, _, page = device.call("GET", path, query={"FactorSid": device.sid, "PageSize": 1})
    assert status == 200 and [c["sid"] for c in page["challenges"]] == [first.sid]
    token = parse_qs(urlsplit(page["meta"]["next_page_url"]).query)["PageToken"][0]
    query = {"FactorSid": device.sid, "PageSize": 1, "pageToken": token}
    status, _, page = device.call("GET", path, query=query)
    assert status == 200 and [c["sid"] for c in page["challenges"]] == [second.sid]
