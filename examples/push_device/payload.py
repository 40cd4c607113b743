"""Reading a Verify Push notification, whichever provider carried it.

The apps built on Twilio's SDKs read three keys from the notification's data: `type` (must be
`verify_push_challenge`), `challenge_sid` and `factor_sid`, and show `message` if present
(Android sample `FirebasePushService`, iOS demo `PushChallengePayloadData`). They are the
FCM `data` map on Android and custom top-level keys next to `aps` on iOS. This module accepts
the data map itself, an FCM HTTP v1 request (`{"message": {"data": ...}}`), a legacy FCM body
(`{"data": ...}`) or an APNs payload (`{"aps": ..., ...}`), and nothing else: the notification
only says which challenge to fetch; what to sign always comes from the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CHALLENGE_TYPE = "verify_push_challenge"


@dataclass(frozen=True)
class PushChallenge:
    challenge_sid: str
    factor_sid: str
    message: str | None


def _data_map(payload: dict[str, Any]) -> dict[str, Any]:
    if "type" in payload or "challenge_sid" in payload:
        return payload  # the data map itself, or an APNs payload (custom keys at the top)
    message = payload.get("message")
    if isinstance(message, dict) and isinstance(message.get("data"), dict):
        return message["data"]  # FCM HTTP v1 request body
    if isinstance(payload.get("data"), dict):
        return payload["data"]  # legacy FCM body, or a provider's record of one
    raise ValueError("no Verify Push data in this notification")


def parse(raw: str | bytes | dict[str, Any]) -> PushChallenge:
    """The challenge a notification points at; ValueError if it is not a Verify Push one."""
    payload = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(payload, dict):
        raise ValueError("a notification payload is a JSON object")
    data = _data_map(payload)
    if data.get("type") != CHALLENGE_TYPE:
        raise ValueError(f"not a Verify Push challenge (type {data.get('type')!r})")
    challenge_sid, factor_sid = data.get("challenge_sid"), data.get("factor_sid")
    if not isinstance(challenge_sid, str) or not isinstance(factor_sid, str):
        raise ValueError("the notification names no challenge_sid and factor_sid")
    message = data.get("message")
    return PushChallenge(challenge_sid, factor_sid, message if isinstance(message, str) else None)
