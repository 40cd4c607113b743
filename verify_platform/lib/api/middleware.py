"""Request-wide concerns that must hold before any view runs."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware

from verify_platform.lib import request_context
from verify_platform.lib.api.exceptions import error_response
from verify_platform.lib.api.views import not_found
from verify_platform.lib.errors import NotFound, RequestTooLarge
from verify_platform.lib.logsafe import escape

logger = logging.getLogger("verify_platform.requests")
API_PREFIX = "/v2/"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
# The request line. Its arguments, in this order, are also the JSON format's fields
# (`verify_platform.lib.jsonlog.STRUCTURED_LOGGERS`); `%.0s` writes none of the route, which
# only the JSON format shows, so the plain line keeps its shape for those who parse it.
REQUEST_LINE = "request_id=%s account=%s method=%s%.0s path=%s status=%s latency_ms=%.1f"


class RequestLimitsMiddleware:
    """Refuses, before any view or query runs, what no view could serve.

    - A path with a non-printable character (NUL, CR/LF, other controls, separators): 404
      in Twilio's shape, for every path, the admin's included. No route names such a thing,
      PostgreSQL cannot even compare text with NUL in it (the query raises), and the API's
      path converters (`verify_platform.lib.api.converters`) only check shapes.
    - A declared body over the limit: 413, before a byte of it is read. Django's own limit
      (DATA_UPLOAD_MAX_MEMORY_SIZE) is enforced only when the form is parsed and surfaces as
      a 400; a client deserves to know the body was too large.

    Both checks are a C-level scan of the path and one header read (well under a microsecond).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.isprintable():
            return error_response(NotFound(request.path))
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.VERIFY_MAX_BODY_BYTES:
            return error_response(RequestTooLarge())
        return self.get_response(request)


class RequestLogMiddleware:
    """One line per request: id, account, method, route, path, status, latency. Never a body,
    header value or query string, which is where secrets and codes travel. The method and
    path are escaped (`verify_platform.lib.logsafe`), so a CR/LF in a URL cannot add a line;
    the LOGGING formatter escapes every record again, whoever logs it.

    The request id is bound for the duration of the request
    (`verify_platform.lib.request_context`): every record logged meanwhile carries it, and
    so does every task the request enqueues. The line itself is logged once the request is
    over (`REQUEST_LINE`); the JSON format writes its arguments as fields, `route` (the URL
    pattern) included, which the plain line leaves out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_context.bind_request(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_context.unbind_request(token)
        response["X-Request-Id"] = request_id
        if not request.path.startswith(("/static/", "/admin/jsi18n")):
            logger.info(
                REQUEST_LINE,
                request_id,
                _account_sid(request),
                escape(request.method),
                _route(request),
                escape(request.path),
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        return response


def _route(request) -> str:
    """The URL pattern that served the request (`/v2/Services/<sid:service_sid>/...`), or `-`
    when none did (an unknown path, a request refused before URL resolution)."""
    match = request.resolver_match
    if match is None or match.func is not_found:
        return "-"
    return "/" + match.route


def _account_sid(request) -> str:
    """The authenticated tenant's SID, or `-`.

    On API paths Django's own user middleware does not run, so `request.user` exists only
    once DRF has authenticated the request: DRF sets its user (our Account, or None) on the
    HttpRequest as well, for the middleware around it. Elsewhere (the admin) `user` is
    Django's, which names no tenant and is not read."""
    if not request.path_info.startswith(API_PREFIX):
        return "-"
    return getattr(getattr(request, "user", None), "sid", None) or "-"


class _BrowserOnly:
    """Skips the wrapped Django middleware on API paths.

    The API is stateless: HTTP Basic on every request, no cookies, no session, no flash
    messages, `request.user` set by DRF's own authentication. Sessions, Django's user and
    messages serve the admin; on an API request they only build objects nobody reads (a
    session store, a lazy user, two message storages), and they never change an API
    response, since an untouched session or message store writes no cookie or header. They
    stay subclasses of Django's classes so the admin's system checks still find them.
    """

    get_response: object

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_BrowserOnly, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_BrowserOnly, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_BrowserOnly, messages_middleware.MessageMiddleware):
    pass
