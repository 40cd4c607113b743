"""A strict Content-Security-Policy (every script and style comes from the site itself), and
a page for the platform's refusals no view handled."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.setdefault("Content-Security-Policy", POLICY)
        response.setdefault("Cache-Control", "no-store")
        return response

    return middleware


class PlatformUnavailable:
    """A refusal or outage of the platform that a view did not handle itself: a page that
    says so (announced as an alert) instead of a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from twostep.platform import PlatformError

        if not isinstance(exception, PlatformError):
            return None
        return render(
            request, "twostep/unavailable.html", {"message": exception.message}, status=503
        )
