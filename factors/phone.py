"""The port through which phone factors reach the OTP engine.

The engine (code store, delivery attempts, fallback) lives in `challenges`, which depends on
`factors`; so `factors` declares what it needs here and `challenges` plugs its
implementation in when its app is ready (`ChallengesConfig.ready`). Nothing in `factors`
imports `challenges`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from factors.domain import CheckResult
    from factors.models import Factor


class PhoneCodeEngine(Protocol):
    def enrollment_start(self, *, factor: Factor, now: datetime) -> None:
        """Inside the caller's transaction: create the enrolment's code and schedule its
        send after commit. Raises `InvalidParameter` when the channel cannot be used."""

    def enrollment_check(self, *, factor: Factor, payload: str, now: datetime) -> CheckResult:
        """Inside the caller's transaction, with the factor locked: compare `payload` with
        the enrolment's code and book it on the code's own counters."""


_engine: PhoneCodeEngine | None = None


def register(engine: PhoneCodeEngine) -> None:
    global _engine
    _engine = engine


def engine() -> PhoneCodeEngine:
    if _engine is None:
        raise ImproperlyConfigured("phone factors need the challenges app installed")
    return _engine
