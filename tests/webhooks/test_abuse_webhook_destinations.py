"""Webhook URLs that lead into private networks are refused when they are stored (create and
update, 400 naming the reason, after resolving the name) and again when they are called
(on the one answer the connection uses); private destinations are an explicit operator
setting, never implied by DEBUG.

Resolution is given through `destinations`' own `resolver` parameter; nothing here
replaces a library function.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from services.models import Webhook
from services.webhooks import destinations
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"
PUBLIC_URL = f"https://{PUBLIC}/hooks/verify"
REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://127.0.0.1:6379/", "127.0.0.1 is a loopback address"),
    ("http://[::1]/hook", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/hook", "an IPv4-mapped form of a loopback address"),
    ("http://[::ffff:7f00:1]/hook", "::ffff:7f00:1 is an IPv4-mapped form of a loopback address"),
    ("http://0.0.0.0/hook", "0.0.0.0 is the unspecified address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a unique local"),
    ("http://metadata.google.internal/computeMetadata/v1/", "a private host name (.internal)"),
    ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ("http://10.255.255.254/hook", "10.255.255.254 is a private address"),
    ("http://172.16.0.1/hook", "172.16.0.1 is a private address"),
    ("http://172.31.255.254/hook", "172.31.255.254 is a private address"),
    ("http://192.168.0.1/hook", "192.168.0.1 is a private address"),
    ("http://192.168.255.254/hook", "192.168.255.254 is a private address"),
    ("http://100.64.0.1/hook", "100.64.0.1 is a shared address (carrier-grade NAT"),
    ("http://100.127.255.254/hook", "100.127.255.254 is a shared address"),
    ("http://[fe80::1]/hook", "fe80::1 is a link-local address"),
    ("http://224.0.0.251/hook", "224.0.0.251 is a multicast address"),
    ("http://239.255.255.250:1900/hook", "239.255.255.250 is a multicast address"),
    ("http://[ff02::1]/hook", "ff02::1 is a multicast address"),
    ("http://255.255.255.255/hook", "255.255.255.255 is the broadcast address"),
    ("http://localhost:8000/hook", "localhost resolves to "),  # then ::1 or 127.0.0.1
    ("http://printer.local/hook", "a private host name (.local)"),
    ("https://user:secret@hooks.example.com/hook", "credentials"),
    ("https://token@hooks.example.com/hook", "credentials"),
]


@pytest.fixture(autouse=True)
def private_destinations_refused():
    with override_settings(VERIFY_WEBHOOKS={"ALLOW_PRIVATE_ADDRESSES": False}):
        yield


def _path(service) -> str:
    return f"/v2/Services/{service.sid}/Webhooks"


def _create(api, service, url: str):
    return form(
        api, _path(service), {"FriendlyName": "Hook", "EventTypes": ["*"], "WebhookUrl": url}
    )


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_create_is_refused_with_the_reason(api, service, url, reason):
    body = assert_twilio_error(_create(api, service, url), 400, 60200)
    assert "WebhookUrl" in body["message"] and reason in body["message"], body
    if url.startswith("http://localhost"):
        assert "loopback address" in body["message"]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_update_is_refused_with_the_reason(api, service, url, reason):
    created = _create(api, service, PUBLIC_URL)
    assert created.status_code == 201, created.content
    sid = created.json()["sid"]
    body = assert_twilio_error(
        form(api, f"{_path(service)}/{sid}", {"WebhookUrl": url}), 400, 60200
    )
    assert "WebhookUrl" in body["message"] and reason in body["message"], body
    assert Webhook.objects.get(pk=sid).webhook_url == PUBLIC_URL


def test_public_and_not_yet_resolvable_urls_are_stored(api, service):
    for url in (PUBLIC_URL, "https://[2606:4700::1111]/hook", "https://hooks.example.invalid/x"):
        assert _create(api, service, url).status_code == 201, url


def test_the_operator_setting_allows_private_receivers_but_never_credentials(api, service):
    with override_settings(VERIFY_WEBHOOKS={"ALLOW_PRIVATE_ADDRESSES": True}):
        assert _create(api, service, "http://127.0.0.1:8080/hook").status_code == 201
        assert _create(api, service, "http://metadata.google.internal/").status_code == 201
        body = assert_twilio_error(
            _create(api, service, "https://u:p@hooks.example.com/"), 400, 60200
        )
        assert "credentials" in body["message"]


# --- the rule with a given resolver --------------------------------------------------------


class Resolver:
    """Answers `host` with the next list of addresses (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups += 1
        addresses = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port or 0, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port or 0))
            for a in addresses
        ]


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["10.0.0.5"], "hooks.tenant.test resolves to 10.0.0.5, a private address"),
        ([PUBLIC, "127.0.0.1"], "resolves to 127.0.0.1, a loopback address"),
        (["169.254.169.254"], "resolves to 169.254.169.254, a link-local address"),
        (["::ffff:192.168.1.1"], "an IPv4-mapped form of a private address"),
        (["fd00:ec2::254"], "a unique local (private) address"),
    ],
)
def test_a_name_resolving_to_any_private_address_is_refused(addresses, reason):
    problem = destinations.url_problem("https://hooks.tenant.test/x", resolver=Resolver(addresses))
    assert problem is not None and reason in problem


def test_a_name_resolving_to_public_addresses_is_accepted():
    resolver = Resolver([PUBLIC, "2606:4700::1111"])
    assert destinations.url_problem("https://hooks.tenant.test/x", resolver=resolver) is None
    assert resolver.lookups == 1


@pytest.fixture
def listener():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def _accepted(sock: socket.socket) -> int:
    """How many connections are waiting (non-blocking: what has arrived by now)."""
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_rebinding_public_when_stored_private_when_called_is_refused(listener):
    port = listener.getsockname()[1]
    url = f"http://hooks.tenant.test:{port}/hook"
    assert destinations.url_problem(url, resolver=Resolver([PUBLIC])) is None  # stored
    with pytest.raises(destinations.DestinationRefusedError) as exc:
        destinations.connect(
            "hooks.tenant.test", port, timeout=1.0, resolver=Resolver(["127.0.0.1"])
        )
    assert "resolves to 127.0.0.1, a loopback address" in exc.value.reason
    assert _accepted(listener) == 0  # nothing was even tried


def test_the_connection_goes_to_the_one_address_that_was_looked_up(listener):
    """One lookup per connection, and the socket is connected to its answer: a second,
    different answer (127.0.0.2, where nothing listens) is never asked for."""
    port = listener.getsockname()[1]
    resolver = Resolver(["127.0.0.1"], ["127.0.0.2"])
    with override_settings(VERIFY_WEBHOOKS={"ALLOW_PRIVATE_ADDRESSES": True}):
        sock = destinations.connect("hooks.tenant.test", port, timeout=1.0, resolver=resolver)
    with sock:
        assert sock.getpeername() == ("127.0.0.1", port)
    assert resolver.lookups == 1


def test_the_send_time_check_refuses_every_kind():
    for url, _ in REFUSED:
        if "@" not in url:
            assert not destinations.destination_allowed(url), url


# --- the setting -----------------------------------------------------------------------------


def _setting(env: dict[str, str]) -> bool:
    root = Path(__file__).resolve().parents[2]
    code = (
        "import json; from verify_platform import settings; "
        "print(json.dumps(settings.VERIFY_WEBHOOKS['ALLOW_PRIVATE_ADDRESSES']))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "VERIFY_WEBHOOK_"))}
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_debug_alone_never_allows_private_destinations():
    assert _setting({"DEBUG": "true"}) is False
    assert _setting({"DEBUG": "false"}) is False
    assert _setting({"DEBUG": "true", "VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true"}) is True


def test_the_admin_cannot_store_a_url():
    """Operators see webhook URLs but never write one: only the checked API stores them."""
    from services.webhooks.admin import WebhookAdmin

    assert "webhook_url" in WebhookAdmin.readonly_fields
    assert WebhookAdmin.has_add_permission(None, None) is False
