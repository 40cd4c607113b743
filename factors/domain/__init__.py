"""Writes and transitions of factors (`lifecycle`) and the one place a code is checked
(`codes`). Import from here: `factors.domain.factor_check_code`."""

from factors.domain.codes import (
    CheckResult,
    factor_check_code,
    factor_totp_step,
    factor_validate_payload,
    recovery_codes_remaining,
    totp_step_params,
)
from factors.domain.lifecycle import (
    TWO_FACTOR_TYPES,
    factor_create,
    factor_delete,
    factor_event_payload,
    factor_unlock,
    factor_update,
    factors_delete_of_entity,
    factors_delete_with_entity,
    factors_expire_unverified,
    phone_factor_create,
    recovery_codes_create,
)

__all__ = [
    "TWO_FACTOR_TYPES",
    "CheckResult",
    "factor_check_code",
    "factor_create",
    "factor_delete",
    "factor_event_payload",
    "factor_totp_step",
    "factor_unlock",
    "factor_update",
    "factor_validate_payload",
    "factors_delete_of_entity",
    "factors_delete_with_entity",
    "factors_expire_unverified",
    "phone_factor_create",
    "recovery_codes_create",
    "recovery_codes_remaining",
    "totp_step_params",
]
