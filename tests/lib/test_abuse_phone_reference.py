"""`normalize_phone` and the API's phone parameters held to a reference written here, not
derived from the platform's own shape check.

The rule (E.164 as a form field carries it): a "+", the first digit of the country code
right after it, then only ASCII digits and the separators space ( ) . - (at most 26
characters in all); the number must be one phonenumbers calls valid, without an
extension, and comes back in E.164 form. So vanity letters ("+1-800-FLOWERS", which
phonenumbers would translate), a missing or displaced "+", non-ASCII digits (Arabic-Indic,
Persian, Devanagari, full-width) and extensions are refused, whatever phonenumbers makes of
them. The inputs are generated from phonenumbers' example number of every region and type,
in several written forms.
"""

from __future__ import annotations

import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

from tests.helpers import assert_twilio_error, form
from verify_platform.lib import phones

ASCII_DIGITS = "0123456789"
SEPARATORS = " ().-"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
KEYPAD = dict(
    zip("23456789", ["ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ"], strict=True)
)
OTHER_DIGITS = {  # zero of each script: a digit d is chr(ord(zero) + d)
    "arabic-indic": "\u0660",
    "persian": "\u06f0",
    "devanagari": "\u0966",
    "fullwidth": "\uff10",
}
TYPES = (T.MOBILE, T.FIXED_LINE, T.FIXED_LINE_OR_MOBILE, T.TOLL_FREE, T.VOIP, T.PREMIUM_RATE)


def reference_shape(raw: str) -> bool:
    """The rule above, character by character."""
    if not raw.startswith("+") or len(raw) > 26 or len(raw) < 2:
        return False
    rest = raw[1:]
    if rest[0] not in ASCII_DIGITS:
        return False
    return all(c in ASCII_DIGITS or c in SEPARATORS for c in rest)


def reference(raw: str) -> str | None:
    """What `normalize_phone(raw)` must answer."""
    if not reference_shape(raw):
        return None
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, F.E164)
    return e164 if len(e164) - 1 <= 15 else None  # E.164: at most 15 digits


def _vanity(e164: str) -> str | None:
    """The number with its last keypad digits written as letters (what phonenumbers reads
    back as the same number)."""
    head, tail = e164[:-4], e164[-4:]
    if not all(d in KEYPAD for d in tail):
        return None
    return head + "".join(KEYPAD[d][0] for d in tail)


def _script(text: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(c)) if c in ASCII_DIGITS else c for c in text)


def _forms(number: phonenumbers.PhoneNumber) -> list[str]:
    e164 = phonenumbers.format_number(number, F.E164)
    international = phonenumbers.format_number(number, F.INTERNATIONAL)
    national_digits = e164[1 + len(str(number.country_code)) :]
    forms = [
        e164,
        international,
        international.replace(" ", "-"),
        international.replace(" ", "."),
        f"+{number.country_code} ({national_digits[:3]}) {national_digits[3:]}",
        e164 + " ",
        # no "+", or not first
        e164[1:],
        "00" + e164[1:],
        " " + e164,
        f"(+{number.country_code}) {national_digits}",
        "-" + e164,
        "++" + e164[1:],
        f"+({number.country_code}) {national_digits}",
        phonenumbers.format_number(number, F.NATIONAL),
        phonenumbers.format_number(number, F.RFC3966),
        # extensions
        e164 + " ext. 12",
        e164 + " x12",
        e164 + ";ext=12",
        e164 + "#12",
        # other characters
        e164 + "\n",
        e164.replace("+", "+\t"),
        e164 + "\x00",
        e164[:4] + "/" + e164[4:],
        e164[:4] + "_" + e164[4:],
        "\uff0b" + e164[1:],  # full-width plus
        e164 + "0" * 6,  # too many digits
        e164[:3] + " " * 24 + e164[3:],  # too long to be one form field's number
        " ".join(e164),
    ]
    if vanity := _vanity(e164):
        forms += [vanity, vanity.lower(), vanity[:4] + "-" + vanity[4:]]
    for zero in OTHER_DIGITS.values():
        forms += [_script(e164, zero), _script(international, zero)]
    return forms


def _inputs() -> list[str]:
    found: dict[str, None] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.update(dict.fromkeys(_forms(example)))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        found.update(dict.fromkeys(_forms(phonenumbers.example_number_for_non_geo_entity(code))))
    found.update(
        dict.fromkeys(
            [
                "+1-800-FLOWERS",
                "+1 800 FLOWERS",
                "+1-800-flowers",
                "18003569377",
                "+18003569377",
                "+",
                "",
                "+1",
                "+12",
                "+1 (",
                "+447911123456789012",
            ]
        )
    )
    return list(found)


INPUTS = _inputs()


def test_the_inputs_cover_every_case():
    accepted = [raw for raw in INPUTS if reference(raw)]
    refused_by_shape = [raw for raw in INPUTS if not reference_shape(raw)]
    assert len(accepted) > 1000 and len(refused_by_shape) > 5000
    # Each refused kind is a number phonenumbers itself would take.
    for raw in ("+1-800-FLOWERS", "(+44) 7911 123456", " +447911123456", "+447911123456;ext=12"):
        assert not reference_shape(raw)
        assert phonenumbers.is_valid_number(phonenumbers.parse(raw, None))
    assert phonenumbers.format_number(phonenumbers.parse("+1-800-FLOWERS", None), F.E164) == (
        "+18003569377"
    )


def test_normalize_phone_follows_the_reference():
    """One test over every input (a test each would cost more than the checks): the
    mismatches are listed."""
    wrong = []
    for raw in INPUTS:
        expected = reference(raw)
        got = phones.normalize_phone(raw)
        if got != expected or (got is not None and not E164.fullmatch(got)):
            wrong.append((raw, got, expected))
        elif got is not None and phones.normalize_phone(got) != got:
            wrong.append((got, phones.normalize_phone(got), got))
    assert wrong == []


def test_text_the_rule_refuses_is_never_parsed():
    """Refused before phonenumbers sees it (nothing is parsed or cached for it): that is
    what keeps arbitrary text out of the per-process cache, and it is the only place a
    missing "+" is refused (phonenumbers without a region refuses it too)."""
    refused = [raw for raw in INPUTS if not reference_shape(raw)]
    before = phones._facts.cache_info()
    for raw in refused:
        assert phones.normalize_phone(raw) is None
    after = phones._facts.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)


# --- through the API -----------------------------------------------------------------------

API_SAMPLE = [
    raw
    for region in ("US", "GB", "FR", "DE", "BR", "IN", "JP", "NG", "AE", "EG", "IR", "CN")
    for raw in _forms(phonenumbers.example_number_for_type(region, T.MOBILE))
] + ["+1-800-FLOWERS", "18003569377", "+18003569377"]


@pytest.fixture
def unmetered(settings):
    settings.VERIFY_SEND_BUDGETS = {
        "ACCOUNT_PER_MINUTE": 0,
        "ACCOUNT_PER_HOUR": 0,
        "SERVICE_PER_MINUTE": 0,
        "SERVICE_PER_HOUR": 0,
    }


@pytest.mark.django_db
def test_the_verifications_to_follows_the_reference(api, service, unmetered, locmem_channels):
    path = f"/v2/Services/{service.sid}/Verifications"
    for raw in API_SAMPLE:
        expected = reference(raw)
        response = form(api, path, {"To": raw, "Channel": "call"})
        if expected is None:
            body = assert_twilio_error(response, 400, 60200)
            assert "`To`" in body["message"], (raw, body)
        else:
            assert response.status_code == 201, (raw, response.content[:200])
            assert response.json()["to"] == expected
            # Canceled, so the next form of the same number starts afresh (5 sends each).
            canceled = form(api, f"{path}/{response.json()['sid']}", {"Status": "canceled"})
            assert canceled.status_code == 200


@pytest.mark.django_db
def test_the_safe_list_phone_number_follows_the_reference(api):
    for raw in API_SAMPLE:
        expected = reference(raw)
        response = form(api, "/v2/SafeList/Numbers", {"PhoneNumber": raw})
        if expected is None:
            assert_twilio_error(response, 400, 60200)
        else:
            assert response.status_code in (201, 409), (raw, response.content[:200])
            if response.status_code == 201:
                assert response.json()["phone_number"] == expected


@pytest.fixture
def locmem_channels(settings):
    from channels.adapters import locmem

    settings.VERIFY_CHANNELS = {
        channel: {"BACKEND": "locmem", "OPTIONS": {}}
        for channel in ("sms", "whatsapp", "call", "email")
    }
    locmem.reset()
    yield locmem
    locmem.reset()
