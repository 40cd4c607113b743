"""Errors that reach an API client, each with its Twilio error code and HTTP status.

Domain code raises these; the API's exception handler renders them in Twilio's shape
`{code, message, more_info, status}`. Keeping code and status on the exception (not in the
view) means every edge (API, admin, task) reports the same failure the same way.
"""

from __future__ import annotations


class VerifyError(Exception):
    """Base of every client-facing error."""

    status: int = 400
    code: int = 60200
    default_message: str = "Invalid request"

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


class AuthenticationFailed(VerifyError):
    status, code, default_message = 401, 20003, "Authenticate"


class NotFound(VerifyError):
    status, code = 404, 20404

    def __init__(self, path: str | None = None) -> None:
        # Twilio's wording; it names the requested path, which the caller already knows, so
        # it leaks nothing about whether the resource exists for someone else. Domain code
        # raises it without a path; the API fills in the request's.
        self.path = path
        super().__init__(f"The requested resource {path} was not found" if path else None)

    default_message = "The requested resource was not found"


class MethodNotAllowed(VerifyError):
    status, code, default_message = 405, 20004, "Method not allowed"


class RequestTooLarge(VerifyError):
    status, code, default_message = 413, 20413, "Request body too large"


class MalformedRequest(VerifyError):
    """The HTTP server could not parse the request (request line, header syntax, framing):
    answered by the gunicorn worker (`verify_platform.gunicorn_worker`), never by a view."""

    status, code, default_message = 400, 20400, "Malformed HTTP request"


class Forbidden(VerifyError):
    status, code, default_message = 403, 20403, "Forbidden"


class UriTooLong(VerifyError):
    """The request line is over the HTTP server's limit (4094 bytes, gunicorn.conf.py)."""

    status, code, default_message = 414, 20414, "Request line too long"


class ExpectationFailed(VerifyError):
    status, code, default_message = 417, 20417, "Unsupported Expect header"


class HeaderFieldsTooLarge(VerifyError):
    """A header field is over the HTTP server's limit (8190 bytes), or there are too many
    (100), gunicorn.conf.py."""

    status, code, default_message = 431, 20431, "Request header fields too large"


class TransferCodingNotImplemented(VerifyError):
    status, code, default_message = 501, 20501, "Unsupported transfer coding"


class InvalidParameter(VerifyError):
    status, code = 400, 60200

    def __init__(self, param: str, detail: str | None = None) -> None:
        self.param = param
        message = f"Invalid parameter `{param}`"
        if detail:
            message += f": {detail}"
        super().__init__(message)


class TooManyRequests(VerifyError):
    status, code, default_message = 429, 20429, "Too many requests"


class ServiceUnavailable(VerifyError):
    status, code, default_message = 503, 20503, "Service temporarily unavailable, retry later"


class InternalError(VerifyError):
    status, code, default_message = 500, 20500, "Internal server error"
