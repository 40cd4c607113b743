"""Challenge errors, with Twilio's codes.

| Code  | HTTP | When |
|-------|------|------|
| 60308 | 429  | The challenge was denied after 5 wrong codes; every further response is refused. Twilio: "max attempts per Challenge reached". |
| 60323 | 403  | The challenge passed its `expiration_date` (status `expired`). Twilio: "Challenge expired", 403. |
| 60311 | 409  | The challenge was already approved; a second response cannot approve it again. |
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
    status, code = 409, 60311
    default_message = "Challenge already approved"
