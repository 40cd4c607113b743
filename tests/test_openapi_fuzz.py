"""The schema and the server agree: positive schema-driven fuzzing of every operation.

schemathesis reads `/openapi.json` from the application and generates, for every operation,
requests the schema calls valid (positive mode only), sends them in-process to the WSGI
application authenticated as a tenant with a fresh service, and checks each answer:

- never a 5xx, and status, content type, headers and body conform to the schema;
- never a 400 for a request the schema calls valid: a 400 means the schema allowed what
  the server refuses (a pattern, a length, an enum or a JSON shape the schema does not say).
  The few refusals that depend on state rather than on the request's shape, on how
  parameters combine, or on which numbers a numbering plan assigns are listed in
  tests/openapi_support.py, each with its reason.

Answers that depend on state are fine: 404 (a generated identifier that names nothing),
403, 409 and 429 (a send limit reached: operations that send messages share one fresh
service per test, so their limits are hit deterministically, never flakily).

The run is bounded: VERIFY_FUZZ_EXAMPLES examples per operation (default 5) and at most
VERIFY_FUZZ_SECONDS seconds in all (default 30); after that, remaining examples are drawn
but not sent. Generation is deterministic (derandomized), so a failure reproduces.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.fuzz_support import in_process_requests, load_schema, owned, point_at  # noqa: F401
from tests.openapi_support import excused, json_text

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("VERIFY_FUZZ_EXAMPLES", "5"))
BUDGET_SECONDS = float(os.environ.get("VERIFY_FUZZ_SECONDS", "30"))

_started: list[float] = []


@schemathesis.check
def schema_and_server_agree(ctx, response, case) -> bool | None:
    """A request the schema calls valid is not refused for its shape (400)."""
    if response.status_code != 400:
        return None
    body = response.json()
    operation_id = case.operation.definition.raw.get("operationId", "")
    if excused(operation_id, body.get("code"), body.get("message", "")):
        return None
    raise AssertionError(
        f"The schema allows what the server refuses: {body.get('message')!r} "
        f"(code {body.get('code')}) for {case.method} {case.formatted_path} "
        f"query={case.query!r} body={case.body!r}"
    )


schema = load_schema(
    generation={"mode": "positive", "max-examples": MAX_EXAMPLES, "allow-x00": True},
    phases={
        "examples": {"enabled": False},
        "coverage": {"enabled": False},
        "stateful": {"enabled": False},
    },
)
FORM = "application/x-www-form-urlencoded"


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = schema.raw_schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


@schema.hook("flatmap_body")
def json_parameters_from_their_content_schema(context, body):
    if not isinstance(body, dict):
        return st.just(body)
    request = context.operation.definition.raw.get("requestBody", {})
    form = _resolve(request.get("content", {}).get(FORM, {}).get("schema", {}))
    properties = form.get("properties", {})
    drawn = {
        name: json_text(_resolve(properties[name]), _resolve) for name in body if name in properties
    }
    drawn = {name: strategy for name, strategy in drawn.items() if strategy is not None}
    if not drawn:
        return st.just(body)
    return st.fixed_dictionaries(drawn).map(lambda values: {**body, **values})


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_schema_and_the_server_agree(case, tenant, owned, in_process_requests):  # noqa: F811 (imported fixtures)
    if not _started:
        _started.append(time.monotonic())
    if time.monotonic() - _started[0] > BUDGET_SECONDS:
        return  # the run's budget is spent: later examples are drawn but not sent
    # Deletes keep their generated (unknown) identifiers so that the tenant's resources stay
    # for the other operations; everything else addresses the tenant's own resources.
    if case.method.upper() != "DELETE":
        point_at(case, owned)
    case.call_and_validate(
        headers={"Authorization": tenant.basic()}, additional_checks=[schema_and_server_agree]
    )
