"""Recovery codes: 10 single-use codes of 80 random bits each, shown once.

Format `ABCD-EFGH-JKLM-NPQR` (16 base32 characters in four groups) so they are easy to copy
from paper; NIST SP 800-63B rev. 4 asks for at least 64 bits for recovery. Input is
canonicalised (ASCII only, dashes optional, case-insensitive) before hashing, so a variant
spelling can never dodge the used flag.
"""

from __future__ import annotations

import base64
import re
import secrets

from verify_platform.lib import crypto

CODE_COUNT = 10
CODE_BYTES = 10  # 80 bits -> exactly 16 base32 characters
_FORMAT_RE = re.compile(
    r"[A-Za-z2-7]{4}(-?)[A-Za-z2-7]{4}\1[A-Za-z2-7]{4}\1[A-Za-z2-7]{4}", re.ASCII
)


def generate() -> str:
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def canonical(code: str) -> str | None:
    """Upper case without dashes, or None when `code` does not have the recovery format."""
    if not isinstance(code, str) or not _FORMAT_RE.fullmatch(code):
        return None
    return code.replace("-", "").upper()


def looks_like_recovery_code(code: str) -> bool:
    return canonical(code) is not None


def new_salt() -> str:
    return secrets.token_hex(8)  # 64-bit salt, above the 32 bits NIST and ASVS ask for


def hash_code(canonical_code: str, salt: str) -> str:
    return crypto.keyed_hash(canonical_code, salt=salt)
