"""`apn`: Apple Push Notification service over HTTP/2 with token-based authentication.

Each request carries `authorization: bearer <JWT>`, an ES256 token signed with the .p8 key
(`kid` the Key ID, `iss` the Team ID, `iat` its issue time). Apple refuses a token older than
an hour and one replaced more often than every 20 minutes (TooManyProviderTokenUpdates), so a
token is made once per key and reused for `TOKEN_MAX_AGE`; one Apple calls expired is
dropped and made again at the next try.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from urllib.parse import quote

import httpx
import jwt
from django.conf import settings

from channels.push.base import (
    ApnCredential,
    PushMessage,
    PushOutcome,
    PushResult,
    retry_after_seconds,
)
from channels.push.clients import client

TOKEN_MAX_AGE = 50 * 60  # seconds: under Apple's hour, over its 20-minute floor
_TEMPORARY = {429, 500, 503}
# A 400 or 410 with these reasons: the token will never work again.
_TOKEN_GONE = {"BadDeviceToken", "Unregistered", "ExpiredToken"}
# 403 reasons that a new provider token cures.
_STALE_JWT = {"ExpiredProviderToken", "InvalidProviderToken"}


class _ProviderTokens:
    """The signed JWT of each key, with its issue time, per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    @staticmethod
    def _key(credential: ApnCredential) -> tuple[str, str, str]:
        # The key's fingerprint too: a credential whose key was replaced signs anew.
        fingerprint = hashlib.sha256(credential.private_key.encode()).hexdigest()
        return (credential.key_id, credential.team_id, fingerprint)

    def get(self, credential: ApnCredential, now: float) -> str:
        key = self._key(credential)
        with self._lock:
            cached = self._tokens.get(key)
            if cached and now - cached[1] < TOKEN_MAX_AGE:
                return cached[0]
            token = jwt.encode(
                {"iss": credential.team_id, "iat": int(now)},
                credential.private_key,
                algorithm="ES256",
                headers={"kid": credential.key_id},
            )
            self._tokens[key] = (token, now)
            return token

    def drop(self, credential: ApnCredential) -> None:
        with self._lock:
            self._tokens.pop(self._key(credential), None)


_tokens = _ProviderTokens()


def payload(message: PushMessage) -> dict:
    """The notification: an alert with the message's text, and the app's data beside `aps`
    (where Twilio's iOS SDK reads `type`, `challenge_sid`, `factor_sid`)."""
    alert: dict[str, str] = {"body": message.body}
    if message.title:
        alert["title"] = message.title
    return {"aps": {"alert": alert, "sound": "default"}, **message.data}


class ApnAdapter:
    name = "apn"

    def send(self, message: PushMessage) -> PushResult:
        credential = message.credential
        if not isinstance(credential, ApnCredential):
            return PushResult(PushOutcome.PERMANENT, reason="no APNs credential")
        now = time.time()
        base = settings.VERIFY_PUSH["APNS_SANDBOX_URL" if credential.sandbox else "APNS_URL"]
        headers = {
            "authorization": f"bearer {_tokens.get(credential, now)}",
            "apns-topic": message.topic,
            "apns-push-type": "alert",
            # Seconds since the epoch after which Apple drops it; 0: deliver now or never.
            "apns-expiration": str(int(now) + message.ttl if message.ttl > 0 else 0),
            "apns-priority": "10",
            "content-type": "application/json",
        }
        body = json.dumps(payload(message), separators=(",", ":")).encode()
        try:
            response = client("apns").post(
                f"{base.rstrip('/')}/3/device/{quote(message.token, safe='')}",
                content=body,
                headers=headers,
            )
        except httpx.TimeoutException:
            return PushResult(PushOutcome.TEMPORARY, reason="timeout")
        except httpx.HTTPError as exc:
            return PushResult(PushOutcome.TEMPORARY, reason=type(exc).__name__)
        return self._result(response, credential)

    def _result(self, response: httpx.Response, credential: ApnCredential) -> PushResult:
        apns_id = response.headers.get("apns-id")
        if response.status_code == 200:
            return PushResult(PushOutcome.DELIVERED, provider_id=apns_id)
        try:
            reason = str(response.json().get("reason", ""))
        except ValueError:
            reason = ""
        reason = reason or f"HTTP {response.status_code}"
        if response.status_code == 410 or (response.status_code == 400 and reason in _TOKEN_GONE):
            return PushResult(PushOutcome.TOKEN_GONE, provider_id=apns_id, reason=reason)
        if response.status_code == 403 and reason in _STALE_JWT:
            _tokens.drop(credential)
            if reason == "ExpiredProviderToken":
                return PushResult(PushOutcome.TEMPORARY, provider_id=apns_id, reason=reason)
        if response.status_code in _TEMPORARY:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            return PushResult(
                PushOutcome.TEMPORARY, provider_id=apns_id, reason=reason, retry_after=retry_after
            )
        return PushResult(PushOutcome.PERMANENT, provider_id=apns_id, reason=reason)
