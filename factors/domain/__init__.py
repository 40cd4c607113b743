"""Writes and transitions of factors (`lifecycle`) and the one place a code is checked
(`codes`). Import from here: `factors.domain.factor_check_code`."""

from factors.domain.codes import (
    CheckResult,
    factor_check_code,
    factor_totp_step,
    factor_validate_payload,
    totp_step_params,
)
from factors.domain.lifecycle import (
    factor_create,
    factor_delete,
    factor_event_payload,
    factor_unlock,
    factor_update,
    factors_delete_with_entity,
    phone_factor_create,
    recovery_codes_create,
)

__all__ = [
    "CheckResult",
    "factor_check_code",
    "factor_create",
    "factor_delete",
    "factor_event_payload",
    "factor_totp_step",
    "factor_unlock",
    "factor_update",
    "factor_validate_payload",
    "factors_delete_with_entity",
    "phone_factor_create",
    "recovery_codes_create",
    "totp_step_params",
]
