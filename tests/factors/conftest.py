"""Factories for factor and challenge tests (also used by tests/challenges)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

IDENTITY = "user-0001-abcd"
# A fixed instant for domain tests: time is passed in, never slept through.
NOW = datetime(2030, 1, 2, 3, 4, 15, tzinfo=UTC)


def make_factor(service, *, identity: str = IDENTITY, **config):
    """An unverified TOTP factor and its seed."""
    from factors import domain

    factor, binding = domain.factor_create(
        service=service,
        identity=identity,
        factor_type="totp",
        friendly_name="Phone",
        **config,
    )
    return factor, binding["secret"]


def make_verified_factor(service, *, now: datetime = NOW, identity: str = IDENTITY, **config):
    """A verified TOTP factor whose enrolment used a step one hour before `now`, so every
    step around `now` is still unused."""
    from datetime import timedelta

    from factors import domain, totp

    factor, secret = make_factor(service, identity=identity, **config)
    then = now - timedelta(hours=1)
    code = totp.code_at_step(
        secret,
        totp.step_at(then, factor.time_step),
        alg=factor.alg,
        digits=factor.code_length,
    )
    factor = domain.factor_update(factor=factor, auth_payload=code, now=then)
    assert factor.status == "verified"
    return factor, secret


def code_for(factor, secret: str, now: datetime, offset: int = 0) -> str:
    from factors import totp

    step = totp.step_at(now, factor.time_step) + offset
    return totp.code_at_step(secret, step, alg=factor.alg, digits=factor.code_length)


@pytest.fixture
def verified_factor(service):
    return make_verified_factor(service)
