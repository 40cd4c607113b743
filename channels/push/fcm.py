"""`fcm`: Firebase Cloud Messaging's HTTP v1 API (`projects/{id}/messages:send`).

Authorised by an OAuth2 access token that google-auth obtains from the service account's
`token_uri` with a JWT assertion signed by its key; the token is kept per service account
and per process until google-auth judges it near its expiry. The message is a data message
(no `notification` block): Twilio's Android SDK reads `type`, `challenge_sid`, `factor_sid`
and `message` from the data and shows the notification itself.
"""

from __future__ import annotations

import hashlib
import threading

import google.auth.exceptions
import google.auth.transport.requests
import httpx
from django.conf import settings
from google.oauth2 import service_account

from channels.push.base import (
    FcmCredential,
    PushMessage,
    PushOutcome,
    PushResult,
    retry_after_seconds,
)
from channels.push.clients import client

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_TEMPORARY = {429, 500, 502, 503, 504}


class _AccessTokens:
    """google-auth credentials per service account (and key), refreshed when not valid."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credentials: dict[tuple[str, str], service_account.Credentials] = {}

    @staticmethod
    def _key(credential: FcmCredential) -> tuple[str, str]:
        return (
            credential.client_email,
            hashlib.sha256(credential.private_key.encode()).hexdigest(),
        )

    def get(self, credential: FcmCredential) -> str:
        key = self._key(credential)
        with self._lock:
            creds = self._credentials.get(key)
            if creds is None:
                creds = service_account.Credentials.from_service_account_info(
                    {
                        "client_email": credential.client_email,
                        "private_key": credential.private_key,
                        "private_key_id": credential.private_key_id,
                        "token_uri": credential.token_uri,
                        "project_id": credential.project_id,
                    },
                    scopes=[SCOPE],
                )
                self._credentials[key] = creds
            if not creds.valid:
                creds.refresh(google.auth.transport.requests.Request())
            return creds.token

    def drop(self, credential: FcmCredential) -> None:
        with self._lock:
            self._credentials.pop(self._key(credential), None)


_tokens = _AccessTokens()


def payload(message: PushMessage) -> dict:
    """The v1 request body: the token, the data (strings), Android's TTL and priority."""
    return {
        "message": {
            "token": message.token,
            "data": dict(message.data),
            "android": {"ttl": f"{max(message.ttl, 0)}s", "priority": "high"},
        }
    }


def _error(response: httpx.Response) -> tuple[str, str, str]:
    """(status, errorCode, the fields it blames and its message) of a Google API error."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return ("", "", "")
    code, blamed = "", [str(error.get("message", ""))]
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        code = str(detail.get("errorCode") or code)
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict):
                blamed.append(str(violation.get("field", "")))
    return (str(error.get("status", "")), code, " ".join(blamed))


def _token_is_bad(blamed: str) -> bool:
    """FCM's INVALID_ARGUMENT also covers malformed messages; only one that blames the token
    means the token is gone (ours are well-formed, but a wrong guess would stop a device)."""
    return "message.token" in blamed or "registration token" in blamed.lower()


class FcmAdapter:
    name = "fcm"

    def send(self, message: PushMessage) -> PushResult:
        credential = message.credential
        if not isinstance(credential, FcmCredential):
            return PushResult(PushOutcome.PERMANENT, reason="no FCM credential")
        try:
            access_token = _tokens.get(credential)
        except google.auth.exceptions.TransportError:
            return PushResult(PushOutcome.TEMPORARY, reason="token endpoint unreachable")
        except google.auth.exceptions.RefreshError as exc:
            retryable = getattr(exc, "retryable", False)
            outcome = PushOutcome.TEMPORARY if retryable else PushOutcome.PERMANENT
            return PushResult(outcome, reason="access token refused")
        base = settings.VERIFY_PUSH["FCM_URL"].rstrip("/")
        url = f"{base}/v1/projects/{credential.project_id}/messages:send"
        try:
            response = client("fcm").post(
                url, json=payload(message), headers={"authorization": f"Bearer {access_token}"}
            )
        except httpx.TimeoutException:
            return PushResult(PushOutcome.TEMPORARY, reason="timeout")
        except httpx.HTTPError as exc:
            return PushResult(PushOutcome.TEMPORARY, reason=type(exc).__name__)
        if response.status_code == 200:
            return PushResult(PushOutcome.DELIVERED, provider_id=response.json().get("name"))
        status, code, blamed = _error(response)
        reason = code or status or f"HTTP {response.status_code}"
        if code == "UNREGISTERED":
            return PushResult(PushOutcome.TOKEN_GONE, reason="UNREGISTERED")
        if response.status_code == 400 and _token_is_bad(blamed):
            return PushResult(PushOutcome.TOKEN_GONE, reason="INVALID_ARGUMENT")
        if response.status_code == 401:
            _tokens.drop(credential)  # revoked or expired early: a new one at the next try
            return PushResult(PushOutcome.TEMPORARY, reason=reason)
        if response.status_code in _TEMPORARY:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            return PushResult(PushOutcome.TEMPORARY, reason=reason, retry_after=retry_after)
        return PushResult(PushOutcome.PERMANENT, reason=reason)
