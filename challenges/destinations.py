"""Parsing of `To`: an E.164 phone number (rules in `verify_platform.lib.phones`, shared with
phone factors) or an e-mail address.

Pure functions, shared by the API forms and the engine; anything they reject never reaches
an adapter.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from verify_platform.lib.phones import (  # noqa: F401 (re-exported)
    PHONE_CHANNELS,
    TEXT_CHANNELS,
    is_landline,
    normalize_phone,
)


def normalize_email(raw: str) -> str | None:
    if len(raw) > 254 or not raw.isprintable() or raw != raw.strip():
        return None
    try:
        validate_email(raw)
    except ValidationError:
        return None
    local, _, domain = raw.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_to(raw: str) -> str | None:
    """A phone number or e-mail address in canonical form, or None."""
    if raw.startswith("+"):
        return normalize_phone(raw)
    if "@" in raw:
        return normalize_email(raw)
    return None
