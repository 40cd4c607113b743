"""Phone numbers: parsing to E.164 through phonenumbers, the kind of destination a number
is (ordinary, or a special range that toll fraud uses), and the masked form shown after
creation.

Lives in `lib` (no models) so that the Verifications API (`challenges`) and phone factors
(`factors`) apply the same rules without `factors` importing `challenges`.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import carrier

PHONE_CHANNELS = ("sms", "whatsapp", "call")
TEXT_CHANNELS = ("sms", "whatsapp")  # need a mobile: a landline cannot receive them
# A leading +, then digits with the usual separators; phonenumbers would also accept letters
# (vanity numbers), extensions and non-ASCII digits, none of which belongs in a To.
# What a schema can publish of a valid number: E.164's shape (a regex cannot say which
# ranges a numbering plan assigns; `normalize_phone` decides that).
E164_PATTERN = r"\+[1-9][0-9]{6,14}"
_PHONE_SHAPE = re.compile(r"\+[0-9][0-9 ().-]{2,24}")
_E164_MAX_LENGTH = 16  # "+" and at most 15 digits (ITU-T E.164)

# Special destinations, refused by default (`limits.special`): a code sent to one of them
# earns its holder money (premium rate, shared cost) or reaches no person the tenant can
# know (pagers, voicemail access, personal and universal access numbers that forward
# anywhere, satellite and other non-geographic networks billed at international rates).
# Keys are what an account lists in `Account.allowed_special_numbers`.
SPECIAL_NUMBER_TYPES: dict[str, str] = {
    "premium_rate": "premium rate",
    "shared_cost": "shared cost",
    "uan": "universal access (UAN)",
    "personal_number": "personal number",
    "pager": "pager",
    "voicemail": "voicemail access",
    "satellite": "satellite (+870, +881)",
    "international_network": "international network (+882, +883 and other non-geographic)",
    "international_freephone": "international freephone (+800)",
}
_SPECIAL_BY_TYPE = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium_rate",
    phonenumbers.PhoneNumberType.SHARED_COST: "shared_cost",
    phonenumbers.PhoneNumberType.UAN: "uan",
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    phonenumbers.PhoneNumberType.PAGER: "pager",
    phonenumbers.PhoneNumberType.VOICEMAIL: "voicemail",
}
# Non-geographic country codes (phonenumbers' region "001") that no type above covers:
# +800 is typed TOLL_FREE and +870, +881 MOBILE, yet the caller pays international rates.
# +878 is ITU's Universal Personal Telecommunications. Any other non-geographic code (one
# phonenumbers learns later included) counts as an international network.
_SPECIAL_BY_CODE = {
    800: "international_freephone",
    870: "satellite",
    881: "satellite",
    878: "personal_number",
}
_NON_GEOGRAPHIC = frozenset(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)


def normalize_phone(raw: str) -> str | None:
    """The E.164 form of a valid phone number, or None."""
    if not raw.isascii() or not _PHONE_SHAPE.fullmatch(raw):
        return None  # before the cache: only short, number-shaped text is kept
    return _facts(raw)[0]


def is_landline(e164: str) -> bool:
    """True only when phonenumbers can tell (in NANP it often cannot: FIXED_LINE_OR_MOBILE)."""
    return _facts(e164)[1]


def special_type(e164: str) -> str | None:
    """The `SPECIAL_NUMBER_TYPES` key of a valid number's range, or None for an ordinary
    number (and for anything that is not a valid number)."""
    return _facts(e164)[2]


@functools.lru_cache(maxsize=1024)
def region_of(e164: str) -> str | None:
    """The ISO 3166 alpha-2 region of a valid number (its area code tells +1 and +7 apart),
    "001" for a non-geographic code, None for anything else. Costs a search of the calling
    code's regions: asked only where the exact country matters (Lookup, a Messaging Service
    per country), not on every start (`calling_region`)."""
    if not _facts(e164)[0]:
        return None
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164))


def calling_region(e164: str) -> str | None:
    """The main region of a valid number's calling code (+1 is US, +44 GB, +7 RU): a
    table look-up, enough to choose the language of a message."""
    valid, _, _, code, _ = _facts(e164)
    return phonenumbers.region_code_for_country_code(code) if valid else None


def line_type(e164: str) -> str | None:
    """Lookup's line type of a valid number from phonenumbers' offline metadata: `mobile`,
    `landline`, `fixedVoip`... as Twilio Lookup names them (None when unknown)."""
    valid, _, _, _, kind = _facts(e164)
    return _LINE_TYPES.get(kind) if valid else None


@functools.lru_cache(maxsize=1024)
def carrier_name(e164: str) -> str | None:
    """The carrier phonenumbers' offline data names for a mobile range (the range's original
    network: a ported number keeps it), None when it names none."""
    if not _facts(e164)[0]:
        return None
    return carrier.name_for_number(phonenumbers.parse(e164), "en") or None


_LINE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "landline",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixedOrMobile",
    phonenumbers.PhoneNumberType.VOIP: "nonFixedVoip",
    phonenumbers.PhoneNumberType.TOLL_FREE: "tollFree",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium",
    phonenumbers.PhoneNumberType.SHARED_COST: "sharedCost",
    phonenumbers.PhoneNumberType.UAN: "uan",
    phonenumbers.PhoneNumberType.VOICEMAIL: "voicemail",
    phonenumbers.PhoneNumberType.PAGER: "pager",
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "personal",
}


def _special(number: phonenumbers.PhoneNumber, kind: int) -> str | None:
    special = _SPECIAL_BY_TYPE.get(kind)
    if special is None and number.country_code in _NON_GEOGRAPHIC:
        special = _SPECIAL_BY_CODE.get(number.country_code, "international_network")
    return special


@functools.lru_cache(maxsize=4096)
def _facts(text: str) -> tuple[str | None, bool, str | None, int, int]:
    """(the E.164 form if `text` is a valid number without extension, whether phonenumbers
    types it a landline, its special type if any, its country calling code, its
    `PhoneNumberType`), from one parse and one typing.

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
        return None, False, None, 0, phonenumbers.PhoneNumberType.UNKNOWN
    kind = phonenumbers.number_type(number)
    landline = kind == phonenumbers.PhoneNumberType.FIXED_LINE
    code = number.country_code or 0
    if number.extension or kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None, landline, None, code, kind
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > _E164_MAX_LENGTH:  # phonenumbers' metadata allows a few longer ones
        return None, landline, None, code, kind
    return e164, landline, _special(number, kind), code, kind


def mask_phone(e164: str) -> str:
    """Enough to recognise one's own number (+1******0100), not enough to learn it: after
    creation a phone number is only ever shown like this."""
    keep_head, keep_tail = 2, 4
    hidden = max(len(e164) - keep_head - keep_tail, 0)
    return e164[:keep_head] + "*" * hidden + e164[keep_head + hidden :]
