"""Phone numbers: parsing to E.164 through phonenumbers, and the masked form shown after
creation.

Lives in `lib` (no models) so that the Verifications API (`challenges`) and phone factors
(`factors`) apply the same rules without `factors` importing `challenges`.
"""

from __future__ import annotations

import re

import phonenumbers

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


def mask_phone(e164: str) -> str:
    """Enough to recognise one's own number (+1******0100), not enough to learn it: after
    creation a phone number is only ever shown like this."""
    keep_head, keep_tail = 2, 4
    hidden = max(len(e164) - keep_head - keep_tail, 0)
    return e164[:keep_head] + "*" * hidden + e164[keep_head + hidden :]
