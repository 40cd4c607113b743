"""Schema-driven fuzzing of every operation in `/openapi.json` (SECURITY.md section 4).

schemathesis generates requests from our own OpenAPI document and sends them in-process to
the Django WSGI application, authenticated as a tenant that owns a service (so requests get
past the 404 of an unknown service and reach the forms). Checks: never a 5xx, and status
code, content type and body conform to the schema where it describes them. Examples are
bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12
CHECKS = {
    "enabled": False,  # only these: requests that the schema calls valid may still be refused
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
    "response_headers_conformance": {"enabled": True},
}


@pytest.fixture
def owned(tenant, service):
    """Real identifiers of the fuzzing tenant: path parameters point at them, so generated
    bodies are judged by the forms rather than stopped at a 404."""
    from challenges.domain import challenge_create
    from services.webhooks.domain import webhook_create
    from tests.factors.conftest import make_verified_factor

    factor, _ = make_verified_factor(service, identity="fuzz-user-0001")
    challenge = challenge_create(factor=factor)
    webhook, _ = webhook_create(
        service=service,
        friendly_name="Fuzz",
        event_types=["*"],
        webhook_url="https://fuzz.example/hook",
    )
    return {
        "Services": service.sid,
        "Entities": "fuzz-user-0001",
        "Factors": factor.sid,
        "Challenges": challenge.sid,
        "Webhooks": webhook.sid,
    }


def load_schema():
    """Loaded once at collection, through the application itself (the schema view needs
    no database); each generated test then runs in its own database transaction."""
    from verify_platform.wsgi import application

    config = schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
            "phases": {"examples": {"enabled": True}, "coverage": {"enabled": False}},
            "checks": CHECKS,
        }
    )
    return schemathesis.openapi.from_wsgi("/openapi.json", application, config=config)


schema = load_schema()


@pytest.fixture
def in_process_requests():
    """Requests run inside the test's transaction, as with Django's test client: Django
    would otherwise close the connection (and with it the transaction) around each one."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _collection_before(path: str, name: str) -> str:
    segments = path.strip("/").split("/")
    return segments[segments.index("{" + name + "}") - 1]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_fuzz_every_operation(case, tenant, owned, in_process_requests):
    # Deletes keep their generated (unknown) identifiers so that the tenant's resources
    # stay for the other operations; everything else addresses the tenant's own resources.
    if case.method.upper() != "DELETE":
        for name in list(case.path_parameters or {}):
            collection = _collection_before(case.path, name)
            if collection in owned:
                case.path_parameters[name] = owned[collection]
    case.call_and_validate(headers={"Authorization": tenant.basic()})


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_fuzz_as_another_tenant_with_the_owners_ids(
    case, tenant, other_tenant, owned, in_process_requests
):
    """SECURITY.md R17: authenticated as tenant B with tenant A's identifiers in every path
    parameter, nothing succeeds and nothing of A's changes, whatever the body."""
    from tests.integration.schema_ops import snapshot

    before = snapshot(tenant.account)
    for name in list(case.path_parameters or {}):
        collection = _collection_before(case.path, name)
        if collection in owned:
            case.path_parameters[name] = owned[collection]
    response = case.call_and_validate(headers={"Authorization": other_tenant.basic()})
    if case.path_parameters:
        assert response.status_code in (400, 401, 404, 413), response.status_code
    assert snapshot(tenant.account) == before
