"""Twilio-style SIDs: two letters and 32 hex digits, 128 random bits.

Random rather than sequential so that a SID reveals nothing about how many resources exist
and cannot be guessed from a neighbour's. Model fields use the named factories below as
defaults because Django's migration writer can only serialise importable functions.
"""

import re
import secrets

SID_LENGTH = 34
_SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


def new_sid(prefix: str) -> str:
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"bad SID prefix {prefix!r}")
    return prefix + secrets.token_hex(16)


def is_sid(value: str, prefix: str) -> bool:
    """True when `value` is shaped like a SID of this kind (not that it exists)."""
    return value.startswith(prefix) and bool(_SID_RE.match(value))


def account_sid() -> str:
    return new_sid("AC")


def api_key_sid() -> str:
    return new_sid("SK")


def service_sid() -> str:
    return new_sid("VA")


def entity_sid() -> str:
    return new_sid("YE")


def factor_sid() -> str:
    return new_sid("YF")


def challenge_sid() -> str:
    return new_sid("YC")


def verification_sid() -> str:
    return new_sid("VE")


def attempt_sid() -> str:
    return new_sid("VL")


def webhook_sid() -> str:
    return new_sid("YW")


def event_sid() -> str:
    """Events are ours (Twilio has no public event resource); `EV` keeps them recognisable."""
    return new_sid("EV")


def rate_limit_sid() -> str:
    return new_sid("RK")


def bucket_sid() -> str:
    return new_sid("BL")


def safe_list_sid() -> str:
    return new_sid("GN")
