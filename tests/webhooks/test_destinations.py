"""Tenants choose webhook URLs: private and loopback destinations are refused."""

from __future__ import annotations

import pytest
from django.test import override_settings

from services.webhooks.destinations import destination_allowed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8000/x", False),
        ("http://localhost/x", False),
        ("http://10.1.2.3/x", False),
        ("http://192.168.0.10/x", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("http://[::1]/x", False),
        ("http://[::ffff:127.0.0.1]/x", False),
        ("http://0.0.0.0/x", False),
        ("https://93.184.215.14/x", True),
        ("https://[2606:4700::1111]/x", True),
    ],
)
def test_destination_check(url, allowed):
    with override_settings(VERIFY_WEBHOOKS={"ALLOW_PRIVATE_ADDRESSES": False}):
        assert destination_allowed(url) is allowed


def test_everything_allowed_when_configured():
    with override_settings(VERIFY_WEBHOOKS={"ALLOW_PRIVATE_ADDRESSES": True}):
        assert destination_allowed("http://127.0.0.1:8000/x")
