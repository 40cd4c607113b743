"""Schema-driven fuzzing of every operation in `/openapi.json` (SECURITY.md section 4).

schemathesis generates requests from our own OpenAPI document and sends them in-process to
the Django WSGI application, authenticated as a tenant that owns a service (so requests get
past the 404 of an unknown service and reach the forms). Checks: never a 5xx, and status
code, content type and body conform to the schema where it describes them. Examples are
bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz_support import in_process_requests, load_schema, owned, point_at  # noqa: F401

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12

schema = load_schema(
    generation={"mode": "all", "max-examples": MAX_EXAMPLES},
    phases={"examples": {"enabled": True}, "coverage": {"enabled": False}},
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_fuzz_every_operation(case, tenant, owned, in_process_requests):  # noqa: F811 (imported fixtures)
    # Deletes keep their generated (unknown) identifiers so that the tenant's resources
    # stay for the other operations; everything else addresses the tenant's own resources.
    if case.method.upper() != "DELETE":
        point_at(case, owned)
    case.call_and_validate(headers={"Authorization": tenant.basic()})


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_fuzz_as_another_tenant_with_the_owners_ids(
    case,
    tenant,
    other_tenant,
    owned,  # noqa: F811 (an imported fixture)
    in_process_requests,  # noqa: F811 (an imported fixture)
):
    """SECURITY.md R17: authenticated as tenant B with tenant A's identifiers in every path
    parameter, nothing succeeds and nothing of A's changes, whatever the body."""
    from tests.integration.schema_ops import snapshot

    before = snapshot(tenant.account)
    point_at(case, owned)
    response = case.call_and_validate(headers={"Authorization": other_tenant.basic()})
    # Forms are global (the same for every account): their path names no tenant's resource.
    if case.path_parameters and not case.path.startswith("/v2/Forms/"):
        assert response.status_code in (400, 401, 404, 413), response.status_code
    assert snapshot(tenant.account) == before
