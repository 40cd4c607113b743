"""Reads of a Service's MessagingConfigurations, and the sender choice for one SMS."""

from __future__ import annotations

import phonenumbers
from django.db.models import QuerySet

from services.message_models import ALL_COUNTRIES
from services.models import Account, MessagingConfiguration, Service
from verify_platform.lib.errors import NotFound


def country_key(value: str) -> str | None:
    """How `value` (any case) is stored: an ISO 3166-1 alpha-2 code that has phone numbers
    (`phonenumbers.SUPPORTED_REGIONS`, the regions a destination can resolve to) upper-case,
    or `all`; None when it is neither."""
    if not isinstance(value, str):
        return None
    if value.lower() == ALL_COUNTRIES:
        return ALL_COUNTRIES
    upper = value.upper()
    return upper if upper in phonenumbers.SUPPORTED_REGIONS else None


def messaging_configuration_get(
    *, account: Account, service_sid: str, country: str
) -> MessagingConfiguration:
    """One query; another tenant's Service, a country without a configuration and a value
    that is no country at all are the same 404."""
    key = country_key(country)
    found = (
        MessagingConfiguration.objects.filter(
            account=account, service_id=service_sid, country=key
        ).first()
        if key
        else None
    )
    if found is None:
        raise NotFound()
    return found


def messaging_configuration_list(*, service: Service) -> QuerySet[MessagingConfiguration]:
    return MessagingConfiguration.objects.filter(service=service)


def messaging_service_for(*, service_id: str, region: str | None) -> str | None:
    """The Messaging Service SID an SMS of this Service to a number in `region` (ISO 3166-1
    alpha-2, as `phonenumbers.region_code_for_number` gives it; None when unknown) goes out
    through: the region's own configuration, else the `all` one, else None (the adapter's
    configured sender). One query on the (service, country) unique index."""
    country = region.upper() if region else ALL_COUNTRIES
    found = dict(
        MessagingConfiguration.objects.filter(
            service_id=service_id, country__in=(country, ALL_COUNTRIES)
        ).values_list("country", "messaging_service_sid")
    )
    return found.get(country) or found.get(ALL_COUNTRIES)
