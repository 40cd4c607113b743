"""Secrets at rest: the Fernet key ring and keyed hashes for codes and API secrets.

The key ring and pepper come from settings, are resolved once and cached, and are reset when
a test overrides the settings (`setting_changed`), never read at import time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


@functools.cache
def _keys() -> tuple[Fernet, ...]:
    """The ring's keys, newest first: the first encrypts, any of them decrypts."""
    keys = [k.strip() for k in settings.VERIFY_ENCRYPTION_KEYS if k.strip()]
    if not keys:
        raise ImproperlyConfigured("VERIFY_ENCRYPTION_KEYS needs at least one Fernet key")
    try:
        return tuple(Fernet(k) for k in keys)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "VERIFY_ENCRYPTION_KEYS holds a key that is not a Fernet key"
        ) from exc


@functools.cache
def key_ring() -> MultiFernet:
    return MultiFernet(list(_keys()))


@functools.cache
def _pepper() -> bytes:
    pepper = settings.VERIFY_CODE_PEPPER
    if not pepper:
        raise ImproperlyConfigured("VERIFY_CODE_PEPPER must not be empty")
    return pepper.encode()


@receiver(setting_changed)
def _reset_caches(*, setting: str, **kwargs) -> None:
    if setting in ("VERIFY_ENCRYPTION_KEYS", "VERIFY_CODE_PEPPER"):
        _keys.cache_clear()
        key_ring.cache_clear()
        _pepper.cache_clear()


def encrypt(plaintext: str) -> str:
    return key_ring().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Raises `InvalidToken` when no key of the ring opens the token."""
    return key_ring().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same plaintext under the ring's first key (for key rotation)."""
    return key_ring().rotate(token.encode()).decode()


def is_current(token: str) -> bool:
    """True when the ring's first key opens the token (nothing to rotate). MultiFernet
    does not say which key opened a token, so the first key is kept on its own too."""
    try:
        _keys()[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def keyed_hash(value: str, *, salt: str = "") -> str:
    """HMAC-SHA-256 under the server pepper: a stolen database alone cannot test guesses."""
    return hmac.new(_pepper(), f"{salt}\x00{value}".encode(), hashlib.sha256).hexdigest()


def secret_digest(secret: str) -> str:
    """SHA-256 of a high-entropy API secret. Random secrets need no slow password hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
