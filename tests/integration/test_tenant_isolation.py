"""Tenant isolation over every operation of the OpenAPI schema (SECURITY.md R16, R17).

The operations are read from `/openapi.json`, so a route added later is covered without
touching this file. Each path parameter is resolved from the collection segment before it
(`Services/{service_sid}` is a service, `Factors/{sid}` a factor); a collection missing from
KINDS fails the test, so a new kind of identifier cannot slip through unchecked.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from services.models import Event, Service, Webhook, WebhookDelivery
from tests.conftest import api_client
from tests.helpers import assert_twilio_error, form
from verify_platform.lib import sids

pytestmark = pytest.mark.django_db

IDENTITY = "tenant-a-user-0001"
METHODS = ("get", "post", "delete", "put", "patch")


@dataclass(frozen=True)
class Kind:
    """How an identifier of one collection looks; `random()` gives one that never existed."""

    prefix: str | None  # SID prefix, or None for identities

    def random(self) -> str:
        if self.prefix is None:
            return "user-" + secrets.token_hex(8)
        return sids.new_sid(self.prefix)


# The collection segment before a path parameter -> the shape of its identifiers.
KINDS: dict[str, Kind] = {
    "Services": Kind("VA"),
    "Entities": Kind(None),
    "Factors": Kind("YF"),
    "Challenges": Kind("YC"),
    "Webhooks": Kind("YW"),
    "Verifications": Kind("VE"),
    "Attempts": Kind("VL"),
}

# Kinds whose resources this test cannot create (yet). Their operations are still called as
# tenant B under tenant A's real parents, with a random SID in their place; they are listed
# here so that a gap is visible rather than silent.
NOT_CREATABLE_YET: dict[str, str] = {
    "Verifications": "created through POST .../Verifications when a channel accepts it; "
    "otherwise only random VE SIDs under A's service are tried",
    "Attempts": "delivery attempts are not created through the API",
}

# Request bodies that would be valid for tenant A, so that an answer other than 404 could
# only come from reaching A's resource. Operations not listed get their schema's required
# fields (see `schema_body`).
BODIES: dict[str, dict[str, Any]] = {
    "UpdateService": {"FriendlyName": "Taken over"},
    "CreateEntity": {"Identity": "tenant-b-user-0001"},
    "CreateNewFactor": {"FriendlyName": "Intruder", "FactorType": "totp"},
    "UpdateFactor": {"FriendlyName": "Intruder", "AuthPayload": "000000"},
    "CreateChallenge": {"FactorSid": "{factor}", "AuthPayload": "000000"},
    "UpdateChallenge": {"AuthPayload": "000000"},
    "CreateWebhook": {
        "FriendlyName": "Intruder",
        "EventTypes": ["*"],
        "WebhookUrl": "https://attacker.example/hook",
    },
    "UpdateWebhook": {"WebhookUrl": "https://attacker.example/hook", "Status": "enabled"},
    "CreateVerification": {"To": "+14155550100", "Channel": "sms"},
    "UpdateVerification": {"Status": "canceled"},
    "CreateVerificationCheck": {"To": "+14155550100", "Code": "123456"},
}


def schema() -> dict:
    response = APIClient().get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the schema's template
    operation_id: str
    spec: dict

    @property
    def params(self) -> list[tuple[str, str]]:
        """(parameter name, collection) in path order."""
        segments = self.path.strip("/").split("/")
        out = []
        for i, segment in enumerate(segments):
            match = re.fullmatch(r"\{(\w+)\}", segment)
            if match:
                out.append((match.group(1), segments[i - 1]))
        return out

    def url(self, values: dict[str, str]) -> str:
        path = self.path
        for name, _ in self.params:
            path = path.replace("{" + name + "}", values[name])
        return path

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} ({self.operation_id})"


def operations(spec: dict) -> list[Operation]:
    ops = [
        Operation(method, path, item.get("operationId", ""), item)
        for path, methods in spec["paths"].items()
        for method, item in methods.items()
        if method in METHODS
    ]
    assert len(ops) >= 20, "the schema lost its operations"
    return ops


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        node = spec["components"]["schemas"][name]
    return node


def schema_body(spec: dict, op: Operation) -> dict[str, Any]:
    """The required fields of an operation's form, with plausible values."""
    content = op.spec.get("requestBody", {}).get("content", {})
    body_schema = content.get("application/x-www-form-urlencoded", {}).get("schema")
    if body_schema is None:
        return {}
    body_schema = _resolve(spec, body_schema)
    out: dict[str, Any] = {}
    for name in body_schema.get("required", []):
        prop = _resolve(spec, body_schema["properties"][name])
        items = _resolve(spec, prop.get("items", {}))
        if "enum" in prop:
            out[name] = prop["enum"][0]
        elif prop.get("type") == "array":
            out[name] = [items.get("enum", ["x"])[0]]
        elif prop.get("type") == "integer":
            out[name] = str(prop.get("minimum", 1))
        elif prop.get("type") == "boolean":
            out[name] = "true"
        else:
            out[name] = "x"
    return out


def call(client, op: Operation, path: str, body: dict[str, Any]):
    if op.method == "post":
        return form(client, path, body)
    return getattr(client, op.method)(path)


@pytest.fixture
def tenant_a_resources(tenant, api) -> dict[str, str | None]:
    """Tenant A's service, entity, verified factor, pending challenge and webhook, keyed by
    collection; None for kinds that could not be created."""
    from challenges.domain import challenge_create
    from services.domain import service_create
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
    created = form(api, f"/v2/Services/{service.sid}/Verifications", BODIES["CreateVerification"])
    verification = created.json()["sid"] if created.status_code == 201 else None
    return {
        "Services": service.sid,
        "Entities": IDENTITY,
        "Factors": factor.sid,
        "Challenges": challenge.sid,
        "Webhooks": webhook.sid,
        "Verifications": verification,
        "Attempts": None,
    }


def snapshot(account) -> dict:
    """Every row tenant A owns that an operation could change."""
    from challenges.models import Challenge
    from entities.models import Entity
    from factors.models import Factor

    def rows(model, **filters):
        return sorted(
            (repr(sorted(model_to_dict(row).items())) for row in model.objects.filter(**filters)),
        )

    return {
        "services": rows(Service, account=account),
        "entities": rows(Entity, service__account=account),
        "factors": rows(Factor, service__account=account),
        "challenges": rows(Challenge, service__account=account),
        "webhooks": rows(Webhook, account=account),
        "events": Event.objects.filter(account=account).count(),
        "deliveries": WebhookDelivery.objects.filter(webhook__account=account).count(),
    }


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
