"""Writes and transitions of the OTP engine (verifications now; phone-factor challenges can
reuse `core` and `delivery`). Import from here: `challenges.domain.verification_check`."""

from challenges.clock import current_time
from challenges.domain.core import plan_for
from challenges.domain.delivery import (
    delivery_attempt_send,
    delivery_attempt_sweep,
    delivery_status_record,
)
from challenges.domain.verifications import (
    verification_approve,
    verification_cancel,
    verification_check,
    verification_expire_due,
    verification_resend,
    verification_start,
)

__all__ = [
    "current_time",
    "delivery_attempt_send",
    "delivery_attempt_sweep",
    "delivery_status_record",
    "plan_for",
    "verification_approve",
    "verification_cancel",
    "verification_check",
    "verification_expire_due",
    "verification_resend",
    "verification_start",
]
