"""gunicorn workers whose own answers are Twilio-shaped JSON, like the application's.

gunicorn parses the request line and headers before the application sees them, and answers
what it refuses (a request line over `limit_request_line`, a header field over
`limit_request_field_size`, a malformed line or header, an unsupported transfer coding)
itself, with an HTML page. A client of the API must get the API's error shape from every
answer, so these workers override `handle_error`, gunicorn's public hook for exactly these
answers, and write `{code, message, more_info, status}` with a documented code instead:

| refused by gunicorn                                   | status | code  |
|-------------------------------------------------------|--------|-------|
| request line too long (`LimitRequestLine`)            | 414    | 20414 |
| header field too large, too many fields               | 431    | 20431 |
| malformed request line, method, version, header, body | 400    | 20400 |
| `Expect:` other than `100-continue`                   | 417    | 20417 |
| unsupported `Transfer-Encoding`                       | 501    | 20501 |
| forbidden proxy / TLS error                           | 403    | 20403 |
| anything else (an error escaping the application)     | 500    | 20500 |

Each refusal is one line in the request log (`verify_platform.requests`), with a request id
that is also sent as `X-Request-Id`, and nothing from the request itself: the line or header
that was refused may hold credentials, and it is where a forged log line would travel.

`gunicorn.conf.py` picks `SyncWorker` or `ThreadWorker` as it picked gunicorn's `sync` or
`gthread` before; both behave exactly as gunicorn's own otherwise.
"""

from __future__ import annotations

import json
import logging
import uuid
from http import HTTPStatus
from ssl import SSLError

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker
from gunicorn.workers.sync import SyncWorker as GunicornSyncWorker

from verify_platform.lib import errors
from verify_platform.lib.logsafe import escape

request_log = logging.getLogger("verify_platform.requests")

# First match wins: the response-header errors subclass the request-header ones, and are
# the application's fault, not the client's.
_REFUSALS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], type], ...] = (
    (
        (
            http_errors.InvalidResponseHeader,
            http_errors.InvalidResponseHeaderName,
            http_errors.ConfigurationProblem,
        ),
        errors.InternalError,
    ),
    (http_errors.LimitRequestLine, errors.UriTooLong),
    (http_errors.LimitRequestHeaders, errors.HeaderFieldsTooLarge),
    (http_errors.ExpectationFailed, errors.ExpectationFailed),
    (http_errors.UnsupportedTransferCoding, errors.TransferCodingNotImplemented),
    ((http_errors.ForbiddenProxyRequest, SSLError), errors.Forbidden),
    (http_errors.ParseException, errors.MalformedRequest),
)


def error_for(exc: BaseException) -> errors.VerifyError:
    """The API error a refusal of gunicorn's is answered with (table in the module doc)."""
    for kinds, error_class in _REFUSALS:
        if isinstance(exc, kinds):
            return error_class()
    return errors.InternalError()


def error_response(error: errors.VerifyError, request_id: str) -> bytes:
    """A complete HTTP/1.1 response; the connection is closed after it, as gunicorn does
    after any error, since the rest of what the client sent cannot be trusted to frame."""
    body = json.dumps(error.as_dict()).encode()
    head = (
        f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-Id: {request_id}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorsMixin:
    """`handle_error` for gunicorn's workers (see the module doc)."""

    log: Logger  # gunicorn's error log, set by gunicorn's Worker

    def handle_error(self, req, client, addr, exc) -> None:
        error = error_for(exc)
        request_id = uuid.uuid4().hex
        if isinstance(error, errors.InternalError):
            path = getattr(req, "path", None)
            self.log.exception("Error handling request %s", escape(path) if path else "")
        request_log.info(
            "request_id=%s account=- method=- path=- status=%s refused=%s",
            request_id,
            error.status,
            type(exc).__name__,
        )
        try:
            util.write_nonblock(client, error_response(error, request_id))
        except Exception:  # the client is gone; nothing else to do
            self.log.debug("Failed to send error message.")


class SyncWorker(JsonErrorsMixin, GunicornSyncWorker):
    pass


class ThreadWorker(JsonErrorsMixin, GunicornThreadWorker):
    pass
