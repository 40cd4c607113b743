"""The form parameters of one delivery, in Twilio's v2 webhook field names.

Only values from the event row travel, flattened to strings; a deny list drops anything that
looks like a secret or a code, so a careless payload upstream cannot leak one to a receiver.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.models import Event

_DENIED = {"code", "secret", "binding", "auth_payload", "token", "password", "custom_code", "uri"}
_DENIED_PARTS = ("secret", "password", "token", "code_hash")
# Fields the legacy v1 format carries (it has fewer than v2).
_V1_FIELDS = {
    "uuid",
    "type",
    "account_sid",
    "service_sid",
    "entity_identity",
    "factor_sid",
    "factor_type",
    "challenge_sid",
    "status",
    "sent_at",
}


def _allowed(name: str) -> bool:
    lowered = name.lower()
    return lowered not in _DENIED and not any(part in lowered for part in _DENIED_PARTS)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def build(*, event: Event, sent_at: datetime, version: str = "v2") -> dict[str, str]:
    params = {
        name: _as_text(value)
        for name, value in (event.payload or {}).items()
        if value is not None and _allowed(name)
    }
    params.update(
        {
            # The event id: the same on every retry, so receivers can deduplicate.
            "uuid": event.sid,
            "type": event.type,
            "account_sid": event.account_id,
            "service_sid": event.service_id,
            "sent_at": sent_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    if version == "v1":
        params = {k: v for k, v in params.items() if k in _V1_FIELDS}
    return params
