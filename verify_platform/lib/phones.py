"""Phone numbers: parsing to E.164 through phonenumbers, and the masked form shown after
creation.

Lives in `lib` (no models) so that the Verifications API (`challenges`) and phone factors
(`factors`) apply the same rules without `factors` importing `challenges`.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

PHONE_CHANNELS = ("sms", "whatsapp", "call")
TEXT_CHANNELS = ("sms", "whatsapp")  # need a mobile: a landline cannot receive them
# A leading +, then digits with the usual separators; phonenumbers would also accept letters
# (vanity numbers), extensions and non-ASCII digits, none of which belongs in a To.
_PHONE_SHAPE = re.compile(r"\+[0-9][0-9 ().-]{2,24}")


# Parsing a number costs more than the rest of a Verification's form, and the same numbers
# come back (`To` of a create, then of its check; the E.164 form the landline test re-reads).
# phonenumbers is pure, its metadata fixed for the process, so results are cached per
# process, bounded. The cached numbers are never handed out: PhoneNumber is mutable.
_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parsed(text: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None


def normalize_phone(raw: str) -> str | None:
    """The E.164 form of a valid phone number, or None."""
    if not raw.isascii() or not _PHONE_SHAPE.fullmatch(raw):
        return None  # before the cache: only short, number-shaped text is kept
    return _e164(raw)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _e164(raw: str) -> str | None:
    number = _parsed(raw)
    if number is None or number.extension or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def is_landline(e164: str) -> bool:
    """True only when phonenumbers can tell (in NANP it often cannot: FIXED_LINE_OR_MOBILE)."""
    number = _parsed(e164)
    if number is None:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


def mask_phone(e164: str) -> str:
    """Enough to recognise one's own number (+1******0100), not enough to learn it: after
    creation a phone number is only ever shown like this."""
    keep_head, keep_tail = 2, 4
    hidden = max(len(e164) - keep_head - keep_tail, 0)
    return e164[:keep_head] + "*" * hidden + e164[keep_head + hidden :]
