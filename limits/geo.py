"""Geo permissions: the countries this installation sends codes to.

SMS pumping and toll fraud live on premium ranges of a few countries; a service whose users
live in three countries has no reason to send anywhere else. `VERIFY_ALLOWED_COUNTRIES` lists
ISO 3166 alpha-2 codes (empty: every country). A start to another country is refused before
anything is written, counted or sent: 403 with Twilio's code for Verify Geo Permissions.
Email destinations are not phone numbers and are not judged.

`limits.special.destination_permit` applies this rule together with the special-number rule:
a number in the account's Safe List (`limits.models.SafeListNumber`) is never refused, as
Twilio's Safe List is never blocked by Geo Permissions, and the list is read only for a
number that would otherwise be refused.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings


def allowed_countries() -> frozenset[str]:
    return frozenset(c.upper() for c in getattr(settings, "VERIFY_ALLOWED_COUNTRIES", ()))


def country_allowed(to: str) -> bool:
    """Whether `to` (E.164) is in an allowed country, Safe List aside. With no list
    configured the number is not even parsed (the common case costs nothing)."""
    allowed = allowed_countries()
    if not allowed:
        return True
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(to))
    except phonenumbers.NumberParseException:
        region = None
    return region in allowed
