"""The shared API layer's shortcuts: JSON whatever the client asks, and API paths without the
admin's session/user/messages middleware while the admin keeps all of it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from verify_platform.lib.api.negotiation import JsonNegotiation

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/json;indent=2",
    "application/*",
    "text/html",
    "text/html, application/json",
    "*/*; q=0.5",
    "application/xml",
    "",
]
QUERIES = ["", "format=json", "format=xml", "%66ormat=xml", "PageSize=5"]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", QUERIES)
def test_json_negotiation_answers_json_whatever_the_client_asks(accept, query):
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/v2/Services?" + query, **extra))
    renderer, media_type = JsonNegotiation().select_renderer(request, [JSONRenderer()])
    assert isinstance(renderer, JSONRenderer) and media_type == "application/json"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["text/html", "application/xml"])
def test_a_browser_accept_header_gets_json_not_an_error(api, service, accept):
    response = api.get(f"/v2/Services/{service.sid}", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["sid"] == service.sid


def test_json_negotiation_keeps_drf_for_several_renderers():
    from rest_framework.renderers import BrowsableAPIRenderer

    request = Request(APIRequestFactory().get("/v2/Services", HTTP_ACCEPT="text/html"))
    renderer, media_type = JsonNegotiation().select_renderer(
        request, [JSONRenderer(), BrowsableAPIRenderer()]
    )
    assert isinstance(renderer, BrowsableAPIRenderer) and media_type == "text/html"


@pytest.mark.django_db
def test_api_responses_never_touch_cookies_even_when_a_browser_sends_them(tenant, service):
    client = Client()
    client.cookies["sessionid"] = "abc"  # malformed: Django's session would delete it
    client.cookies["messages"] = "junk"
    for path in (f"/v2/Services/{service.sid}", "/v2/Services/VA" + "0" * 32, "/v2/Nope"):
        response = client.get(path, HTTP_AUTHORIZATION=tenant.basic())
        assert response.status_code in (200, 404)
        assert not response.cookies
        assert "Vary" not in response


@pytest.mark.django_db
def test_the_admin_keeps_sessions_csrf_users_and_messages(settings):
    # A fast hasher: this test is about the middleware, not the password hash's cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_superuser("op", "op@example.com", "a long passphrase 1")
    client = Client(enforce_csrf_checks=True)
    login = client.get("/admin/login/")
    assert login.status_code == 200
    token = client.cookies["csrftoken"].value

    refused = client.post("/admin/login/", {"username": "op", "password": "a long passphrase 1"})
    assert refused.status_code == 403  # no CSRF token: the check still runs

    response = client.post(
        "/admin/login/",
        {
            "username": "op",
            "password": "a long passphrase 1",
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        },
    )
    assert response.status_code == 302
    assert "sessionid" in client.cookies
    index = client.get("/admin/")
    assert index.status_code == 200
    assert index.wsgi_request.user.username == "op"
    assert hasattr(index.wsgi_request, "_messages")


PATHS = [
    "/v2/Services/VA0123456789abcdef0123456789abcdef",
    "/v2/Services/VA01/Entities/ünïcode/Factors",
    "/v2/Services/VA01/Entities/with space",
    "/v2/Services/VA01/Entities/pct%20encoded",
    "/v2/Services/VA01/Entities/o'brien+(x)!*@~",
    '/v2/Services/VA01/Entities/a"b<c>',
    "/v2/Services?PageSize=5&Page=1",
    "//evil.example.com/x",
    "/v2/./Services",
    "/v2/../Services",
    "relative/path",
    "",
]


@pytest.mark.parametrize("host", ["testserver", "127.0.0.1:8000", "[::1]:8000", "Verify.Example"])
@pytest.mark.parametrize("secure", [False, True])
def test_absolute_url_is_what_django_builds(settings, host, secure):
    from verify_platform.lib.api.fields import absolute_url, absolute_urls

    settings.ALLOWED_HOSTS = ["*"]
    http = APIRequestFactory().get("/v2/Services", HTTP_HOST=host, secure=secure)
    for request in (http, Request(http)):
        for path in PATHS:
            assert absolute_url(request, path) == http.build_absolute_uri(path), path
        assert absolute_urls(request, PATHS) == [http.build_absolute_uri(p) for p in PATHS]
