"""The shapes the forms publish for rules no pattern states exactly are shapes the server
accepts (the schema may say less than the server takes, never more), and the rules that a
pattern does state exactly are stated exactly.

tests/test_openapi_rules.py checks each parameter against its form; these check the
parameters whose form leaves the decision to `validate` or to the domain (a destination, a
phone number, a seed, a URL, a rate limit's name), against that decision itself.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata

import pytest
from django.core.validators import URLValidator
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from challenges.api.form_rules import (
    E164,
    EMAIL,
    IP_ADDRESS,
    any_case,
    destination_refusal,
    printable_class,
    printable_text,
)
from challenges.api.serializers import AUTH_PAYLOAD
from challenges.destinations import normalize_email, normalize_to
from factors import recovery, totp
from factors.api.serializers import SECRET
from limits.domain import UNIQUE_NAME
from services.api.serializers import FallbackField, ServiceForm, _fallback_schema
from services.webhooks import destinations
from services.webhooks.api.serializers import WEBHOOK_URL
from tests.openapi_support import json_values
from verify_platform.lib.api.forms import Pattern

SETTINGS = settings(
    max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)


def shapes(regex: str) -> st.SearchStrategy[str]:
    return st.from_regex(f"^(?:{regex})$", fullmatch=True)


def test_the_printable_class_is_exactly_the_printable_nfc_stable_bmp():
    published = re.compile(printable_class())
    for code in range(0x10000):
        char = chr(code)
        expected = char.isprintable() and unicodedata.normalize("NFC", char) == char
        assert bool(published.fullmatch(char)) is expected, hex(code)
    # Nothing beyond the BMP is published (no dialect names it alike), even when printable.
    assert not published.fullmatch("\U0001f600")


def test_trimmed_printable_text_refuses_only_spaces():
    trimmed = re.compile(f"^(?:{printable_text(trimmed=True)})$")
    assert trimmed.fullmatch("ACME Ltd") and trimmed.fullmatch(" €12.34 ")
    assert not trimmed.fullmatch("   ") and not trimmed.fullmatch("a\u200bb")


@SETTINGS
@given(shapes(EMAIL))
def test_every_published_address_is_one_the_server_takes(address):
    assert len(address) <= 254
    assert normalize_email(address) is not None
    assert normalize_to(address) is not None


@SETTINGS
@given(shapes(E164))
def test_a_published_number_is_a_number_or_refused_as_unassigned(number):
    if normalize_to(number) is None:
        assert destination_refusal(number, "other") == "no numbering plan assigns this number"


def test_other_refused_destinations_keep_their_message():
    assert destination_refusal("someone@", "must be an E.164 phone number") == (
        "must be an E.164 phone number"
    )


@SETTINGS
@given(shapes(IP_ADDRESS))
def test_every_published_ip_address_parses(address):
    ipaddress.ip_address(address)


@SETTINGS
@given(st.integers(0, 2**128 - 1), st.booleans())
def test_every_ipv6_text_form_is_published(number, exploded):
    address = ipaddress.IPv6Address(number)
    text = address.exploded if exploded else address.compressed
    assert re.fullmatch(IP_ADDRESS, text), text


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_every_ipv4_address_is_published(number):
    assert re.fullmatch(IP_ADDRESS, str(ipaddress.IPv4Address(number)))


@SETTINGS
@given(shapes(SECRET))
def test_every_published_seed_is_one_the_server_takes(secret):
    assert totp.normalize_secret(secret) == secret.upper()


@pytest.mark.parametrize("alg", sorted(totp.SECRET_BYTES))
def test_generated_seeds_have_the_published_shape(alg):
    assert re.fullmatch(SECRET, totp.generate_secret(alg))


def test_seeds_under_128_bits_are_not_published():
    assert not re.fullmatch(SECRET, "A" * 24)  # 120 bits
    assert re.fullmatch(SECRET, "A" * 26)


@SETTINGS
@given(shapes(AUTH_PAYLOAD))
def test_every_published_auth_payload_is_some_factor_shape(payload):
    jwt_parts = payload.split(".")
    assert (
        recovery.looks_like_recovery_code(payload)
        or (payload.isascii() and payload.isdigit() and 3 <= len(payload) <= 10)
        # A push answer: a compact JWS, three base64url parts.
        or (len(jwt_parts) == 3 and all(re.fullmatch("[A-Za-z0-9_-]+", p) for p in jwt_parts))
    )


def test_recovery_codes_have_the_published_shape():
    code = recovery.generate()
    assert re.fullmatch(AUTH_PAYLOAD, code) and re.fullmatch(AUTH_PAYLOAD, code.replace("-", ""))


@SETTINGS
@given(shapes(WEBHOOK_URL))
def test_every_published_webhook_url_is_absolute_and_public_by_name(url):
    URLValidator(schemes=["http", "https"])(url)
    host = url.split("://", 1)[1].split("/", 1)[0]
    assert destinations.host_problem(host) is None


def test_private_host_names_are_not_published():
    for url in (
        "http://a.local",
        "https://x.internal/p",
        "http://a.home.arpa",
        "http://b.localhost",
    ):
        assert not re.fullmatch(WEBHOOK_URL, url), url


@SETTINGS
@given(shapes(UNIQUE_NAME.pattern))
def test_the_published_unique_name_is_the_domains(name):
    assert UNIQUE_NAME.fullmatch(name)


@SETTINGS
@given(json_values(_fallback_schema()))
def test_every_published_fallback_plan_is_accepted(steps):
    text = json.dumps(steps)
    plan = FallbackField().to_internal_value(text)
    assert [step["channel"] for step in plan] == [step["channel"] for step in steps]


def test_an_untimed_step_is_published_last_only():
    schema = _fallback_schema()
    branches = [b for b in schema["anyOf"] if "prefixItems" in b]
    for branch in branches:
        *timed, last = branch["prefixItems"]
        assert all("timeout" in step["required"] for step in timed)
        assert "timeout" not in last["required"]


def test_any_case_is_what_lower_reads():
    converted = Pattern(any_case("converted", "unconverted"), "no")
    for text in ("Converted", "UNCONVERTED", "conVerted", "converted ", "\u212aonverted", ""):
        matched = converted.regex.fullmatch(text) is not None
        assert matched is (text.lower() in ("converted", "unconverted")), text


def _service_form(**values: str) -> ServiceForm:
    data = QueryDict(mutable=True)
    for key, value in values.items():
        data[key] = value
    form = ServiceForm(data=data, partial=True)
    form.is_valid()
    return form


def test_event_streams_take_only_false_and_say_so():
    from verify_platform.lib.api.forms import OneOf

    field = ServiceForm().fields["VerifyEventSubscriptionEnabled"]
    assert any(isinstance(v, OneOf) and v.values == (False,) for v in field.validators)
    assert _service_form(VerifyEventSubscriptionEnabled="false").errors == {}
    errors = _service_form(VerifyEventSubscriptionEnabled="true").errors
    assert "Event Streams sinks are not available" in str(errors["VerifyEventSubscriptionEnabled"])


def _form_properties(spec: dict, operation_id: str) -> dict:
    for methods in spec["paths"].values():
        for operation in methods.values():
            if operation["operationId"] == operation_id:
                content = operation["requestBody"]["content"]
                ref = content["application/x-www-form-urlencoded"]["schema"]["$ref"]
                return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    raise AssertionError(operation_id)


def test_the_schema_states_the_closed_sets_and_the_refused_parameters():
    from drf_spectacular.generators import SchemaGenerator

    spec = SchemaGenerator().get_schema(request=None, public=True)

    def resolved(node: dict) -> dict:
        if "allOf" in node:
            node = {**node, **node["allOf"][0]}
        if "$ref" in node:
            return spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    service = _form_properties(spec, "CreateService")
    assert resolved(service["VerifyEventSubscriptionEnabled"])["enum"] == [False]
    start = _form_properties(spec, "CreateVerification")
    assert resolved(start["EnableSnaClientToken"])["enum"] == [False]
    assert resolved(start["Channel"])["enum"] == ["sms", "whatsapp", "call", "email", "auto"]
    assert "not" in start["CustomMessage"] and "not" in start["Templates"]
    assert "not" in _form_properties(spec, "CreateVerificationCheck")["SnaClientToken"]
    assert start["Tags"]["contentSchema"]["maxProperties"] == 10
    assert resolved(_form_properties(spec, "UpdateVerification")["Status"])["enum"] == [
        "canceled",
        "approved",
    ]
