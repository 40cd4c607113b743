"""Errors of rate limits, send budgets and destination throttling, with Twilio's codes.

| Code  | HTTP | When |
|-------|------|------|
| 60207 | 400  | The service already has the maximum number of rate limits (`VERIFY_RATE_LIMITS["MAX_PER_SERVICE"]`, default 10). |
| 60208 | 400  | A rate limit with that `UniqueName` already exists in the service. |
| 60209 | 400  | `UniqueName` is not 1-191 characters of letters, digits, `-`, `_` or `.`. |
| 60210 | 400  | The rate limit already has the maximum number of buckets (default 5). |
| 60211 | 400  | The rate limit already has a bucket with that `Interval`. |
| 60203 | 429  | A bucket of a rate limit named in `RateLimits` is full for that value: the start is refused before anything is sent; `Retry-After` is when the bucket's window ends. Twilio documents a 429 without naming the code; 60203 ("max send attempts") tells a Twilio client to wait, while 20429 would invite an immediate retry. |
| 20429 | 429  | The account's or the service's send budget (`VERIFY_SEND_BUDGETS`, against SMS pumping) is used up for the current window; `Retry-After` is when it ends. |
| 20503 | 503  | Redis, which holds the counters, cannot be reached: the start is refused (fail closed, never an unmetered send); `Retry-After` says when to retry. Checks never need Redis. |
| 60202 | 429  | Too many consecutive failed checks to this destination (across verifications): starts and checks wait `Retry-After` seconds (the wait doubles with each further failure), and after 100 the destination is blocked (no `Retry-After`) until an operator clears it. |
| 60605 | 403  | The destination's country is not in `VERIFY_ALLOWED_COUNTRIES` (Twilio: "Verification delivery attempt blocked" by Verify Geo Permissions). Nothing is written, counted or sent. |
| 60410 | 403  | The destination is a special number (`verify_platform.lib.phones.SPECIAL_NUMBER_TYPES`: premium rate, shared cost, UAN, personal, pager, voicemail access, satellite, international networks or freephone) that the account does not allow (`Account.allowed_special_numbers`) and that is not in its Safe List. Twilio's fraud-block code ("Verification delivery attempt blocked"); 403 as for 60605. Nothing is written, counted or sent. |
| 60411 | 409  | The phone number is already in the account's Safe List (Twilio: "Phone Number already exists"; the entry is unchanged, and a client that only wants the number listed can treat this as success). 409 as for the other "already exists" code, 60301. |
| 60200 | 400  | `PhoneNumber` of a Safe List entry is not a valid phone number in E.164 form. |
| 60200 | 400  | `RateLimits` names a rate limit the service does not have, or a value is not a string of at most 256 characters. |
"""

from __future__ import annotations

from verify_platform.lib.errors import TooManyRequests, VerifyError


class MaxRateLimitsReached(VerifyError):
    status, code, default_message = 400, 60207, "Max rate limits per service reached"


class DuplicateUniqueName(VerifyError):
    status, code = 400, 60208
    default_message = "Rate limit with that UniqueName already exists"


class InvalidUniqueName(VerifyError):
    status, code = 400, 60209
    default_message = "UniqueName format is invalid: use letters, digits, '-', '_' or '.'"


class MaxBucketsReached(VerifyError):
    status, code, default_message = 400, 60210, "Max Buckets per Rate limit reached"


class DuplicateBucketInterval(VerifyError):
    status, code = 400, 60211
    default_message = "Bucket with the given Interval already exists"


class RateLimitExceeded(TooManyRequests):
    code = 60203
    default_message = "Max send attempts reached: a service rate limit was exceeded"


class SendBudgetExceeded(TooManyRequests):
    code = 20429
    default_message = "Too many requests: the send budget is used up, retry later"


class DestinationThrottled(TooManyRequests):
    code = 60202
    default_message = "Too many failed checks for this destination; retry later"


class DestinationBlocked(TooManyRequests):
    code = 60202
    default_message = "Destination blocked after too many failed checks; contact support"


class DestinationCountryBlocked(VerifyError):
    status, code = 403, 60605
    default_message = (
        "Verification delivery attempt blocked: the destination country is not enabled"
    )


class DestinationTypeBlocked(VerifyError):
    status, code = 403, 60410

    def __init__(self, label: str) -> None:
        super().__init__(
            f"Verification delivery attempt blocked: {label} numbers are not enabled for "
            "this account"
        )


class SafeListNumberExists(VerifyError):
    status, code = 409, 60411
    default_message = "Phone Number already exists in the SafeList"
