"""Geo permissions: the countries this installation sends codes to.

SMS pumping and toll fraud live on premium ranges of a few countries; a service whose users
live in three countries has no reason to send anywhere else. `VERIFY_ALLOWED_COUNTRIES` lists
ISO 3166 alpha-2 codes (empty: every country). A start to another country is refused before
anything is written, counted or sent: 403 with Twilio's code for Verify Geo Permissions.
Email destinations are not phone numbers and are not judged.

A number in the account's Safe List (`limits.models.SafeListNumber`) is never refused here,
as Twilio's Safe List is never blocked by Geo Permissions. The list is read only for a
number that would otherwise be refused: starts to allowed countries never query it.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings

from limits import queries
from limits.errors import DestinationCountryBlocked


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


def destination_country_permit(*, to: str, account_id: str) -> None:
    """Raise DestinationCountryBlocked unless `to` (E.164) is in an allowed country or in the
    Safe List of account `account_id`; the Safe List is read only for a refusal."""
    if country_allowed(to):
        return
    if not queries.safe_list_contains(account_id=account_id, phone_number=to):
        raise DestinationCountryBlocked()
