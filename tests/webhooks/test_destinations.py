"""Tenants choose webhook URLs: private and loopback destinations are refused."""

from __future__ import annotations

import pytest
from django.test import override_settings

from services.webhooks.destinations import address_allowed, destination_allowed


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


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),  # NAT64 to a public address
        ("2002:808:808::1", True),  # 6to4 of a public address
        ("64:ff9b::a00:1", False),  # NAT64 to 10.0.0.1
        ("64:ff9b::7f00:1", False),  # NAT64 to 127.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("64:ff9b:1::808:808", False),  # local-use translation prefix
        ("::a00:1", False),  # IPv4-compatible (deprecated)
        ("::ffff:0:a00:1", False),  # IPv4-translated
        ("2001::1", False),  # Teredo
        ("5f00::1", False),
        ("3fff::1", False),
        ("192.88.99.1", False),
        ("100.64.0.1", False),  # shared address space (carrier NAT)
        ("198.18.0.1", False),  # benchmarking
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("fe80::1%2", False),
    ],
)
def test_address_policy(address, allowed):
    assert address_allowed(address) is allowed
