"""Helpers of the phone-factor tests: create a factor through the SDK's own request path
(the SDK has no `binding_phone_number` argument), read codes from the locmem outbox, and
enrol a factor through the domain."""

from __future__ import annotations

from datetime import datetime

from twilio.rest.verify.v2.service.entity.new_factor import NewFactorInstance

IDENTITY = "phone-user-0001"


def sdk_create_factor(sdk, service_sid: str, identity: str = IDENTITY, **data: str):
    """POST .../Factors with any form fields through the SDK (errors raise
    TwilioRestException exactly as the generated methods do)."""
    form = {"FriendlyName": "My phone", **data}
    payload = sdk.create("POST", f"/Services/{service_sid}/Entities/{identity}/Factors", data=form)
    return NewFactorInstance(sdk, payload, service_sid, identity)


def sent(to: str | None = None) -> list[tuple[str, str, str]]:
    """(channel, to, code) of every message in the locmem outbox, optionally for one number."""
    from channels.adapters import locmem

    return [(m.channel, m.to, m.code) for m in locmem.outbox if to is None or m.to == to]


def last_code(to: str) -> str:
    messages = sent(to)
    assert messages, "no message was sent"
    return messages[-1][2]


def wrong_code(code: str) -> str:
    return "".join("1" if c != "1" else "2" for c in code)


def enrolled_factor(
    service,
    number: str,
    *,
    factor_type: str = "sms",
    now: datetime | None = None,
    identity=IDENTITY,
):
    """A verified phone factor, enrolled with the code the engine sent."""
    from factors import domain
    from tests.challenges.conftest import run_due

    factor, _ = domain.phone_factor_create(
        service=service,
        identity=identity,
        factor_type=factor_type,
        friendly_name="My phone",
        phone_number=number,
        now=now,
    )
    assert "sent" in run_due(now)
    factor = domain.factor_update(factor=factor, auth_payload=last_code(number), now=now)
    assert factor.status == "verified"
    return factor
