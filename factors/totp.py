"""TOTP maths (RFC 6238 over RFC 4226) with pyotp, plus the key URI and its QR image.

Codes are kept as strings and compared as strings in constant time: `int()` would accept
whitespace, underscores, full-width and other-script digits, which is how used-code caches
have been bypassed elsewhere. Callers check `is_code_format` before anything is compared.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from urllib.parse import quote

import pyotp
import segno

DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
# RFC 6238 5.1: a key as long as the HMAC output.
SECRET_BYTES = {"sha1": 20, "sha256": 32, "sha512": 64}
MIN_SECRET_BITS = 128  # RFC 4226 section 4, R6

_DIGITS = frozenset("0123456789")
_BASE32_RE = re.compile(r"[A-Z2-7]+=*", re.ASCII)


def is_code_format(code: str, length: int) -> bool:
    """Exactly `length` ASCII digits: no whitespace, signs, or digits of other scripts."""
    return isinstance(code, str) and len(code) == length and all(c in _DIGITS for c in code)


def generate_secret(alg: str = "sha1") -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES[alg])).decode().rstrip("=")


def normalize_secret(value: str) -> str:
    """A client-supplied base32 seed in canonical form (upper case, no padding).

    Raises ValueError for anything that is not base32 or carries under 128 bits."""
    candidate = value.upper()
    if not _BASE32_RE.fullmatch(candidate):
        raise ValueError("must be base32 (A-Z, 2-7)")
    unpadded = candidate.rstrip("=")
    try:
        raw = base64.b32decode(unpadded + "=" * (-len(unpadded) % 8))
    except binascii.Error:
        raise ValueError("must be base32 (A-Z, 2-7)") from None
    if len(raw) * 8 < MIN_SECRET_BITS:
        raise ValueError(f"must carry at least {MIN_SECRET_BITS} bits")
    return unpadded


def step_at(now: datetime | float, time_step: int) -> int:
    """T = floor(unix_time / X) with T0 = 0; Python ints, so no 2038 or 2106 limit."""
    ts = now.timestamp() if isinstance(now, datetime) else now
    return int(ts // time_step)


class _KeyDecodedOnce(pyotp.HOTP):
    """pyotp decodes the base32 seed again for every code it computes: three decodings per
    check with the default skew, more of a check's TOTP arithmetic than the HMACs. This one
    decodes (and validates, as pyotp does when it is built) once per window."""

    _key: bytes | None = None

    def byte_secret(self) -> bytes:
        if self._key is None:
            self._key = super().byte_secret()
        return self._key


def code_at_step(secret: str, step: int, *, alg: str = "sha1", digits: int = 6) -> str:
    return pyotp.HOTP(secret, digits=digits, digest=DIGESTS[alg]).at(step)


def matching_step(
    secret: str,
    code: str,
    *,
    now: datetime | float,
    alg: str,
    digits: int,
    time_step: int,
    skew: int,
) -> int | None:
    """The highest step within `now` +/- `skew` steps whose code equals `code`, else None.

    Every step of the window is computed and compared, so the time taken does not depend on
    where (or whether) the code matched."""
    current = step_at(now, time_step)
    hotp = _KeyDecodedOnce(secret, digits=digits, digest=DIGESTS[alg])  # one for the window
    found = None
    for step in range(current - skew, current + skew + 1):
        if step < 0:
            continue
        expected = hotp.at(step)
        if hmac.compare_digest(expected.encode(), code.encode()):
            found = step
    return found


def provisioning_uri(
    *, secret: str, issuer: str, label: str, alg: str, digits: int, period: int
) -> str:
    """Google Authenticator's key URI, always with every parameter (Twilio's example shape)."""
    issuer_q = quote(issuer, safe="")
    return (
        f"otpauth://totp/{issuer_q}:{quote(label, safe='')}"
        f"?secret={secret}&issuer={issuer_q}&algorithm={alg.upper()}"
        f"&digits={digits}&period={period}"
    )


def qr_data_uri(uri: str) -> str:
    """A PNG of the key URI as a data URI, so an app can show it without fetching anything."""
    return segno.make(uri, error="m", micro=False).png_data_uri(scale=4, border=2)
