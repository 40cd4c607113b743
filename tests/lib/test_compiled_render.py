"""The compiled renderer (`verify_platform.lib.api.compiled`) must give exactly what DRF's
`to_representation` gives: same keys in the same order, same values of the same types.

Every serializer the API's views use (found through the URLconf, so a new one fails the
first test until it has samples here) is rendered both ways over varied instances (None
fields, nested links, JSON values, every status shape) under several time zones and datetime
formats; a synthetic serializer covers the field types and value types the compiler
specialises or hands back to DRF.
"""

from __future__ import annotations

import datetime as dt
import sys
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from challenges.api.serializers import (
    ChallengeSerializer,
    SendCodeAttemptSerializer,
    VerificationCheckSerializer,
    VerificationSerializer,
)
from challenges.domain.verifications import _with_attempts
from challenges.models import Challenge, DeliveryAttempt, Verification
from entities.api.serializers import EntitySerializer
from entities.models import Entity
from factors.api.serializers import FactorSerializer, NewFactorSerializer
from factors.models import Factor
from limits.api.serializers import BucketSerializer, RateLimitSerializer, SafeListNumberSerializer
from limits.models import Bucket, RateLimit, SafeListNumber
from services.api.serializers import ServiceSerializer
from services.models import Account, Service, Webhook
from services.webhooks.api.serializers import WebhookCreatedSerializer, WebhookSerializer
from tests.helpers import routed_patterns
from verify_platform.lib.api import compiled
from verify_platform.lib.api.compiled import CompiledSerializer, compile_serializer
from verify_platform.lib.api.forms import TwilioForm
from verify_platform.lib.api.views import render

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 22, 10, 59, 58, 999_999, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


def view_serializers() -> set[type]:
    """The output serializers of every view module the URLconf routes to."""
    found = set()
    for pattern in routed_patterns():
        view = getattr(pattern.callback, "cls", None) or getattr(
            pattern.callback, "view_class", None
        )
        if view is None:
            continue
        for value in vars(sys.modules[view.__module__]).values():
            if (
                isinstance(value, type)
                and issubclass(value, serializers.BaseSerializer)
                and not issubclass(value, TwilioForm)
            ):
                found.add(value)
    return found


# --- samples ------------------------------------------------------------------------------


def _service(**overrides) -> Service:
    account = Account(sid="AC" + "1" * 32)
    fields = {
        "sid": "VA" + "2" * 32,
        "account": account,
        "friendly_name": "My Service",
        "date_created": T0,
        "date_updated": T0 + dt.timedelta(seconds=1),
    }
    return Service(**{**fields, **overrides})


def _services() -> list[Service]:
    return [
        _service(),
        _service(
            tts_name="Alice",
            push_include_date=True,
            push_apn_credential_sid="CR" + "3" * 32,
            totp_issuer="Issuer",
            whatsapp_msg_service_sid="MG" + "4" * 32,
            whatsapp_from="+14155550100",
            passkeys_relying_party_id="example.com",
            passkeys_relying_party_name=None,
            passkeys_relying_party_origins=" https://a.example, ,https://b.example",
            passkeys_user_verification="preferred",
            fallback=[{"channel": "whatsapp", "timeout": 30}, {"channel": "sms"}],
            code_length=8,
            lookup_enabled=True,
            date_updated=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=TOKYO),
        ),
    ]


def _entity(service: Service, identity: str = "user-0001") -> Entity:
    return Entity(
        sid="YE" + "5" * 32, service=service, identity=identity, date_created=T0, date_updated=T0
    )


def _factor(factor_type: str = "totp", **overrides) -> Factor:
    service = overrides.pop("service", _service())
    fields = {
        "sid": "YF" + "6" * 32,
        "service": service,
        "entity": _entity(service),
        "factor_type": factor_type,
        "status": "verified",
        "friendly_name": "phone",
        "date_created": T0,
        "date_updated": T0,
    }
    return Factor(**{**fields, **overrides})


def _factors() -> list[Factor]:
    recovery = _factor("recovery_codes", metadata={"os": "Android"})
    recovery.recovery_remaining = 7
    return [
        _factor(),
        _factor(alg="sha256", code_length=8, time_step=60, skew=0, status="unverified"),
        _factor("sms", phone_number_masked="+1******0100", metadata=None),
        recovery,
    ]


def _challenges() -> list[Challenge]:
    plain, dated = _service(), _service(push_include_date=True)
    factor = _factor(service=plain)
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


def _attempt(verification: Verification, **overrides) -> DeliveryAttempt:
    fields = {
        "sid": "VL" + "8" * 32,
        "verification": verification,
        "channel": "sms",
        "status": "sent",
        "step": 0,
        "tries": 1,
        "date_created": T0,
    }
    return DeliveryAttempt(**{**fields, **overrides})


def _verifications() -> list[Verification]:
    service = _service()
    common = {"sid": "VE" + "9" * 32, "service": service, "date_created": T0, "date_updated": T0}
    fresh = Verification(to="+14155550100", channel="sms", status="pending", **common)
    _with_attempts(fresh, [_attempt(fresh, status="scheduled", tries=0)])
    busy = Verification(
        to="user@example.com",
        channel="email",
        status=Verification.Status.APPROVED,
        amount="€12.00",
        payee="Shop",
        **common,
    )
    _with_attempts(
        busy,
        [
            _attempt(busy, date_sent=T0 + dt.timedelta(seconds=3)),
            _attempt(busy, step=1, status="failed", error_code="30008", error_message=None),
            _attempt(busy, step=2, tries=0, status="scheduled"),  # a timer, not a send
        ],
    )
    empty = Verification(to="+14155550101", channel="call", status="canceled", **common)
    _with_attempts(empty, [])
    return [fresh, busy, empty]


def _webhooks() -> list[Webhook]:
    service = _service()
    common = {
        "sid": "YW" + "a" * 32,
        "account": service.account,
        "service": service,
        "date_created": T0,
        "date_updated": T0,
    }
    return [
        Webhook(
            friendly_name="hook",
            event_types=["*"],
            webhook_url="https://example.com/hook",
            **common,
        ),
        Webhook(
            friendly_name="off",
            event_types=["factor.created", "challenge.approved"],
            webhook_url="https://example.com/h?x=1",
            status=Webhook.Status.DISABLED,
            version="v1",
            auto_disabled=True,
            **common,
        ),
    ]


def _rate_limits() -> list[RateLimit]:
    service = _service()
    common = {"sid": "RK" + "b" * 32, "account": service.account, "service": service}
    return [
        RateLimit(unique_name="end_user_ip", description=None, date_created=T0, **common),
        RateLimit(
            unique_name="a.b-c_d", description="per IP", date_created=T0, date_updated=T0, **common
        ),
    ]


def _buckets() -> list[Bucket]:
    limit = _rate_limits()[1]
    return [
        Bucket(
            sid="BL" + "c" * 32,
            account=limit.account,
            service=limit.service,
            rate_limit=limit,
            max=size,
            interval=60,
            date_created=T0,
            date_updated=T0,
        )
        for size in (1, 1_000_000)
    ]


def _safe_list() -> list[SafeListNumber]:
    return [SafeListNumber(sid="GN" + "d" * 32, phone_number="+14155550100", date_created=T0)]


SAMPLES = {
    ServiceSerializer: (_services, {}),
    EntitySerializer: (lambda: [_entity(_service()), _entity(_service(), "abc-DEF-123")], {}),
    FactorSerializer: (_factors, {}),
    NewFactorSerializer: (_factors, {"binding": {"secret": "S", "uri": "otpauth://x"}}),
    ChallengeSerializer: (_challenges, {}),
    VerificationSerializer: (_verifications, {}),
    VerificationCheckSerializer: (_verifications, {}),
    WebhookSerializer: (_webhooks, {}),
    WebhookCreatedSerializer: (_webhooks, {"signing_secret": "whsec_x"}),
    RateLimitSerializer: (_rate_limits, {}),
    BucketSerializer: (_buckets, {}),
    SafeListNumberSerializer: (_safe_list, {}),
}


@pytest.fixture
def request_(settings):
    settings.ALLOWED_HOSTS = ["*"]
    return Request(APIRequestFactory().get("/", HTTP_HOST="api.example.com:8443"))


def _outcome(call, instance):
    try:
        return call(instance), None
    except Exception as exc:  # both sides must fail the same way
        return None, (type(exc), str(exc))


def assert_same(serializer_class, instance, context: dict, *, planned: bool = True) -> dict:
    """DRF's output for `instance` and the compiled one are equal, as values and as JSON."""
    expected, expected_error = _outcome(
        serializer_class(context=context).to_representation, instance
    )
    plan = compile_serializer(serializer_class(context=context))
    assert isinstance(plan, CompiledSerializer) is planned
    got, error = _outcome(plan, instance)
    assert error == expected_error
    assert got == expected
    if expected is not None:
        assert JSONRenderer().render(got) == JSONRenderer().render(expected)
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
    return got


# --- the resource serializers ---------------------------------------------------------------


def test_every_serializer_the_views_use_has_samples():
    used = view_serializers()
    assert ChallengeSerializer in used and VerificationSerializer in used
    assert used == set(SAMPLES), "add samples for a new output serializer here"


ZONES = [None, "America/New_York", "Asia/Kolkata"]
FORMATS = [None, "iso-8601", "%d/%m/%Y %H:%M:%S %z"]


@pytest.mark.parametrize("serializer_class", list(SAMPLES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("datetime_format", FORMATS)
def test_resource_serializers_render_as_drf_does(
    serializer_class, zone, datetime_format, request_, settings
):
    if datetime_format is not None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": datetime_format}
    make, extra = SAMPLES[serializer_class]
    with timezone.override(zone):
        for instance in make():
            out = assert_same(serializer_class, instance, {"request": request_, **extra})
            assert len(out) >= 3
            if not extra:  # what the views call: one cached serializer per class and thread
                assert render(serializer_class, instance, request_) == out


def test_twilio_datetimes_are_utc_whole_seconds_with_z(request_):
    body = render(ChallengeSerializer, _challenges()[2], request_)
    assert body["date_created"] == "2026-11-22T10:59:58Z"
    assert body["expiration_date"] == "2031-05-05T22:08:09Z"  # from Tokyo time
    assert body["url"].startswith("http://api.example.com:8443/v2/Services/VA")


def test_the_comparison_notices_a_wrong_converter(request_, monkeypatch):
    """The equivalence checks above can fail: a compiled datetime that differs from DRF's
    by one character is caught."""
    monkeypatch.setattr(compiled, "_TWILIO_DATETIME", "%04d-%02d-%02dT%02d:%02d:%02d+")
    with pytest.raises(AssertionError):
        assert_same(EntitySerializer, _entity(_service()), {"request": request_})


# --- field and value types --------------------------------------------------------------------


class _Inner(serializers.Serializer):
    name = serializers.CharField()
    when = serializers.DateTimeField()


class _Everything(serializers.Serializer):
    text = serializers.CharField()
    number = serializers.IntegerField()
    flag = serializers.BooleanField()
    maybe = serializers.BooleanField(allow_null=True)
    data = serializers.JSONField()
    binary = serializers.JSONField(binary=True)
    choice = serializers.ChoiceField(["a", "b"])
    items = serializers.ListField(child=serializers.CharField())
    when = serializers.DateTimeField()
    when_kolkata = serializers.DateTimeField(default_timezone=ZoneInfo("Asia/Kolkata"))
    when_naive = serializers.DateTimeField(default_timezone=None)
    when_custom = serializers.DateTimeField(format="%d/%m/%Y %H:%M %Z")
    when_raw = serializers.DateTimeField(format=None)
    when_iso = serializers.DateTimeField(format="iso-8601")
    deep = serializers.CharField(source="inner.name")
    deep_skipped = serializers.CharField(source="inner.missing", read_only=True)
    defaulted = serializers.CharField(source="absent", default="fallback")
    nulled = serializers.CharField(source="absent", allow_null=True)
    called = serializers.CharField(source="shout")
    method = serializers.SerializerMethodField()
    nested = _Inner(source="inner")
    flat = _Inner(source="*")
    many = _Inner(source="children", many=True)
    nothing = _Inner(source="none_here", allow_null=True)
    hidden = serializers.CharField(write_only=True)

    def get_method(self, obj) -> list:
        return [obj.number, self.context.get("marker")]


def _thing(**overrides) -> SimpleNamespace:
    inner = SimpleNamespace(name="inner", when=T0)
    when = overrides.pop("when", T0)
    values = {
        "text": "hello",
        "name": "flat",
        "number": 7,
        "flag": True,
        "maybe": None,
        "data": {"a": [1, None]},
        "binary": {"b": 1},
        "choice": "a",
        "items": ["x", None, 3],
        **{f"when{suffix}": when for suffix in ("", "_kolkata", "_naive", "_custom", "_raw")},
        "when_iso": when,
        "inner": inner,
        "shout": lambda: "called!",
        "children": [inner, SimpleNamespace(name=None, when=None)],
        "none_here": None,
        "hidden": "never shown",
    }
    return SimpleNamespace(**{**values, **overrides})


THINGS = [
    _thing(),
    _thing(when=dt.datetime(2026, 3, 29, 1, 30, tzinfo=TOKYO)),
    _thing(when=dt.datetime(2026, 3, 29, 1, 30)),  # naive: made aware in the active zone
    _thing(when=dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)),  # strftime's unpadded year
    _thing(when="2020-01-01T00:00:00Z"),  # strings pass through
    _thing(number="12", flag=1, maybe="false", text=42, choice=Challenge.Status.PENDING),
    _thing(flag="TRUE", maybe=0, data=None, items=[]),
    _thing(inner=None),  # a path through None: DRF raises, for both
    _thing(inner=SimpleNamespace(when=T0)),  # a missing attribute: DRF's error message
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("instance", THINGS)
def test_field_types_render_as_drf_does(instance, zone):
    with timezone.override(zone):
        assert_same(_Everything, instance, {"marker": "m"})


def test_a_mapping_is_rendered_by_drf():
    values = {"name": "n", "when": T0}
    assert assert_same(_Inner, values, {}) == {"name": "n", "when": "2026-11-22T10:59:58Z"}


def test_serializers_the_compiler_does_not_plan_are_drfs_own():
    class _Related(serializers.Serializer):
        account = serializers.PrimaryKeyRelatedField(read_only=True)

    for serializer in (_Related(), SendCodeAttemptSerializer(), _Inner(many=True)):
        assert compile_serializer(serializer) == serializer.to_representation
    service = _service()
    assert_same(_Related, service, {}, planned=False)
