"""Parsing of `To`: an E.164 phone number (through phonenumbers) or an e-mail address.

Pure functions, shared by the API forms and the engine; anything they reject never reaches
an adapter.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

PHONE_CHANNELS = ("sms", "whatsapp", "call")
TEXT_CHANNELS = ("sms", "whatsapp")  # need a mobile: a landline cannot receive them
# A leading +, then digits with the usual separators; phonenumbers would also accept letters
# (vanity numbers), extensions and non-ASCII digits, none of which belongs in a To.
_PHONE_SHAPE = re.compile(r"\+[0-9][0-9 ().-]{2,24}")


def normalize_phone(raw: str) -> str | None:
    """The E.164 form of a valid phone number, or None."""
    if not raw.isascii() or not _PHONE_SHAPE.fullmatch(raw):
        return None
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_landline(e164: str) -> bool:
    """True only when phonenumbers can tell (in NANP it often cannot: FIXED_LINE_OR_MOBILE)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


def normalize_email(raw: str) -> str | None:
    if len(raw) > 254 or not raw.isprintable() or raw != raw.strip():
        return None
    try:
        validate_email(raw)
    except ValidationError:
        return None
    local, _, domain = raw.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_to(raw: str) -> str | None:
    """A phone number or e-mail address in canonical form, or None."""
    if raw.startswith("+"):
        return normalize_phone(raw)
    if "@" in raw:
        return normalize_email(raw)
    return None
