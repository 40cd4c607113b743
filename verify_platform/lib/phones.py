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


def normalize_phone(raw: str) -> str | None:
    """The E.164 form of a valid phone number, or None."""
    if not raw.isascii() or not _PHONE_SHAPE.fullmatch(raw):
        return None  # before the cache: only short, number-shaped text is kept
    return _facts(raw)[0]


def is_landline(e164: str) -> bool:
    """True only when phonenumbers can tell (in NANP it often cannot: FIXED_LINE_OR_MOBILE)."""
    return _facts(e164)[1]


@functools.lru_cache(maxsize=4096)
def _facts(text: str) -> tuple[str | None, bool]:
    """(the E.164 form if `text` is a valid number without extension, whether phonenumbers
    types it a landline), from one parse and one typing.

    phonenumbers costs more than the rest of a Verification's form: `is_valid_number` and
    `number_type` each find the number's region and type it again, and a create asks both
    of the same `To`. A number is valid exactly when its type is known (both are that one
    typing against the region's metadata; tests/lib/test_phones.py holds phonenumbers to
    it). The library is pure and its metadata fixed for the process, so results are cached
    per process, bounded; the `To` of a check was usually typed by its create.
    """
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None, False
    kind = phonenumbers.number_type(number)
    landline = kind == phonenumbers.PhoneNumberType.FIXED_LINE
    if number.extension or kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None, landline
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), landline


def mask_phone(e164: str) -> str:
    """Enough to recognise one's own number (+1******0100), not enough to learn it: after
    creation a phone number is only ever shown like this."""
    keep_head, keep_tail = 2, 4
    hidden = max(len(e164) - keep_head - keep_tail, 0)
    return e164[:keep_head] + "*" * hidden + e164[keep_head + hidden :]
