"""Path parameters pass the same checks as form fields (SECURITY.md R23).

Every routed URL pattern with a path parameter is found by walking the URLconf, so a route
added later is covered without touching this file. Each parameter in turn gets a NUL byte,
control characters or an over-long value while the others point at the tenant's real
resources (so the request gets as far as it can); the answer is a 4xx in Twilio's error
shape for every method, authenticated and not, never a 500. Non-API paths (the admin) get
the same for NUL and control characters.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import api_client
from tests.helpers import tenant_resources

pytestmark = pytest.mark.django_db

_PARAM_RE = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
IDENTITY = "bad-input-user-01"
METHODS = ("get", "post", "delete")


_GROUP_RE = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def routes(patterns=None, prefix: str = ""):
    """(full route, pattern) for every leaf pattern; a regex pattern's named groups become
    `<name>` placeholders (the admin's app labels), and the API's catch-all, which has none,
    is skipped below."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        text = prefix + _GROUP_RE.sub(r"<\1>", str(pattern.pattern).lstrip("^").rstrip("$"))
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            yield text, pattern


def routes_with_params(api: bool) -> list[str]:
    found = [
        route for route, _ in routes() if _PARAM_RE.search(route) and route.startswith("v2/") == api
    ]
    assert found, "no routes with path parameters found"
    return found


def _collection_before(route: str, name: str) -> str:
    segments = route.split("/")
    index = next(
        i for i, s in enumerate(segments) if (m := _PARAM_RE.fullmatch(s)) and m["name"] == name
    )
    return segments[index - 1] if index else ""


@pytest.fixture
def real_ids(tenant):
    """The tenant's own identifiers, keyed by the collection segment before a parameter."""
    from services.domain import service_create

    service = service_create(account=tenant.account, friendly_name="Bad input")
    return {
        **tenant_resources(service, identity=IDENTITY, phone_number="+447911123456", country="GB"),
        # SIDs with hex letters, so that an upper-cased copy is malformed (not the same SID)
        "Verifications": "VE" + "0123456789abcdef" * 2,
        "Attempts": "VL" + "0123456789abcdef" * 2,
    }


def bad_values(real: str) -> list[str]:
    return [
        real + "\x00",
        "\x00",
        real[:-1] + "\x00",
        real + "\r\n2026-01-01 00:00:00 INFO verify_platform.requests FORGED",
        real + "\x1b[2J",
        real + "\x7f",
        real + "\u0085",
        real + "\t",
        "A" * 5000,
        real * 200,
    ]


def url_for(route: str, values: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        return quote(values[match["name"]], safe="+")

    return "/" + _PARAM_RE.sub(fill, route)


def assert_client_error(response, where: str) -> None:
    assert 400 <= response.status_code < 500, (where, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), where
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}, (where, body)
    assert body["status"] == response.status_code, (where, body)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}", where


def cases(route: str, ids: dict[str, str]):
    names = [m["name"] for m in _PARAM_RE.finditer(route)]
    real = {}
    for name in names:
        collection = _collection_before(route, name)
        assert collection in ids, f"add a real identifier for `{collection}` ({route})"
        real[name] = ids[collection]
    for name in names:
        for bad in bad_values(real[name]):
            yield url_for(route, {**real, name: bad})


@pytest.mark.parametrize("authenticated", [True, False], ids=["tenant", "anonymous"])
def test_every_api_path_parameter_refuses_bad_values(tenant, real_ids, authenticated):
    client = api_client(tenant if authenticated else None)
    tried = 0
    for route in routes_with_params(api=True):
        for url in cases(route, real_ids):
            for method in METHODS:
                assert_client_error(getattr(client, method)(url), f"{method.upper()} {url}")
                tried += 1
    assert tried > 100


@pytest.mark.parametrize("value", ["\x00", "x\x00", "\r\nFORGED", "\x1b"])
def test_non_api_paths_refuse_control_characters(admin_client, client, real_ids, value):
    """The admin (logged in and not) and every other parameterised route answer a 4xx for
    NUL and control characters, never a 500."""
    tried = 0
    for route in routes_with_params(api=False):
        names = [m["name"] for m in _PARAM_RE.finditer(route)]
        for name in names:
            filled = {n: ("services" if n == "app_label" else "service") for n in names}
            filled[name] = filled[name] + value
            url = url_for(route, filled)
            for who in (admin_client, client):
                assert_client_error(who.get(url), f"GET {url}")
                tried += 1
    assert tried > 0


def test_api_path_parameters_use_the_checking_converters():
    """A new route's parameters get the shape checks only through a converter."""
    for route in routes_with_params(api=True):
        for match in _PARAM_RE.finditer(route):
            assert match["converter"] in ("sid", "text"), (route, match["name"])


def test_malformed_identifiers_are_answered_without_a_query(
    api, real_ids, django_assert_num_queries
):
    """A SID of the wrong shape, or a value longer than any identifier, cannot name a row:
    it is the API's 404 before any view (or query) runs."""
    tried = 0
    for route in routes_with_params(api=True):
        matches = list(_PARAM_RE.finditer(route))
        real = {m["name"]: real_ids[_collection_before(route, m["name"])] for m in matches}
        for match in matches:
            name = match["name"]
            if match["converter"] == "sid":
                bad = [real[name].lower(), real[name].upper(), real[name][:-1], real[name] + "0"]
            else:
                bad = ["x" * 257]
            for value in bad:
                url = url_for(route, {**real, name: value})
                for method in METHODS:
                    with django_assert_num_queries(0):
                        response = getattr(api, method)(url)
                    assert_client_error(response, f"{method.upper()} {url}")
                    assert response.status_code == 404, url
                    tried += 1
    assert tried > 50
