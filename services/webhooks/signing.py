"""The two signatures every delivery carries.

`X-Twilio-Signature`: base64 HMAC-SHA1 under the account's auth token over the exact URL
followed by every parameter as name+value in sorted order, which is what the `twilio` SDK's
`RequestValidator` recomputes, so existing Twilio receivers accept our webhooks unchanged.
It signs no timestamp, so a captured request can be replayed; hence also the Standard Webhooks
headers: HMAC-SHA256 under a per-webhook secret over `id.timestamp.body`, which lets a
receiver reject stale deliveries and deduplicate on the id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"


def secret_new() -> str:
    """256 random bits in the Standard Webhooks `whsec_<base64>` format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def twilio_signature(url: str, params: Mapping[str, str | list[str]], auth_token: str) -> str:
    data = url
    for name in sorted(params):
        values = params[name]
        for value in sorted(set(values) if isinstance(values, list) else [values]):
            data += name + value
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    message = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_secret_bytes(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    *,
    url: str,
    params: Mapping[str, str],
    body: str,
    msg_id: str,
    timestamp: int,
    auth_token: str,
    secret: str,
) -> dict[str, str]:
    return {
        "X-Twilio-Signature": twilio_signature(url, params, auth_token),
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, msg_id, timestamp, body),
    }
