"""A device's side of Verify Push for tests, built from docs/push-protocol.md: a P-256 key,
the enrolment and verification payloads, the request tokens and the signed answers the
Verify Push SDKs send, and a tiny HTTP client that talks to a live server as the app does
(form-encoded, HTTP Basic `token:<jwt>`)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


class DeviceKey:
    """The device's key pair; the private half never leaves this object."""

    def __init__(self, curve: ec.EllipticCurve | None = None) -> None:
        self.private = ec.generate_private_key(curve or ec.SECP256R1())

    @property
    def public_key(self) -> str:
        """`Binding.PublicKey`: base64 of the DER SubjectPublicKeyInfo."""
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign_factor(self, factor_sid: str) -> str:
        """Factor verification `AuthPayload`: base64 DER ECDSA-SHA256 of the factor SID."""
        signature = self.private.sign(factor_sid.encode(), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def request_token(
        self,
        factor_sid: str,
        account_sid: str,
        *,
        now: int | None = None,
        lifetime: int = 600,
        cty: str = "twilio-pba;v=1",
    ) -> str:
        """The JWT the SDK sends as `token:<jwt>` on every call after enrolment."""
        now = int(time.time()) if now is None else now
        return jwt.encode(
            {"sub": account_sid, "exp": now + lifetime, "nbf": now},
            self.private,
            algorithm="ES256",
            headers={"cty": cty, "kid": factor_sid},
        )

    def answer(self, challenge: dict[str, Any], fields: str, status: str) -> str:
        """Challenge update `AuthPayload`: the fields named by the signature-fields header,
        copied from the challenge's JSON, plus `status`, signed ES256."""
        payload = {name: challenge[name] for name in fields.split(",")}
        payload["status"] = status
        return jwt.encode(payload, self.private, algorithm="ES256")


def basic_token(token: str) -> str:
    return "Basic " + base64.b64encode(f"token:{token}".encode()).decode()


def call(
    base_url: str,
    method: str,
    path: str,
    authorization: str,
    form: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request as the app makes it: status, headers and decoded JSON body (None when
    empty)."""
    url = base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", authorization)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    return status, headers, json.loads(raw) if raw else None


def enrol_form(key: DeviceKey, **extra) -> dict:
    """The factor create form a device sends with its access token (`extra` overrides)."""
    return {
        "FriendlyName": "Pixel",
        "FactorType": "push",
        "Binding.Alg": "ES256",
        "Binding.PublicKey": key.public_key,
        "Config.AppId": "com.example.app",
        "Config.NotificationPlatform": "fcm",
        "Config.NotificationToken": "f" * 64,
        "Config.SdkVersion": "0.12.0",
        "Metadata": '{"os": "Android"}',
        **extra,
    }
