"""Special destinations: premium-rate and the other ranges that toll fraud uses.

A code sent to a premium-rate, shared-cost or satellite number earns its holder money, and
pagers, voicemail access, personal and universal access numbers reach no person a tenant can
know; a bot that starts verifications to such numbers turns the platform into a pump. So
every destination whose type or range is in `verify_platform.lib.phones.SPECIAL_NUMBER_TYPES`
is refused by default, before anything is written, counted or sent, with Twilio's fraud-block
error (60410). An account lists the types it does send to in `Account.allowed_special_numbers`
(admin); a number in the account's Safe List is never refused, as on Twilio.

`destination_permit` also applies the geo permissions (`limits.geo`), so one start reads the
account's exceptions at most once. An ordinary number in an allowed country costs a cached
lookup and no query: the account row and the Safe List are read only for a refusal.
"""

from __future__ import annotations

from limits import geo, queries
from limits.errors import DestinationCountryBlocked, DestinationTypeBlocked
from verify_platform.lib import metrics
from verify_platform.lib.errors import InvalidParameter
from verify_platform.lib.phones import SPECIAL_NUMBER_TYPES, special_type


def destination_permit(*, to: str, account_id: str, risk_check: str = "enable") -> None:
    """Raise DestinationTypeBlocked (60410) for a special number the account does not
    allow, DestinationCountryBlocked (60605) for a country not allowed, unless `to` (E.164)
    is in account `account_id`'s Safe List. Call before anything is written or sent.

    `risk_check="disable"` (a start's `RiskCheck`) lifts both rules for this start, but only
    for an account an operator lets do so (`Account.risk_check_disable_allowed`); any other
    account is refused (400/60200) rather than left believing the checks were off."""
    kind = special_type(to)
    country_ok = geo.country_allowed(to)
    if kind is None and country_ok and risk_check != "disable":
        return
    allowed_types, safe_listed, may_disable = queries.destination_exceptions(
        account_id=account_id, phone_number=to
    )
    if risk_check == "disable":
        if not may_disable:
            raise InvalidParameter(
                "RiskCheck", "this account may not disable risk checks (an operator setting)"
            )
        return
    if safe_listed:
        return
    if kind is not None and kind not in allowed_types:
        metrics.refused("special_number")
        raise DestinationTypeBlocked(SPECIAL_NUMBER_TYPES[kind])
    if not country_ok:
        metrics.refused("country_blocked")
        raise DestinationCountryBlocked()
