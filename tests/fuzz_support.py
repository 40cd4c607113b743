"""What the two schema-driven fuzz runs share (tests/test_openapi_fuzz.py: the schema and
the server agree; tests/integration/test_schema_fuzz.py: any input, and tenant isolation):
the schema loaded through the application, the checks, the tenant's own identifiers that
path parameters are pointed at, and requests run inside the test's transaction."""

from __future__ import annotations

import pytest
import schemathesis

# Only these: what the server answers must be what the schema describes.
CHECKS = {
    "enabled": False,
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
    "response_headers_conformance": {"enabled": True},
}
IDENTITY = "fuzz-user-0001"


def load_schema(*, generation: dict, phases: dict):
    """The schema read through the application itself (the schema view needs no database);
    each generated test then runs in its own database transaction."""
    from verify_platform.wsgi import application

    config = schemathesis.Config.from_dict(
        {"generation": {"deterministic": True, **generation}, "phases": phases, "checks": CHECKS}
    )
    return schemathesis.openapi.from_wsgi("/openapi.json", application, config=config)


@pytest.fixture
def owned(tenant, service) -> dict[str, str]:
    """Real identifiers of the fuzzing tenant, keyed by the collection before a path
    parameter: requests pointed at them are judged by the forms, not stopped at a 404."""
    from tests.helpers import tenant_resources

    return tenant_resources(service, identity=IDENTITY)


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


def point_at(case, owned: dict[str, str]) -> None:
    """Point the case's path parameters at the tenant's own resources, where it has one of
    that collection."""
    for name in list(case.path_parameters or {}):
        segments = case.path.strip("/").split("/")
        collection = segments[segments.index("{" + name + "}") - 1]
        if collection in owned:
            case.path_parameters[name] = owned[collection]
