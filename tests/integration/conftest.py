"""Fixtures of the cross-feature tests."""

from __future__ import annotations

import pytest

from tests.helpers import form, tenant_resources
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
    from services.domain import service_create

    service = service_create(account=tenant.account, friendly_name="Tenant A login")
    found = tenant_resources(
        service,
        identity=IDENTITY,
        phone_number=TENANT_A_NUMBER,
        country=TENANT_A_COUNTRY,
        messaging_service_sid=MESSAGING_SERVICE_SID,
    )
    created = form(api, f"/v2/Services/{service.sid}/Verifications", BODIES["CreateVerification"])
    verification = created.json()["sid"] if created.status_code == 201 else None
    sent = created.json().get("send_code_attempts") if created.status_code == 201 else None
    attempt = sent[0]["attempt_sid"] if sent else None
    # Form types are global, not tenant A's (schema_ops.NOT_CREATABLE_YET).
    return {**found, "Forms": None, "Verifications": verification, "Attempts": attempt}
