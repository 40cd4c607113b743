"""The provider status callback: signature checked, statuses normalised, handler called."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import resolve
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from channels import views
from channels.base import DeliveryStatus
from channels.status import (
    default_status_callback_url,
    get_delivery_status_handler,
    status_callback_url,
)
from tests.channels import handlers
from tests.channels.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.channels.helpers import ATTEMPT_SID, FROM_NUMBER

PATH = "/channels/twilio/status"
MESSAGE_SID = "SM" + "e5" * 16
CALL_SID = "CA" + "f6" * 16
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def _configured(settings):
    settings.VERIFY_CHANNELS = {
        "sms": {
            "BACKEND": "twilio",
            "OPTIONS": {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": FROM_NUMBER,
            },
        },
        "email": {"BACKEND": "locmem", "OPTIONS": {}},
    }
    settings.VERIFY_DELIVERY_STATUS_HANDLER = "tests.channels.handlers.record"
    handlers.calls.clear()
    yield
    handlers.calls.clear()


def message_params(status: str = "delivered", **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": MESSAGE_SID,
        "SmsSid": MESSAGE_SID,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": "+14155550100",
        "From": FROM_NUMBER,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def post(
    params: dict[str, str],
    *,
    attempt: str | None = ATTEMPT_SID,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
    signature: str | None = None,
    **headers: str,
):
    query = f"?{urlencode({'attempt': attempt})}" if attempt is not None else ""
    url = signed_url or f"http://testserver{PATH}{query}"
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    return Client().post(
        PATH + query,
        urlencode(params),
        content_type=FORM,
        HTTP_X_TWILIO_SIGNATURE=signature,
        **headers,
    )


def test_signed_delivered_callback_reaches_the_handler():
    response = post(message_params("delivered"))
    assert response.status_code == 204
    assert handlers.calls == [
        {
            "attempt_sid": ATTEMPT_SID,
            "provider_message_id": MESSAGE_SID,
            "status": DeliveryStatus.DELIVERED,
            "error_code": None,
        }
    ]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", DeliveryStatus.QUEUED),
        ("accepted", DeliveryStatus.QUEUED),
        ("sending", DeliveryStatus.QUEUED),
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("undelivered", DeliveryStatus.UNDELIVERED),
        ("failed", DeliveryStatus.FAILED),
        ("canceled", DeliveryStatus.FAILED),
    ],
)
def test_message_statuses_are_normalised(raw, status):
    assert post(message_params(raw, ErrorCode="30003")).status_code == 204
    (call,) = handlers.calls
    assert call["status"] is status
    assert call["error_code"] == "30003"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("initiated", DeliveryStatus.QUEUED),
        ("ringing", DeliveryStatus.SENT),
        ("in-progress", DeliveryStatus.DELIVERED),
        ("completed", DeliveryStatus.DELIVERED),
        ("busy", DeliveryStatus.UNDELIVERED),
        ("no-answer", DeliveryStatus.UNDELIVERED),
        ("failed", DeliveryStatus.FAILED),
        ("canceled", DeliveryStatus.FAILED),
    ],
)
def test_call_statuses_are_normalised(raw, status):
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": CALL_SID,
        "CallStatus": raw,
        "Direction": "outbound-api",
    }
    assert post(params).status_code == 204
    (call,) = handlers.calls
    assert call["status"] is status
    assert call["provider_message_id"] == CALL_SID


def test_replayed_callback_is_handled_the_same_way_each_time():
    first = post(message_params("failed"))
    second = post(message_params("failed"))
    assert first.status_code == second.status_code == 204
    assert len(handlers.calls) == 2
    assert handlers.calls[0] == handlers.calls[1]


@pytest.mark.parametrize(
    "case",
    ["missing", "garbage", "other token", "tampered body", "other attempt", "empty"],
)
def test_bad_signature_is_403_and_never_reaches_the_handler(case):
    params = message_params("delivered")
    if case == "missing":
        response = Client().post(
            f"{PATH}?attempt={ATTEMPT_SID}", urlencode(params), content_type=FORM
        )
    elif case == "garbage":
        response = post(params, signature="not-a-signature")
    elif case == "empty":
        response = post(params, signature="")
    elif case == "other token":
        response = post(params, token="someone-elses-token")
    elif case == "tampered body":
        good = RequestValidator(AUTH_TOKEN).compute_signature(
            f"http://testserver{PATH}?attempt={ATTEMPT_SID}", params
        )
        response = post(message_params("failed"), signature=good)
    else:
        response = post(params, signed_url=f"http://testserver{PATH}?attempt=VL{'1' * 32}")
    assert response.status_code == 403
    assert response.json()["status"] == 403
    assert handlers.calls == []


def test_without_a_twilio_adapter_nothing_can_be_verified(settings):
    settings.VERIFY_CHANNELS = {"sms": {"BACKEND": "locmem", "OPTIONS": {}}}
    assert post(message_params()).status_code == 403
    assert handlers.calls == []


def test_any_configured_twilio_account_may_sign(settings):
    other = "AC" + "9" * 32
    settings.VERIFY_CHANNELS = {
        **settings.VERIFY_CHANNELS,
        "whatsapp": {
            "BACKEND": "channels.adapters.twilio.TwilioAdapter",
            "OPTIONS": {
                "account_sid": other,
                "auth_token": "second-token",
                "whatsapp_from": FROM_NUMBER,
            },
        },
    }
    assert post(message_params(), token="second-token").status_code == 204
    assert post(message_params(), token=AUTH_TOKEN).status_code == 204
    assert len(handlers.calls) == 2


def test_forwarded_proto_is_honoured_when_configured(settings):
    https_url = f"https://testserver{PATH}?attempt={ATTEMPT_SID}"
    assert post(message_params(), signed_url=https_url).status_code == 403  # not trusted
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = post(message_params(), signed_url=https_url, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 204
    assert post(message_params(), signed_url=https_url).status_code == 403  # header missing


def test_forwarded_host_is_honoured_when_configured(settings):
    url = f"https://verify.example.com{PATH}?attempt={ATTEMPT_SID}"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["testserver", "verify.example.com"]
    headers = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "verify.example.com"}
    assert post(message_params(), signed_url=url, **headers).status_code == 204


def test_public_base_url_setting_is_accepted_behind_any_proxy(settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com/"
    url = default_status_callback_url(ATTEMPT_SID)
    assert url == f"https://verify.example.com{PATH}?attempt={ATTEMPT_SID}"
    assert post(message_params(), signed_url=url).status_code == 204
    # with an explicit :443, as some of Twilio's signers add it
    port_url = url.replace(".com/", ".com:443/")
    assert post(message_params(), signed_url=port_url).status_code == 204


@pytest.mark.parametrize(
    ("params", "attempt"),
    [
        (message_params(), None),
        (message_params(), ""),
        (message_params(), "VL<script>"),
        (message_params(), "x" * 65),
        ({"AccountSid": ACCOUNT_SID, "MessageSid": MESSAGE_SID}, ATTEMPT_SID),
        ({}, ATTEMPT_SID),
    ],
)
def test_signed_junk_is_400(params, attempt):
    response = post(params, attempt=attempt)
    assert response.status_code == 400
    assert response.json()["code"] == 60200
    assert handlers.calls == []


def test_unknown_status_is_acknowledged_and_ignored():
    assert post(message_params("receiving")).status_code == 204
    assert post(message_params("teleported")).status_code == 204
    assert handlers.calls == []


def test_junk_provider_ids_and_error_codes_are_dropped():
    params = message_params("failed", MessageSid="<x>", SmsSid="<x>", ErrorCode="3000; DROP")
    assert post(params).status_code == 204
    (call,) = handlers.calls
    assert call["provider_message_id"] is None
    assert call["error_code"] is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("\xff\xfe garbage", FORM),
        ("--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=x"),
        ("--x", "multipart/form-data"),
        ('{"MessageStatus": "delivered"}', "application/json"),
        ("a=" + "b" * 100, "text/plain"),
    ],
)
def test_unparsable_bodies_are_4xx(body, content_type):
    response = Client().post(
        f"{PATH}?attempt={ATTEMPT_SID}",
        body,
        content_type=content_type,
        HTTP_X_TWILIO_SIGNATURE="x",
    )
    assert 400 <= response.status_code < 500
    assert handlers.calls == []


def test_signed_json_body_is_refused_not_crashed():
    body = '{"MessageStatus": "delivered"}'
    validator = RequestValidator(AUTH_TOKEN)
    query = urlencode({"attempt": ATTEMPT_SID, "bodySHA256": validator.compute_hash(body)})
    signature = validator.compute_signature(f"http://testserver{PATH}?{query}", {})
    response = Client().post(
        f"{PATH}?{query}", body, content_type="application/json", HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert response.status_code == 400
    assert handlers.calls == []


def test_get_is_405():
    assert Client().get(f"{PATH}?attempt={ATTEMPT_SID}").status_code == 405


def test_no_handler_configured_means_accept_and_ignore(settings):
    settings.VERIFY_DELIVERY_STATUS_HANDLER = None
    assert post(message_params()).status_code == 204
    assert handlers.calls == []


def test_handler_failure_is_503_not_500(settings):
    settings.VERIFY_DELIVERY_STATUS_HANDLER = "tests.channels.handlers.explode"
    response = post(message_params())
    assert response.status_code == 503
    assert response.json()["status"] == 503


def test_unimportable_handler_is_503(settings):
    settings.VERIFY_DELIVERY_STATUS_HANDLER = "tests.channels.handlers.nothing_here"
    assert post(message_params()).status_code == 503


def test_handler_is_resolved_once_and_reset_on_setting_change(settings):
    assert get_delivery_status_handler() is handlers.record
    assert get_delivery_status_handler.cache_info().currsize == 1
    settings.VERIFY_DELIVERY_STATUS_HANDLER = "tests.channels.handlers.explode"
    assert get_delivery_status_handler() is handlers.explode


def test_status_callback_url_points_at_the_view():
    url = status_callback_url("https://verify.example.com/base/", ATTEMPT_SID)
    assert url == f"https://verify.example.com/base{PATH}?attempt={ATTEMPT_SID}"
    match = resolve(PATH)
    assert match.func is views.twilio_status
    assert match.namespace == "verify_channels"


def test_default_callback_url_is_none_without_a_public_base(settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = None
    assert default_status_callback_url(ATTEMPT_SID) is None


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["MessageStatus", "CallStatus", "SmsStatus", "MessageSid", "CallSid", "ErrorCode", "X"]
        )
        | st.text(min_size=1, max_size=10),
        st.text(max_size=40),
        max_size=6,
    ),
    attempt=st.one_of(st.none(), st.text(max_size=70), st.just(ATTEMPT_SID)),
)
def test_signed_arbitrary_input_never_500(params, attempt):
    params = {k: v.replace("\x00", "") for k, v in params.items() if "\x00" not in k}
    response = post(params, attempt=attempt)
    assert response.status_code in (204, 400)
    for call in handlers.calls:
        assert call["status"] in set(DeliveryStatus)
    handlers.calls.clear()


# -- published X-Twilio-Signature vectors (twilio-python's own unit tests) --------------------

VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_signature_vectors_validate():
    validator = RequestValidator(VECTOR_TOKEN)
    assert validator.compute_signature(VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.validate(VECTOR_URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    # through a port-rewriting proxy: accepted with or without the port
    with_port = VECTOR_URL.replace(".com", ".com:443")
    assert validator.validate(with_port, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert validator.validate(VECTOR_URL, VECTOR_PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")
    # repeated parameter names: each distinct value, sorted
    from django.http import QueryDict

    multi = QueryDict(mutable=True)
    multi.setlist("Sid", ["CA123"])
    multi.setlist("SidAccount", ["AC123"])
    multi.setlist("Digits", ["5678", "1234"])
    assert validator.validate(VECTOR_URL, multi, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    # anything changed: refused
    assert not validator.validate(
        VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert not validator.validate(
        VECTOR_URL + "&x=1", VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )
    assert not RequestValidator("12346").validate(
        VECTOR_URL, VECTOR_PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


def test_view_accepts_a_vector_signed_request(settings):
    """The published vector, replayed against our view: same token, same form, our URL."""
    settings.VERIFY_CHANNELS["sms"]["OPTIONS"]["auth_token"] = VECTOR_TOKEN
    settings.VERIFY_CHANNELS = dict(settings.VERIFY_CHANNELS)  # signal the change
    params = {**VECTOR_PARAMS, "CallStatus": "completed"}
    assert post(params, token=VECTOR_TOKEN).status_code == 204
    assert handlers.calls[0]["provider_message_id"] == "CA1234567890ABCDE"
    assert post(params, token=AUTH_TOKEN).status_code == 403
