"""`normalize_phone` and `is_landline` answer from one parse and one typing per number,
cached: they must give exactly what phonenumbers' own `is_valid_number` / `number_type`
calls give, for numbers of many countries, valid or not, canonical or formatted."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from verify_platform.lib import phones

COUNTRY_CODES = ["1", "7", "33", "39", "44", "49", "54", "55", "61", "81", "86", "91", "800", "882"]


def _reference_normalize(raw: str) -> str | None:
    """What `normalize_phone` was before it was cached: parse, validate, format."""
    if not raw.isascii() or not phones._PHONE_SHAPE.fullmatch(raw):
        return None
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _reference_is_landline(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


def _numbers() -> list[str]:
    rng = random.Random(6)
    numbers = [
        "+14155550100",
        "+1 (415) 555-0100",
        "+1.415.555.0100",
        "+442079460018",  # London fixed line
        "+44 7911 123456",  # UK mobile
        "+33 1 23 45 67 89",
        "+390612345678",  # Italian leading zero
        "+80012345678",  # non-geographic
        "+15550100",
        "+1415555010000000",
        "+999 123 456",
        "+",
        "",
        "garbage",
        "+44 20 7946 0018 ext 5",
        "+１４１５５５５０１００",
    ]
    for code in COUNTRY_CODES:
        for length in range(4, 14):
            digits = "".join(rng.choice("0123456789") for _ in range(length))
            numbers.append(f"+{code}{digits}")
        example = phonenumbers.example_number_for_type(
            phonenumbers.region_code_for_country_code(int(code)),
            phonenumbers.PhoneNumberType.FIXED_LINE,
        )
        if example is not None:
            numbers.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
            numbers.append(
                phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            )
    return numbers


NUMBERS = _numbers()


@pytest.mark.parametrize("raw", NUMBERS)
def test_answers_are_phonenumbers_own(raw):
    for _ in range(2):  # computed, then from the cache
        assert phones.normalize_phone(raw) == _reference_normalize(raw)
        assert phones.is_landline(raw) == _reference_is_landline(raw)
        e164 = phones.normalize_phone(raw)
        if e164 is not None:
            assert phones.is_landline(e164) == _reference_is_landline(e164)


def test_the_sample_holds_valid_numbers_and_landlines():
    valid = [raw for raw in NUMBERS if _reference_normalize(raw)]
    assert len(valid) > 20
    assert any(_reference_is_landline(raw) for raw in valid)
    assert phones.is_landline("+442079460018")


@pytest.mark.parametrize("raw", NUMBERS)
def test_valid_exactly_when_typed(raw):
    """What `_facts` relies on: phonenumbers calls a number valid exactly when it can type
    it."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return
    known = phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.UNKNOWN
    assert phonenumbers.is_valid_number(number) == known
