"""The contract between the push notification task and the provider adapters.

The task hands an adapter a `PushMessage` and gets a `PushResult` back; adapters never raise
for a provider's answer or a network failure, they classify it: `delivered`, `temporary`
(retry later: 5xx, 429, timeouts), `token_gone` (the device token is dead: record it, never
send to it again), `permanent` (this message cannot be sent: a wrong credential or topic),
`not_sent` (the `none` platform: the app polls). Like the code channels, this package knows
nothing of challenges, factors or tenants beyond what the message carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class PushOutcome(StrEnum):
    DELIVERED = "delivered"
    TEMPORARY = "temporary"
    TOKEN_GONE = "token_gone"
    PERMANENT = "permanent"
    NOT_SENT = "not_sent"


@dataclass(frozen=True)
class ApnCredential:
    """Token-based APNs authentication: the .p8 key (P-256) with its Key ID and Team ID."""

    sid: str
    key_id: str
    team_id: str
    private_key: str = field(repr=False)
    sandbox: bool = False


@dataclass(frozen=True)
class FcmCredential:
    """An FCM (HTTP v1) service account: its key signs the OAuth2 assertion sent to
    `token_uri`, whose access token authorises `messages:send` for `project_id`."""

    sid: str
    project_id: str
    client_email: str
    private_key_id: str
    private_key: str = field(repr=False)
    token_uri: str


@dataclass(frozen=True)
class PushMessage:
    """One notification. `data` is the app's payload (string values: FCM's data messages
    allow nothing else); `body` the alert text shown to the user; `ttl` how many seconds the
    provider may hold it for an offline device (0: now or never). The device token stays out
    of the repr: messages end up in logs."""

    platform: str
    token: str = field(repr=False)
    topic: str  # APNs: the app's bundle ID; FCM: unused (the token names the app)
    body: str
    data: Mapping[str, str]
    ttl: int
    credential: ApnCredential | FcmCredential | None
    title: str | None = None


@dataclass(frozen=True)
class PushResult:
    outcome: PushOutcome
    provider_id: str | None = None
    reason: str = ""
    # The provider's Retry-After (seconds), when it gave one with a temporary failure.
    retry_after: float | None = None


class PushAdapter(Protocol):
    name: str

    def send(self, message: PushMessage) -> PushResult: ...


def mask_token(token: str) -> str:
    """A device token as logs may show it: enough to tell two apart, not enough to send."""
    return f"...{token[-6:]}" if len(token) > 12 else "..."


def retry_after_seconds(value: str | None) -> float | None:
    """A provider's Retry-After in seconds (the delta form; a date is ignored)."""
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
