"""The operations of our OpenAPI schema, and the tenant resources they address.

Shared by the schema-driven tests (tenant isolation, limits, fuzzing). A path parameter is
resolved from the collection segment before it (`Services/{service_sid}` is a service,
`Factors/{sid}` a factor); a collection missing from KINDS fails those tests, so a new kind
of identifier cannot slip through unchecked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from services.models import Event, MessagingConfiguration, Service, Webhook, WebhookDelivery
from tests.helpers import form
from verify_platform.lib import sids

IDENTITY = "tenant-a-user-0001"
METHODS = ("get", "post", "delete", "put", "patch")


@dataclass(frozen=True)
class Kind:
    """How an identifier of one collection looks; `random()` gives one that never existed."""

    prefix: str | None  # SID prefix, or None for identities
    phone: bool = False  # E.164 phone numbers (`SafeList/Numbers/{+E164}`)
    country: bool = False  # ISO 3166-1 alpha-2 codes (`MessagingConfigurations/{Country}`)

    def random(self) -> str:
        if self.country:
            return secrets.choice(sorted(phonenumbers.SUPPORTED_REGIONS - {TENANT_A_COUNTRY}))
        if self.phone:
            # Valid UK mobiles of a range tenant A's own number (TENANT_A_NUMBER) is not in.
            return f"+4479112{secrets.randbelow(100_000):05d}"
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
    "RateLimits": Kind("RK"),
    "Buckets": Kind("BL"),
    "Numbers": Kind(None, phone=True),
    "MessagingConfigurations": Kind(None, country=True),
    "AccessTokens": Kind("YK"),
    # Form types (`form-push`) are Twilio's, the same for every account: not a tenant's.
    "Forms": Kind(None),
}
TENANT_A_NUMBER = "+447911123456"
# The country of tenant A's MessagingConfiguration: two capitals no list body holds.
TENANT_A_COUNTRY = "NZ"
MESSAGING_SERVICE_SID = "MG" + "0" * 32

# Kinds whose resources this test cannot create (yet). Their operations are still called as
# tenant B under tenant A's real parents, with a random SID in their place; they are listed
# here so that a gap is visible rather than silent.
NOT_CREATABLE_YET: dict[str, str] = {
    "Verifications": "created through POST .../Verifications when a channel accepts it; "
    "otherwise only random VE SIDs under A's service are tried",
    "Attempts": "the first delivery attempt of the verification above, when one was created",
    "Forms": "the form types are global (Twilio's, the same for every account): only unknown "
    "types are tried here",
}

# Request bodies that would be valid for tenant A, so that an answer other than 404 could
# only come from reaching A's resource. Operations not listed get their schema's required
# fields (see `schema_body`).
BODIES: dict[str, dict[str, Any]] = {
    "UpdateService": {"FriendlyName": "Taken over"},
    "CreateEntity": {"Identity": "tenant-b-user-0001"},
    "CreateAccessToken": {"Identity": "tenant-b-user-0001", "FactorType": "push"},
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
    "CreateRateLimit": {"UniqueName": "end_user_ip"},
    "UpdateRateLimit": {"Description": "Taken over"},
    "CreateBucket": {"Max": "1", "Interval": "60"},
    "UpdateBucket": {"Max": "1"},
    "UpdateVerification": {"Status": "canceled"},
    "CreateVerificationCheck": {"To": "+14155550100", "Code": "123456"},
    "CreateSafelist": {"PhoneNumber": "+14155550100"},
    "CreateMessagingConfiguration": {"Country": "FR", "MessagingServiceSid": MESSAGING_SERVICE_SID},
    "UpdateMessagingConfiguration": {"MessagingServiceSid": MESSAGING_SERVICE_SID},
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


def snapshot(account) -> dict:
    """Every row tenant A owns that an operation could change."""
    from challenges.models import Challenge
    from entities.models import Entity
    from factors.models import Factor
    from limits.models import SafeListNumber

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
        "safe_list": rows(SafeListNumber, account=account),
        "messaging_configurations": rows(MessagingConfiguration, account=account),
        "events": Event.objects.filter(account=account).count(),
        "deliveries": WebhookDelivery.objects.filter(webhook__account=account).count(),
    }
