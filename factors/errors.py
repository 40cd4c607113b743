"""Factor errors, with Twilio's codes where Twilio has one.

| Code  | HTTP | When |
|-------|------|------|
| 60310 | 429  | Too many consecutive failed checks on this factor: wait `Retry-After` seconds (the delay doubles with every further failure after the 5th). Twilio uses 60310 for "max attempts per factor". |
| 60310 | 429  | The factor is locked after 100 consecutive failures (no `Retry-After`); an operator unlocks it in the admin. Same code as the throttle because a client reacts the same way: stop asking. |
| 60318 | 403  | A challenge was requested for a factor that is still `unverified` (Twilio: "Factor is unverified", 403). |
| 60317 | 400  | A phone factor's enrolment code has expired, was used up (5 wrong codes) or is otherwise no longer usable: delete the factor and create it again. |
| 60200 | 400  | Invalid parameter (`AuthPayload` not exactly `code_length` ASCII digits, bad `Binding.Secret`, out-of-range `Config.*`). |
"""

from __future__ import annotations

from verify_platform.lib.errors import TooManyRequests, VerifyError


class FactorThrottled(TooManyRequests):
    """Exponential backoff between checks after repeated failures (NIST SP 800-63B 5.2.2)."""

    code = 60310
    default_message = "Too many failed attempts for this Factor; retry later"


class FactorLocked(TooManyRequests):
    """100 consecutive failures (the NIST ceiling): even the correct code is refused until an
    operator unlocks the factor, so guessing across sessions cannot continue."""

    code = 60310
    default_message = "Factor locked after too many failed attempts; contact support"


class FactorNotVerified(VerifyError):
    """Challenges prove possession of an enrolled authenticator; an unverified one proves
    nothing yet."""

    status, code = 403, 60318
    default_message = "Factor is not verified"


class FactorCodeUnavailable(VerifyError):
    """A phone factor's enrolment code is over (10-minute lifetime, or 5 wrong codes): no
    answer can verify the factor any more, so none is compared or counted."""

    status, code = 400, 60317
    default_message = "The code for this Factor is no longer valid; create the Factor again"
