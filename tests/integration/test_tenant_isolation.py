"""Tenant isolation over every operation of the OpenAPI schema (SECURITY.md R16, R17).

The operations are read from `/openapi.json`, so a route added later is covered without
touching this file (see tests/integration/schema_ops.py for how identifiers are resolved,
and NOT_CREATABLE_YET there for the kinds only tried with random identifiers).
"""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

from services.models import Service, Webhook
from tests.conftest import api_client
from tests.helpers import assert_twilio_error
from tests.integration.schema_ops import (
    BODIES,
    KINDS,
    NOT_CREATABLE_YET,
    call,
    operations,
    schema,
    schema_body,
    snapshot,
)

pytestmark = pytest.mark.django_db


def normalized(response, path: str) -> tuple:
    """Status, headers that matter, and the body with the request path taken out."""
    return (
        response.status_code,
        response["Content-Type"],
        sorted(name.lower() for name in response.headers if name.lower() != "x-request-id"),
        response.content.replace(path.encode(), b"<path>"),
    )


def test_every_operation_answers_another_tenants_ids_like_random_ones(
    tenant, other_tenant, api, other_api, tenant_a_resources
):
    spec = schema()
    ids = tenant_a_resources
    missing = {kind for kind, value in ids.items() if value is None}
    assert missing <= set(NOT_CREATABLE_YET), missing
    for kind in ("Services", "Entities", "Factors", "Challenges", "Webhooks"):
        assert ids[kind] is not None, kind
    if ids["Verifications"] is not None:  # a sent verification has its attempt
        assert ids["Attempts"] is not None

    with_params = [op for op in operations(spec) if op.params]
    unknown = {collection for op in with_params for _, collection in op.params} - set(KINDS)
    assert not unknown, f"add these collections to KINDS (and a resource for them): {unknown}"

    fetchable = [
        op
        for op in with_params
        if op.method == "get" and all(ids[c] is not None for _, c in op.params)
    ]
    before_rows = snapshot(tenant.account)
    before_bodies = {}
    for op in fetchable:
        response = api.get(op.url({n: ids[c] for n, c in op.params}))
        assert response.status_code == 200, (str(op), response.content[:300])
        before_bodies[str(op)] = response.json()

    tried = 0
    for op in with_params:
        body = BODIES.get(op.operation_id, schema_body(spec, op))
        body = {k: (ids["Factors"] if v == "{factor}" else v) for k, v in body.items()}
        theirs = {n: ids[c] or KINDS[c].random() for n, c in op.params}
        never = {n: KINDS[c].random() for n, c in op.params}
        reference_path = op.url(never)
        reference = call(other_api, op, reference_path, body)
        assert_twilio_error(reference, 404, 20404)
        expected = normalized(reference, reference_path)

        # Tenant B with all of A's identifiers, then with each one replaced by a random one
        # of the same shape; tenant A itself with identifiers that never existed.
        variants = [(other_api, theirs)]
        for name, collection in op.params:
            variants.append((other_api, {**theirs, name: KINDS[collection].random()}))
        variants.append((api, never))
        for client, values in variants:
            path = op.url(values)
            response = call(client, op, path, body)
            assert_twilio_error(response, 404, 20404)
            assert normalized(response, path) == expected, (str(op), path)
            tried += 1
    assert tried >= 3 * len(with_params)

    # Nothing tenant B sent changed, created or counted anything of A's.
    assert snapshot(tenant.account) == before_rows
    for op in fetchable:
        response = api.get(op.url({n: ids[c] for n, c in op.params}))
        assert response.json() == before_bodies[str(op)], str(op)
    assert not Service.objects.filter(account=other_tenant.account).exists()
    assert not Webhook.objects.filter(account=other_tenant.account).exists()


def test_lists_never_show_another_tenants_rows(api, other_api, tenant_a_resources):
    spec = schema()
    lists = [op for op in operations(spec) if op.method == "get" and not op.params]
    assert "/v2/Services" in {op.path for op in lists}
    ours = [v for v in tenant_a_resources.values() if v is not None]
    for op in lists:
        mine, theirs = api.get(op.path), other_api.get(op.path)
        assert mine.status_code == theirs.status_code == 200, str(op)
        for value in ours:
            assert value not in theirs.content.decode(), (str(op), value)
    # The owner does see them, so the check above can fail.
    assert tenant_a_resources["Services"] in api.get("/v2/Services").content.decode()


def test_every_operation_without_valid_credentials_is_401(tenant, tenant_a_resources):
    spec = schema()
    ops = operations(spec)
    ids = tenant_a_resources
    anonymous, wrong = api_client(None), APIClient()
    raw = f"{tenant.sid}:{'0' * len(tenant.auth_token)}".encode()
    wrong.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode())
    bodies = set()
    for op in ops:
        body = BODIES.get(op.operation_id, schema_body(spec, op))
        real = op.url({n: ids[c] or KINDS[c].random() for n, c in op.params})
        never = op.url({n: KINDS[c].random() for n, c in op.params})
        for client in (anonymous, wrong):
            for path in (real, never):
                response = call(client, op, path, body)
                error = assert_twilio_error(response, 401, 20003)
                assert response["WWW-Authenticate"].startswith("Basic"), str(op)
                bodies.add(tuple(sorted(error.items())))
    assert len(bodies) == 1, bodies  # one body for every operation and fault
