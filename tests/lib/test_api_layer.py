"""The shared API layer: JSON whatever the client asks, API paths without the admin's
session/user/messages middleware while the admin keeps all of it, response bodies exactly as
the resource serializers' fields describe them, and forms that speak Twilio's wire names."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.test import Client
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from challenges.api import verification_serializers
from challenges.api.serializers import ChallengeCreateForm, ChallengeSerializer
from challenges.api.verification_forms import VerificationCheckForm, VerificationCreateForm
from challenges.api.verification_serializers import (
    VerificationCheckSerializer,
    VerificationSerializer,
)
from challenges.models import Challenge, DeliveryAttempt, Verification
from entities.models import Entity
from factors.api.serializers import FactorSerializer
from factors.models import Factor
from services.api.serializers import ServiceForm
from services.models import Account, Service
from verify_platform.lib.api.forms import TwilioForm
from verify_platform.lib.api.negotiation import JsonNegotiation
from verify_platform.lib.api.pagination import PageQuery
from verify_platform.lib.api.views import render, renderer

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/json;indent=2",
    "application/*",
    "text/html",
    "text/html, application/json",
    "*/*; q=0.5",
    "application/xml",
    "",
]
QUERIES = ["", "format=json", "format=xml", "%66ormat=xml", "PageSize=5"]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", QUERIES)
def test_json_negotiation_answers_json_whatever_the_client_asks(accept, query):
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/v2/Services?" + query, **extra))
    renderer, media_type = JsonNegotiation().select_renderer(request, [JSONRenderer()])
    assert isinstance(renderer, JSONRenderer) and media_type == "application/json"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["text/html", "application/xml"])
def test_a_browser_accept_header_gets_json_not_an_error(api, service, accept):
    response = api.get(f"/v2/Services/{service.sid}", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["sid"] == service.sid


def test_json_negotiation_keeps_drf_for_several_renderers():
    from rest_framework.renderers import BrowsableAPIRenderer

    request = Request(APIRequestFactory().get("/v2/Services", HTTP_ACCEPT="text/html"))
    renderer, media_type = JsonNegotiation().select_renderer(
        request, [JSONRenderer(), BrowsableAPIRenderer()]
    )
    assert isinstance(renderer, BrowsableAPIRenderer) and media_type == "text/html"


@pytest.mark.django_db
def test_api_responses_never_touch_cookies_even_when_a_browser_sends_them(tenant, service):
    client = Client()
    client.cookies["sessionid"] = "abc"  # malformed: Django's session would delete it
    client.cookies["messages"] = "junk"
    for path in (f"/v2/Services/{service.sid}", "/v2/Services/VA" + "0" * 32, "/v2/Nope"):
        response = client.get(path, HTTP_AUTHORIZATION=tenant.basic())
        assert response.status_code in (200, 404)
        assert not response.cookies
        assert "Vary" not in response


@pytest.mark.django_db
def test_the_admin_keeps_sessions_csrf_users_and_messages(settings):
    # A fast hasher: this test is about the middleware, not the password hash's cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_superuser("op", "op@example.com", "a long passphrase 1")
    client = Client(enforce_csrf_checks=True)
    login = client.get("/admin/login/")
    assert login.status_code == 200
    token = client.cookies["csrftoken"].value

    refused = client.post("/admin/login/", {"username": "op", "password": "a long passphrase 1"})
    assert refused.status_code == 403  # no CSRF token: the check still runs

    response = client.post(
        "/admin/login/",
        {
            "username": "op",
            "password": "a long passphrase 1",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        },
    )
    assert response.status_code == 302
    assert "sessionid" in client.cookies
    index = client.get("/admin/")
    assert index.status_code == 200
    assert index.wsgi_request.user.username == "op"
    assert hasattr(index.wsgi_request, "_messages")


PATHS = [
    "/v2/Services/VA0123456789abcdef0123456789abcdef",
    "/v2/Services/VA01/Entities/ünïcode/Factors",
    "/v2/Services/VA01/Entities/with space",
    "/v2/Services/VA01/Entities/pct%20encoded",
    "/v2/Services/VA01/Entities/o'brien+(x)!*@~",
    '/v2/Services/VA01/Entities/a"b<c>',
    "/v2/Services?PageSize=5&Page=1",
    "//evil.example.com/x",
    "/v2/./Services",
    "/v2/../Services",
    "relative/path",
    "",
]


@pytest.mark.parametrize("host", ["testserver", "127.0.0.1:8000", "[::1]:8000", "Verify.Example"])
@pytest.mark.parametrize("secure", [False, True])
def test_absolute_url_is_what_django_builds(settings, host, secure):
    from verify_platform.lib.api.fields import absolute_url, absolute_urls

    settings.ALLOWED_HOSTS = ["*"]
    http = APIRequestFactory().get("/v2/Services", HTTP_HOST=host, secure=secure)
    for request in (http, Request(http)):
        for path in PATHS:
            assert absolute_url(request, path) == http.build_absolute_uri(path), path
        assert absolute_urls(request, PATHS) == [http.build_absolute_uri(p) for p in PATHS]


# --- response bodies ------------------------------------------------------------------------

T0 = dt.datetime(2026, 11, 22, 10, 59, 58, 999_999, tzinfo=dt.UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def request_(settings) -> Request:
    settings.ALLOWED_HOSTS = ["*"]
    return Request(APIRequestFactory().get("/", HTTP_HOST="api.example.com:8443"))


def _service(**overrides) -> Service:
    fields = {
        "sid": "VA" + "2" * 32,
        "account": Account(sid="AC" + "1" * 32),
        "friendly_name": "My Service",
        "date_created": T0,
        "date_updated": T0,
    }
    return Service(**{**fields, **overrides})


def _entity(service: Service, identity: str = "user-0001") -> Entity:
    return Entity(
        sid="YE" + "5" * 32, service=service, identity=identity, date_created=T0, date_updated=T0
    )


def _factor(service: Service) -> Factor:
    return Factor(
        sid="YF" + "6" * 32,
        service=service,
        entity=_entity(service),
        factor_type="totp",
        status="verified",
        friendly_name="phone",
        date_created=T0,
        date_updated=T0,
    )


def _challenges() -> list[Challenge]:
    plain, dated = _service(), _service(push_include_date=True)
    factor = _factor(plain)
    common = {"sid": "YC" + "7" * 32, "factor": factor, "date_created": T0, "date_updated": T0}
    return [
        Challenge(
            service=plain,
            entity=factor.entity,
            status="pending",
            responded_reason="none",
            expiration_date=T0 + dt.timedelta(days=3650),
            details_fields=[],
            **common,
        ),
        Challenge(  # pending but past its expiration: rendered as expired
            service=dated,
            entity=factor.entity,
            status=Challenge.Status.PENDING,
            responded_reason="none",
            expiration_date=T0,
            details_message="Login from Paris",
            details_fields=[{"label": "IP", "value": "203.0.113.7"}],
            hidden_details={"ip": "203.0.113.7"},
            metadata={"k": "v"},
            **common,
        ),
        Challenge(
            service=plain,
            entity=_entity(plain, "Tenant-Üser-1"),
            status=Challenge.Status.APPROVED,
            responded_reason="not_needed",
            expiration_date=dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=TOKYO),
            date_responded=T0 + dt.timedelta(microseconds=1),
            details_fields=[],
            **common,
        ),
    ]


def _verifications() -> list[Verification]:
    common = {"sid": "VE" + "9" * 32, "service": _service(), "date_created": T0}
    return [
        Verification(to="+14155550100", channel="sms", status="pending", date_updated=T0, **common),
        Verification(
            to="user@example.com",
            channel="email",
            status=Verification.Status.APPROVED,
            amount="€12.00",
            payee="Shop",
            date_updated=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=TOKYO),
            **common,
        ),
    ]


@pytest.fixture
def attempts(monkeypatch) -> list[DeliveryAttempt]:
    """The delivery attempts every sample verification shows, without a database."""
    shown = [
        DeliveryAttempt(
            sid="VL" + "8" * 32,
            channel="sms",
            status="sent",
            step=0,
            tries=1,
            date_created=T0,
            date_sent=T0 + dt.timedelta(seconds=3),
        ),
        DeliveryAttempt(
            sid="VL" + "a" * 32,
            channel="call",
            status="failed",
            step=1,
            tries=1,
            error_code="30008",
            date_created=T0,
        ),
    ]
    monkeypatch.setattr(verification_serializers, "visible_attempts", lambda verification: shown)
    return shown


WRITTEN_OUT = [
    (ChallengeSerializer, _challenges),
    (VerificationSerializer, _verifications),
    (VerificationCheckSerializer, _verifications),
]


@pytest.mark.parametrize(("serializer_class", "samples"), WRITTEN_OUT)
def test_bodies_written_out_are_what_their_fields_render(
    serializer_class, samples, request_, attempts
):
    """The serializers whose `to_representation` builds the body directly give, key for key
    and byte for byte, what DRF renders from their declared fields (which the schema shows)."""
    json = JSONRenderer()
    for instance in samples():
        by_fields = serializers.Serializer.to_representation(
            serializer_class(context={"request": request_}), instance
        )
        body = render(serializer_class, instance, request_)
        assert list(body) == list(by_fields)
        assert json.render(body) == json.render(by_fields)


def test_twilio_datetimes_are_utc_whole_seconds_with_z(request_):
    body = render(ChallengeSerializer, _challenges()[2], request_)
    assert body["date_created"] == "2026-11-22T10:59:58Z"
    assert body["expiration_date"] == "2031-05-05T22:08:09Z"  # from Tokyo time
    assert body["status"] == "approved"
    assert body["url"].startswith("http://api.example.com:8443/v2/Services/VA")
    dated = render(ChallengeSerializer, _challenges()[1], request_)
    assert dated["status"] == "expired"
    assert dated["details"]["date"] == "2026-11-22T10:59:58Z"


def test_a_verification_body(request_, attempts):
    body = render(VerificationSerializer, _verifications()[0], request_)
    base = "http://api.example.com:8443/v2/Services/VA" + "2" * 32
    assert JSONRenderer().render(body).decode() == (
        '{"sid":"VE99999999999999999999999999999999",'
        '"service_sid":"VA22222222222222222222222222222222",'
        '"account_sid":"AC11111111111111111111111111111111",'
        '"to":"+14155550100","channel":"sms","status":"pending","valid":false,'
        '"amount":null,"payee":null,'
        '"date_created":"2026-11-22T10:59:58Z","date_updated":"2026-11-22T10:59:58Z",'
        '"lookup":{},"send_code_attempts":['
        '{"attempt_sid":"VL88888888888888888888888888888888","channel":"sms",'
        '"time":"2026-11-22T11:00:01Z","status":"sent","error":null},'
        '{"attempt_sid":"VLaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","channel":"call",'
        '"time":"2026-11-22T10:59:58Z","status":"failed",'
        '"error":{"code":"30008","message":null}}],'
        f'"sna":null,"url":"{base}/Verifications/VE99999999999999999999999999999999"}}'
    )


def test_a_factor_body(request_):
    factor = _factor(_service())
    body = JSONRenderer().render(render(FactorSerializer, factor, request_)).decode()
    assert body == (
        '{"sid":"YF66666666666666666666666666666666",'
        '"account_sid":"AC11111111111111111111111111111111",'
        '"service_sid":"VA22222222222222222222222222222222",'
        '"entity_sid":"YE55555555555555555555555555555555","identity":"user-0001",'
        '"date_created":"2026-11-22T10:59:58Z","date_updated":"2026-11-22T10:59:58Z",'
        '"friendly_name":"phone","status":"verified","factor_type":"totp",'
        '"config":{"alg":"sha1","skew":1,"code_length":6,"time_step":30},"metadata":null,'
        '"url":"http://api.example.com:8443/v2/Services/VA22222222222222222222222222222222'
        '/Entities/user-0001/Factors/YF66666666666666666666666666666666"}'
    )


def test_a_page_renders_each_row_as_render_does(request_):
    rows = _challenges()
    page = renderer(ChallengeSerializer, request_)
    assert [page(row) for row in rows] == [render(ChallengeSerializer, r, request_) for r in rows]


# --- forms ------------------------------------------------------------------------------------


def _query(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in values.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def _errors(form_class, data: QueryDict, **kwargs) -> dict:
    with pytest.raises(serializers.ValidationError) as caught:
        form_class.check(data, **kwargs)
    return {key: [str(message) for message in value] for key, value in caught.value.detail.items()}


def test_forms_read_wire_names_and_give_python_names():
    form = ServiceForm.check(
        _query(FriendlyName="svc", CodeLength="7", **{"Totp.TimeStep": "45", "Ignored": "x"})
    )
    assert dict(form.validated_data) == {
        "friendly_name": "svc",
        "code_length": 7,
        "totp__time_step": 45,
    }
    assert form.model_fields()["totp_time_step"] == 45
    assert list(PageQuery.check(_query()).validated_data) == ["page_size", "page"]


def test_form_errors_name_the_wire_parameter():
    assert _errors(VerificationCheckForm, _query(Code="12345678901")) == {
        "Code": [
            "must be 4 to 10 ASCII digits",
            "Ensure this field has no more than 10 characters.",
        ]
    }
    assert _errors(ServiceForm, _query(**{"Totp.Skew": "9"}), partial=True) == {
        "Totp.Skew": ["Ensure this value is less than or equal to 2."]
    }
    assert _errors(ServiceForm, _query(CodeLength="7")) == {
        "FriendlyName": ["This field is required."]
    }
    assert _errors(ChallengeCreateForm, _query(FactorSid="nope", AuthPayload="12")) == {
        "FactorSid": ["must be a YF SID"]
    }


def test_json_text_that_cannot_be_stored_is_refused_under_the_wire_name():
    item = '{"label": "IP", "value": "a\\u0000b"}'
    assert _errors(
        ChallengeCreateForm, _query(FactorSid="YF" + "a" * 32, **{"Details.Fields": [item]})
    ) == {"Details.Fields": ["must not contain NUL or unpaired surrogate characters"]}


def test_validate_methods_are_found_by_wire_name():
    class _Named(TwilioForm):
        friendly_name = serializers.CharField()

        def validate_FriendlyName(self, value: str) -> str:
            return value.upper()

    assert _Named.check(_query(FriendlyName="abc")).validated_data == {"friendly_name": "ABC"}


@pytest.mark.django_db
def test_custom_codes_follow_the_service_in_the_context(service):
    data = _query(To="+15005550006", Channel="sms", CustomCode="1234")
    service.custom_code_enabled = True
    form = VerificationCreateForm.check(data, context={"service": service})
    assert form.validated_data["custom_code"] == "1234"
    service.custom_code_enabled = False
    assert _errors(VerificationCreateForm, data, context={"service": service}) == {
        "CustomCode": ["custom codes are not enabled for this service"]
    }
