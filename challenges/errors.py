"""Challenge and verification errors, with Twilio's codes.

| Code  | HTTP | When |
|-------|------|------|
| 60308 | 429  | The challenge was denied after 5 wrong codes; every further response is refused. Twilio: "max attempts per Challenge reached". |
| 60323 | 403  | The challenge passed its `expiration_date` (status `expired`). Twilio: "Challenge expired", 403. |
| 60322 | 403  | The challenge was already approved; a second response cannot approve it again (Twilio: "Challenge already responded", 403). |
| 60202 | 429  | A verification's 5 wrong codes are used up (and new starts for its destination wait until its lifetime ends). |
| 60203 | 429  | A 6th send to one destination within a verification's lifetime; for a phone factor, a 6th code (enrolment or challenge) to its number within 10 minutes. |
| 60212 | 429  | Concurrent starts for one destination kept colliding. |
| 60205 | 400  | SMS or WhatsApp to a number known to be a fixed line, on a service with `SkipSmsToLandlines`. Twilio: "SMS is not supported by landline phone number". |
| 60200 | 400  | Invalid parameter (`ExpirationDate` not in the future or more than 60 minutes ahead, malformed `Details.Fields`, `AuthPayload` format). |
"""

from __future__ import annotations

from verify_platform.lib.errors import TooManyRequests, VerifyError


class ChallengeAttemptsExceeded(TooManyRequests):
    code = 60308
    default_message = "Max attempts for this Challenge reached"


class ChallengeExpired(VerifyError):
    status, code = 403, 60323
    default_message = "Challenge expired"


class ChallengeAlreadyApproved(VerifyError):
    status, code = 403, 60322
    default_message = "Challenge already approved"


class MaxCheckAttemptsReached(VerifyError):
    status, code, default_message = 429, 60202, "Max check attempts reached"


class MaxSendAttemptsReached(VerifyError):
    status, code, default_message = 429, 60203, "Max send attempts reached"


class ConcurrentRequests(VerifyError):
    status, code, default_message = 429, 60212, "Too many concurrent requests for phone number"


class LandlineNotSupported(VerifyError):
    status, code = 400, 60205
    default_message = "SMS is not supported by landline phone number"
