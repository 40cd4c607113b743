"""Fixtures of the cross-feature tests."""

from __future__ import annotations

import pytest

from tests.helpers import form
from tests.integration.schema_ops import (
    BODIES,
    IDENTITY,
    MESSAGING_SERVICE_SID,
    TENANT_A_COUNTRY,
    TENANT_A_NUMBER,
)


@pytest.fixture
def tenant_a_resources(tenant, api) -> dict[str, str | None]:
    """Tenant A's service, entity, verified factor, pending challenge, webhook, rate limit,
    bucket, Safe List number, messaging configuration, verification and its first delivery attempt, keyed by collection; None for kinds that could not be
    created."""
    from challenges.domain import challenge_create
    from limits.domain import bucket_create, rate_limit_create, safe_list_number_create
    from services.domain import service_create
    from services.messaging_domain import messaging_configuration_create
    from services.webhooks.domain import webhook_create
    from tests.factors.conftest import make_verified_factor

    service = service_create(account=tenant.account, friendly_name="Tenant A login")
    factor, _ = make_verified_factor(service, identity=IDENTITY)
    challenge = challenge_create(factor=factor, details_message="Login from Paris")
    webhook, _ = webhook_create(
        service=service,
        friendly_name="A's backend",
        event_types=["*"],
        webhook_url="https://tenant-a.example/hook",
    )
    rate_limit = rate_limit_create(service=service, unique_name="phone_number")
    bucket = bucket_create(rate_limit=rate_limit, max=10, interval=3600)
    number = safe_list_number_create(account=tenant.account, phone_number=TENANT_A_NUMBER)
    configuration = messaging_configuration_create(
        service=service, country=TENANT_A_COUNTRY, messaging_service_sid=MESSAGING_SERVICE_SID
    )
    created = form(api, f"/v2/Services/{service.sid}/Verifications", BODIES["CreateVerification"])
    verification = created.json()["sid"] if created.status_code == 201 else None
    sent = created.json().get("send_code_attempts") if created.status_code == 201 else None
    attempt = sent[0]["attempt_sid"] if sent else None
    return {
        "Services": service.sid,
        "Entities": IDENTITY,
        "Factors": factor.sid,
        "Challenges": challenge.sid,
        "Webhooks": webhook.sid,
        "Verifications": verification,
        "Attempts": attempt,
        "RateLimits": rate_limit.sid,
        "Buckets": bucket.sid,
        "Numbers": number.phone_number,
        "MessagingConfigurations": configuration.country,
    }
