"""A software WebAuthn authenticator and client for the tests, written from the WebAuthn
Level 2 spec with `cryptography` only (its own small CBOR encoder), so it shares no code
with the library the server checks with.

`create(options)` and `get(options)` take the server's `options` as returned
(`{"publicKey": {...}}`) and return what a browser's `PublicKeyCredential.toJSON()` writes:
binaries base64url without padding. Each can be told to lie: another origin, another RP ID,
no user verification, a given signature counter."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40
ES256 = -7


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor(value: Any) -> bytes:
    """CBOR (RFC 8949) of ints, bytes, text, lists and dicts: all an attestation needs."""

    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | extra]) + struct.pack(fmt, n)
        raise ValueError(n)

    if isinstance(value, bool):
        return bytes([0xF5 if value else 0xF4])
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        encoded = value.encode()
        return head(3, len(encoded)) + encoded
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0


@dataclass
class SoftAuthenticator:
    """One authenticator (say, a phone's platform authenticator) holding ES256 passkeys."""

    origin: str
    attestation: str = "packed"  # or "none"
    aaguid: bytes = bytes(range(16))
    credentials: dict[bytes, Credential] = field(default_factory=dict)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    @staticmethod
    def _auth_data(rp_id: str, flags: int, counter: int, attested: bytes = b"") -> bytes:
        return (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", counter)
            + attested
        )

    def create(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
    ) -> dict:
        """`navigator.credentials.create({publicKey})`, as `toJSON()` writes the result."""
        public_key = options["publicKey"]
        rp = rp_id or public_key["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        credential = Credential(
            id=os.urandom(32), key=key, rp_id=rp, user_handle=unb64url(public_key["user"]["id"])
        )
        self.credentials[credential.id] = credential
        numbers = key.public_key().public_numbers()
        cose = {
            1: 2,
            3: ES256,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        attested = self.aaguid + struct.pack(">H", len(credential.id)) + credential.id + cbor(cose)
        flags = FLAG_UP | FLAG_AT | (FLAG_UV if user_verified else 0)
        auth_data = self._auth_data(rp, flags, credential.counter, attested)
        client_data = self._client_data("webauthn.create", public_key["challenge"], origin)
        if self.attestation == "packed":  # self attestation: signed by the new key itself
            signed = auth_data + hashlib.sha256(client_data).digest()
            statement = {"alg": ES256, "sig": key.sign(signed, ec.ECDSA(hashes.SHA256()))}
        else:
            statement = {}
        attestation_object = cbor(
            {"fmt": self.attestation, "attStmt": statement, "authData": auth_data}
        )
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict,
        *,
        credential_id: str | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        counter: int | None = None,
    ) -> dict:
        """`navigator.credentials.get({publicKey})`: with the allowed credential this
        authenticator holds, or any of its own for the RP (usernameless)."""
        public_key = options["publicKey"]
        allowed = [unb64url(c["id"]) for c in public_key.get("allowCredentials") or []]
        if credential_id is not None:
            chosen = self.credentials[unb64url(credential_id)]
        else:
            mine = [c for c in self.credentials.values() if not allowed or c.id in allowed]
            chosen = next(c for c in mine if c.rp_id == public_key["rpId"])
        chosen.counter = chosen.counter + 1 if counter is None else counter
        rp = rp_id or public_key["rpId"]
        flags = FLAG_UP | (FLAG_UV if user_verified else 0)
        auth_data = self._auth_data(rp, flags, chosen.counter)
        client_data = self._client_data("webauthn.get", public_key["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        return {
            "id": b64url(chosen.id),
            "rawId": b64url(chosen.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(chosen.key.sign(signed, ec.ECDSA(hashes.SHA256()))),
                "userHandle": b64url(chosen.user_handle),
            },
            "clientExtensionResults": {},
        }
