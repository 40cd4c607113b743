"""The base of every Twilio-path view and the helpers views share."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.views import APIView

from verify_platform.lib.errors import NotFound


class TwilioView(APIView):
    """Authenticated, form-encoded, Twilio-shaped errors.

    `self.account` is the authenticated tenant; every query takes it, so another tenant's
    SID is answered exactly like one that never existed.
    """

    @property
    def account(self):
        return self.request.user

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # The request log runs outside DRF and wants to name the tenant.
        request._request.account = request.user


def absolute_url(request: Request | HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any unknown path under /v2 answers like a missing resource, in Twilio's shape."""
    error = NotFound(request.path)
    return JsonResponse(error.as_dict(), status=error.status)


def render(serializer_class, instance, request: Request) -> dict:
    return serializer_class(instance, context={"request": request}).data


def renderer(serializer_class, request: Request):
    """A one-argument renderer for `paginate`."""
    return lambda instance: render(serializer_class, instance, request)


def validated(form_class, request: Request, *, source: str = "data", **kwargs):
    """Validate the request's form (or query string) and return the bound form; invalid input
    raises a 400 naming the parameter."""
    data = request.data if source == "data" else request.query_params
    form = form_class(data=data, **kwargs)
    form.is_valid(raise_exception=True)
    return form
