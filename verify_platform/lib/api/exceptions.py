"""One exception handler renders every API error in Twilio's shape.

DRF calls it for every exception raised in a view, so unexpected ones are logged with their
traceback and answered 500 in the same shape (never a stack trace), and a lost database
becomes a 503 with `Retry-After` that a client can act on.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings

from verify_platform.lib import errors

logger = logging.getLogger("verify_platform.api")


def _first_error(detail, prefix: str = "") -> tuple[str, str]:
    """Walk DRF's nested validation detail down to (parameter name, message).

    The name is the innermost wire name on the way: DRF keys the errors of a list item by
    its integer index (and form-wide errors by `non_field_errors`), which name no
    parameter, so those keep the name of the parameter that holds them. Empty entries
    (the valid items of a list) are skipped.
    """
    if isinstance(detail, dict):
        for key, value in detail.items():
            if not value:
                continue
            named = isinstance(key, str) and key != api_settings.NON_FIELD_ERRORS_KEY
            return _first_error(value, key if named else prefix)
        return prefix, ""
    if isinstance(detail, list):
        for item in detail:
            if item:
                return _first_error(item, prefix)
        return prefix, ""
    return prefix, str(detail)


def to_verify_error(exc: Exception, path: str) -> errors.VerifyError | None:
    if isinstance(exc, errors.NotFound) and exc.path is None:
        return errors.NotFound(path)
    if isinstance(exc, errors.VerifyError):
        return exc
    if isinstance(exc, drf.ValidationError):
        param, message = _first_error(exc.detail)
        return errors.InvalidParameter(param or "request", message)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return errors.AuthenticationFailed()
    if isinstance(exc, Http404 | drf.NotFound):
        return errors.NotFound(path)
    if isinstance(exc, drf.MethodNotAllowed):
        return errors.MethodNotAllowed()
    if isinstance(exc, RequestDataTooBig):
        return errors.RequestTooLarge()
    if isinstance(exc, TooManyFieldsSent):
        return errors.InvalidParameter("request", "too many parameters")
    if isinstance(exc, drf.ParseError | drf.UnsupportedMediaType):
        return errors.InvalidParameter("request", str(exc.detail))
    if isinstance(exc, drf.Throttled):
        return errors.TooManyRequests(retry_after=int(exc.wait) if exc.wait else None)
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", type(exc).__name__)
        return errors.ServiceUnavailable(retry_after=1)
    return None


def error_response(error: errors.VerifyError) -> JsonResponse:
    response = JsonResponse(error.as_dict(), status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    if isinstance(error, errors.AuthenticationFailed):
        response["WWW-Authenticate"] = 'Basic realm="Verify"'
    return response


def twilio_exception_handler(exc: Exception, context: dict) -> Response | JsonResponse:
    request = context.get("request")
    path = request.path if request is not None else ""
    error = to_verify_error(exc, path)
    if error is None:
        if isinstance(exc, DatabaseError):
            logger.exception("database error on %s", path)
        else:
            logger.exception("unhandled error on %s", path)
        error = errors.InternalError()
    return error_response(error)
