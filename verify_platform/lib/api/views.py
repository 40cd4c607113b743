"""The base of every Twilio-path view and the helpers views share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from verify_platform.lib.api.forms import TwilioForm
from verify_platform.lib.api.schema import TwilioAutoSchema
from verify_platform.lib.errors import NotFound


class TwilioView(APIView):
    """Authenticated, form-encoded, Twilio-shaped errors.

    `self.account` is the authenticated tenant; every query takes it, so another tenant's
    SID is answered exactly like one that never existed. (DRF also sets it as `user` on
    the underlying HttpRequest, which is how the request log names the tenant.)
    """

    schema = TwilioAutoSchema()

    @property
    def account(self):
        return self.request.user


@csrf_exempt
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any unknown path under /v2 answers like a missing resource, in Twilio's shape, for every
    method: API clients send no CSRF token (DRF's views are exempt too), so a POST must not get
    Django's HTML 403 instead."""
    error = NotFound(request.path)
    return JsonResponse(error.as_dict(), status=error.status)


def render(
    serializer_class: type[serializers.BaseSerializer], instance: Any, request: Request
) -> dict:
    """The response body of one resource: the serializer's data, with the request in its
    context for the absolute URLs."""
    return serializer_class(instance, context={"request": request}).data


def renderer(
    serializer_class: type[serializers.BaseSerializer], request: Request
) -> Callable[[Any], dict]:
    """A one-argument renderer for `paginate`: one serializer for the whole page, as DRF's
    `many=True` does, so its fields are built once per page rather than once per row."""
    return serializer_class(context={"request": request}).to_representation


def validated(
    form_class: type[TwilioForm], request: Request, *, source: str = "data", **kwargs: Any
) -> TwilioForm:
    """Validate the request's form (or query string) and return the bound form; invalid input
    raises a 400 naming the parameter."""
    data = request.data if source == "data" else request.query_params
    return form_class.check(data, **kwargs)
