"""The base of every Twilio-path view and the helpers views share."""

from __future__ import annotations

import threading

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.views import APIView

from verify_platform.lib.api.compiled import compile_serializer
from verify_platform.lib.api.schema import TwilioAutoSchema
from verify_platform.lib.errors import NotFound


class TwilioView(APIView):
    """Authenticated, form-encoded, Twilio-shaped errors.

    `self.account` is the authenticated tenant; every query takes it, so another tenant's
    SID is answered exactly like one that never existed.
    """

    schema = TwilioAutoSchema()

    @property
    def account(self):
        return self.request.user

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # The request log runs outside DRF and wants to name the tenant.
        request._request.account = request.user


@csrf_exempt
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any unknown path under /v2 answers like a missing resource, in Twilio's shape, for every
    method: API clients send no CSRF token (DRF's views are exempt too), so a POST must not get
    Django's HTML 403 instead."""
    error = NotFound(request.path)
    return JsonResponse(error.as_dict(), status=error.status)


_serializers = threading.local()


def render(serializer_class, instance, request: Request) -> dict:
    """Serialize with one serializer instance, and its compiled plan, per class and thread.

    A DRF serializer deep-copies its declared fields on first use, per instance; for the
    nested output shapes here that copy costs more than the database read it renders. The
    fields depend only on the class, so each thread keeps one instance and swaps in the
    request (nested fields read the context from the root serializer). The instance's
    fields are planned once (`compiled.compile_serializer`): the output is DRF's
    `to_representation`, without its per-field generic machinery.
    """
    cache = _serializers.__dict__.setdefault("by_class", {})
    entry = cache.get(serializer_class)
    if entry is None:
        serializer = serializer_class()
        entry = cache[serializer_class] = (serializer, compile_serializer(serializer))
    serializer, plan = entry
    serializer._context = {"request": request}
    try:
        return plan(instance)
    finally:
        serializer._context = {}


def renderer(serializer_class, request: Request):
    """A one-argument renderer for `paginate`."""
    return lambda instance: render(serializer_class, instance, request)


def validated(form_class, request: Request, *, source: str = "data", **kwargs):
    """Validate the request's form (or query string) and return the bound form; invalid input
    raises a 400 naming the parameter."""
    data = request.data if source == "data" else request.query_params
    return form_class.check(data, **kwargs)
