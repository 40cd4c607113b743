"""Arbitrary text in every parameter of the create forms (SECURITY.md R11, R13, R14).

Every field of the Service, Entity, Factor, Webhook and Challenge create forms is read from
the form class itself, so a field added later is covered. Each gets a corpus of hostile
text (NUL, unpaired surrogates, 10 000 characters, emoji, bidirectional marks, injection
strings) and hypothesis-generated text: the answer is 201 or a 400 naming that parameter
(413 for a body over the limit), never a 500; accepted text comes back verbatim in the
create response and in a later fetch.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from tests.helpers import FORM
from verify_platform.lib.api.forms import JSONObjectField, nfc

pytestmark = pytest.mark.django_db

CORPUS = [
    "",
    " ",
    "plain",
    " padded\t",
    "\x00",
    "nul\x00inside",
    "\ud800",
    "lone \udfff low",
    "a" * 10_000,
    "😀" * 2_500,
    "👩‍👩‍👧‍👦 family",
    "\u202eevil\u202c",
    "\u200f\u200eRTL marks",
    "مرحبا بالعالم",
    "e\u0301 combining",
    "١٢٣٤٥٦",
    "\uffff\U0010ffff",
    "line\r\nbreak",
    "' OR 1=1--",
    "<script>alert(1)</script>",
    "{{7*7}} ${7*7} {% raw %}",
    "%s%n%x",
    "https://example.com/hook?x=1",
]

# For parameters that are not free text (choices, numbers, booleans, SIDs): the hostile part.
SHORT_CORPUS = [
    "\x00",
    "\ud800",
    "a" * 10_000,
    "😀" * 2_500,
    "\u202e1\u202c",
    "١",
    "' OR 1=1--",
]

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60)

# Fields whose accepted value is deliberately not echoed as sent.
NOT_ECHOED = {
    "Passkeys.RelyingParty.Origins": "returned as a list split on commas",
    "Binding.Secret": "a seed: canonicalised, and returned only inside `binding`",
    "Binding.PhoneNumber": "normalised to E.164 and used by phone factors only "
    "(tests/factors/test_phone_factor_input.py covers it)",
    **dict.fromkeys(
        ("Config.AppId", "Config.SdkVersion", "Config.NotificationToken", "Binding.PublicKey"),
        "push factors only; a totp factor ignores it (tests/push/test_api_factors.py covers it)",
    ),
}
# Fields left out: a wrong code counts against the factor (throttled with 429 by design).
SKIPPED = {"AuthPayload": "codes are covered by the challenge and factor tests (R9, R13)"}


def targets():
    from challenges.api.serializers import ChallengeCreateForm
    from factors.api.entity_serializers import EntityForm
    from factors.api.serializers import FactorCreateForm
    from services.api.serializers import ServiceForm
    from services.webhooks.api.serializers import WebhookForm

    return {
        "service": (ServiceForm, "/v2/Services", {"FriendlyName": "Base"}),
        "entity": (EntityForm, "/v2/Services/{service}/Entities", {"Identity": "{identity}"}),
        "factor": (
            FactorCreateForm,
            "/v2/Services/{service}/Entities/{identity}/Factors",
            {"FriendlyName": "Phone", "FactorType": "totp"},
        ),
        "webhook": (
            WebhookForm,
            "/v2/Services/{service}/Webhooks",
            {
                "FriendlyName": "Hook",
                "EventTypes": ["*"],
                "WebhookUrl": "https://example.com/hook",
            },
        ),
        "challenge": (
            ChallengeCreateForm,
            "/v2/Services/{service}/Entities/{verified_identity}/Challenges",
            {"FactorSid": "{factor}"},
        ),
    }


def fields_of(form_class) -> dict[str, serializers.Field]:
    return {wire: f for wire, f in form_class().fields.items() if wire not in SKIPPED}


def free_text(field: serializers.Field) -> bool:
    """Text a person chooses (names, URLs, JSON objects, list items), as opposed to a
    choice, number, flag or identifier."""
    if isinstance(field, JSONObjectField | serializers.ListField):
        return True
    return isinstance(field, serializers.CharField) and not isinstance(
        field, serializers.RegexField | serializers.ChoiceField
    )


STRING_FIELDS = [
    (name, wire)
    for name, (form_class, _, _) in targets().items()
    for wire, field in fields_of(form_class).items()
    if isinstance(field, serializers.CharField | JSONObjectField | serializers.ListField)
]


@pytest.fixture
def ctx(service):
    from tests.factors.conftest import make_verified_factor

    factor, _ = make_verified_factor(service, identity="verified-user-0001")
    return {
        "service": service.sid,
        "verified_identity": "verified-user-0001",
        "factor": factor.sid,
    }


def encode(data: dict[str, Any]) -> bytes:
    """Form-encode as a client could, surrogates included (as the WTF-8 bytes a careless
    client emits; the server decodes them as U+FFFD)."""
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            raw = item.encode("utf-8", "surrogatepass")
            pairs.append(f"{quote_plus(key)}={quote_plus(raw)}")
    return "&".join(pairs).encode()


def as_received(value: str) -> str:
    """What the server reads: UTF-8 as sent (lone surrogates replaced), NFC-normalised."""
    return nfc(value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def wire_value(field: serializers.Field, text: str) -> str | list[str]:
    if isinstance(field, serializers.ListField):
        return [text]
    return text


def expected_echo(field: serializers.Field, sent: str | list[str]):
    """What a create that accepted `sent` must return for it, or None to skip the check."""
    if isinstance(field, JSONObjectField):
        return nfc(json.loads(sent))
    if isinstance(field, serializers.ListField):
        child = field.child
        if isinstance(child, serializers.CharField):
            return [as_received(v) for v in sent]
        return [nfc(json.loads(v)) for v in sent]
    if isinstance(field, serializers.ChoiceField) or not isinstance(field, serializers.CharField):
        return None
    received = as_received(sent)
    value = received.strip() if field.trim_whitespace else received
    return value or None  # blank may be stored as unset


def response_value(body: dict, python_name: str, wire: str):
    if wire == "Details.Fields":
        return body["details"]["fields"]
    node: Any = body
    for part in python_name.split("__"):
        node = node[part]
    return node


def post(api, target: str, ctx: dict[str, str], wire: str, value):
    _, template, base = targets()[target]
    identity = "user-" + uuid.uuid4().hex[:12]
    fill = {**ctx, "identity": identity}
    data = {k: (v.format(**fill) if isinstance(v, str) else v) for k, v in base.items()}
    data[wire] = value
    path = template.format(**fill)
    return api.post(path, encode(data), content_type=FORM)


def check(api, target: str, ctx: dict[str, str], wire: str, value) -> None:
    form_class = targets()[target][0]
    field = fields_of(form_class)[wire]
    response = post(api, target, ctx, wire, value)
    assert response.status_code in (201, 400, 413), (
        target,
        wire,
        repr(value)[:80],
        response.status_code,
        response.content[:300],
    )
    body = response.json()
    if response.status_code != 201:
        assert set(body) == {"code", "message", "more_info", "status"}, body
        if response.status_code == 400:
            assert body["code"] == 60200, body
            assert body["message"].startswith(f"Invalid parameter `{wire}`"), (wire, body)
        return
    expected = expected_echo(field, value)
    if expected is None or wire in NOT_ECHOED:
        return
    python_name = field.source  # the form field reads `wire` into its Python name
    assert response_value(body, python_name, wire) == expected, (target, wire)
    fetched = api.get(body["url"].removeprefix("http://testserver"))
    assert fetched.status_code == 200, fetched.content[:200]
    assert response_value(fetched.json(), python_name, wire) == expected, (target, wire)


@pytest.mark.parametrize("target", list(targets()))
def test_hostile_corpus_in_every_field(api, ctx, target):
    form_class = targets()[target][0]
    for wire, field in fields_of(form_class).items():
        for text in CORPUS if free_text(field) else SHORT_CORPUS:
            check(api, target, ctx, wire, wire_value(field, text))


def json_object(draw_text):
    return st.dictionaries(draw_text, draw_text, max_size=3).map(json.dumps)


@pytest.mark.parametrize(("target", "wire"), STRING_FIELDS)
@settings(
    max_examples=8,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_text_in_every_field(api, ctx, target, wire, data):
    field = fields_of(targets()[target][0])[wire]
    if isinstance(field, JSONObjectField):
        text = data.draw(st.one_of(json_object(ANY_TEXT), ANY_TEXT))
        value = text
    elif isinstance(field, serializers.ListField) and not isinstance(
        field.child, serializers.CharField
    ):
        item = st.fixed_dictionaries({"label": ANY_TEXT, "value": ANY_TEXT}).map(json.dumps)
        value = [data.draw(st.one_of(item, ANY_TEXT))]
    else:
        value = wire_value(field, data.draw(ANY_TEXT))
    check(api, target, ctx, wire, value)


def test_json_text_parameters_reject_what_postgresql_cannot_store(api, ctx):
    """`\\u0000` and unpaired surrogates inside JSON strings are 400, not a database error."""
    for target, wire in (("factor", "Metadata"), ("challenge", "HiddenDetails")):
        for raw in (
            '{"a": "\\u0000"}',
            '{"\\u0000": "x"}',
            '{"a": "\\ud800"}',
            '{"a": "x\\udfff"}',
        ):
            response = post(api, target, ctx, wire, raw)
            assert response.status_code == 400, (wire, raw, response.content[:200])
            assert response.json()["message"].startswith(f"Invalid parameter `{wire}`")
        response = post(api, target, ctx, wire, '{"a": "\\ud83d\\ude00 \\u202e"}')
        assert response.status_code == 201, response.content[:200]
    for raw in ('{"label": "\\u0000", "value": "v"}', '{"label": "l", "value": "\\udfff"}'):
        response = post(api, "challenge", ctx, "Details.Fields", [raw])
        assert response.status_code == 400, (raw, response.content[:200])
        assert response.json()["message"].startswith("Invalid parameter `Details.Fields`")
