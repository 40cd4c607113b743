"""Assertions and request helpers shared by the API tests."""

from __future__ import annotations

from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"


def assert_twilio_error(response, status: int, code: int) -> dict:
    """The response is Twilio's error shape with this HTTP status and error code."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}, body
    assert body["code"] == code and body["status"] == status, body
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    return body


def form(client, path: str, data: dict | list | None = None, **extra):
    """POST form-encoded, as the SDK does (list values become repeated keys)."""
    return client.post(path, urlencode(data or {}, doseq=True), content_type=FORM, **extra)
