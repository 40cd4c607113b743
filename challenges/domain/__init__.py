"""Writes and transitions of challenges and verifications. Import from here
(`challenges.domain.verification_check`); the modules are `challenges` (TOTP and push-style
challenges), `verifications` and `checks`, `delivery` and `fallback` (the OTP engine's sends) over
`engine` (its code store, plans, scheduling and the terminal transition), and `phone` (phone
factors' enrolment and challenge codes on the same engine)."""

from challenges.domain.challenges import (
    challenge_create,
    challenge_event_payload,
    challenge_expire_due,
    challenge_expire_if_due,
    challenge_respond,
)
from challenges.domain.checks import verification_check, verification_check_find
from challenges.domain.delivery import delivery_attempt_send
from challenges.domain.engine import plan_for
from challenges.domain.fallback import delivery_attempt_sweep, delivery_status_record
from challenges.domain.phone import factor_code_expire_due
from challenges.domain.verifications import (
    verification_approve,
    verification_cancel,
    verification_expire_due,
    verification_resend,
    verification_start,
)
from verify_platform.lib.clock import current_time

__all__ = [
    "challenge_create",
    "challenge_event_payload",
    "challenge_expire_due",
    "challenge_expire_if_due",
    "challenge_respond",
    "current_time",
    "delivery_attempt_send",
    "delivery_attempt_sweep",
    "delivery_status_record",
    "factor_code_expire_due",
    "plan_for",
    "verification_approve",
    "verification_cancel",
    "verification_check",
    "verification_check_find",
    "verification_expire_due",
    "verification_resend",
    "verification_start",
]
