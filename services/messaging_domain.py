"""Writes to a Service's MessagingConfigurations (Twilio's resource keyed by `Country`)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from services.models import MessagingConfiguration, Service
from verify_platform.lib import clock
from verify_platform.lib.errors import VerifyError


class MessagingConfigurationExists(VerifyError):
    """Twilio's 60213: the country is configured already; the tenant updates it instead."""

    status, code = 400, 60213
    default_message = "A Messaging Configuration already exists for the given country"


def messaging_configuration_create(
    *, service: Service, country: str, messaging_service_sid: str
) -> MessagingConfiguration:
    """`country` as `messaging_queries.country_key` stored it. A second configuration for
    the same country is refused (also when two requests race: the unique constraint)."""
    try:
        with transaction.atomic():
            return MessagingConfiguration.objects.create(
                account_id=service.account_id,
                service=service,
                country=country,
                messaging_service_sid=messaging_service_sid,
            )
    except IntegrityError:
        if MessagingConfiguration.objects.filter(service=service, country=country).exists():
            raise MessagingConfigurationExists() from None
        raise


def messaging_configuration_update(
    *, configuration: MessagingConfiguration, messaging_service_sid: str
) -> MessagingConfiguration:
    configuration.messaging_service_sid = messaging_service_sid
    configuration.date_updated = clock.current_time()
    MessagingConfiguration.objects.filter(pk=configuration.pk).update(
        messaging_service_sid=messaging_service_sid, date_updated=configuration.date_updated
    )
    return configuration


def messaging_configuration_delete(*, configuration: MessagingConfiguration) -> None:
    configuration.delete()
