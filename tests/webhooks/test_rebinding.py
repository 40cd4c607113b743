"""A webhook connects only to an address that was checked (DNS rebinding, SSRF).

The tests own the resolver (`socket.getaddrinfo` answers from a script for names under
`.tenant.test`, so the check and the connection can be given different answers) and the
network: a connection to anything but loopback is refused here and noted, so no test traffic
leaves the machine. The receivers listen on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.http import QueryDict
from django.test import override_settings
from twilio.request_validator import RequestValidator

from services.models import WebhookDelivery
from services.webhooks import delivery, destinations, transport
from tests.webhooks.conftest import Answer, Receiver, factor_verified_payload, make_webhook, record
from verify_platform.lib import sids

SETTINGS = {
    "CONNECT_TIMEOUT": 1.0,
    "READ_TIMEOUT": 2.0,
    "DISABLE_AFTER_FAILURES": 1000,
    "ALLOW_PRIVATE_ADDRESSES": False,
}
PUBLIC_V4, PUBLIC_V6 = "93.184.215.14", "2606:4700::1111"


@pytest.fixture(autouse=True)
def webhook_settings():
    with override_settings(VERIFY_WEBHOOKS=SETTINGS):
        yield


class Resolver:
    """Scripted DNS for the test names: each lookup takes the next answer (the last one
    repeats); other names go to the real resolver."""

    def __init__(self) -> None:
        self.real = socket.getaddrinfo
        self.script: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def answer(self, host: str, *answers: list[str]) -> None:
        self.script[host] = list(answers)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.script:
            return self.real(host, port, family, type, proto, flags)
        self.lookups.append(host)
        answers = self.script[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        port = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
            for a in addresses
        ]


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    fake = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch) -> list[str]:
    """Connections to non-loopback addresses are refused before they leave, and noted."""
    refused: list[str] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if isinstance(address, tuple):
            host = address[0].split("%", 1)[0]
            if not ipaddress.ip_address(host).is_loopback:
                refused.append(address[0])
                raise ConnectionRefusedError(111, "test network: loopback only")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return refused


@pytest.fixture
def loopback_counts_as_public(monkeypatch):
    """The policy under test, with 127.0.0.1 (only) taken as public: the one address that a
    test may really connect to."""
    monkeypatch.setattr(destinations, "address_allowed", lambda address: address == "127.0.0.1")


def delivery_of(event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def deliver(service, url: str) -> tuple[str | None, WebhookDelivery]:
    make_webhook(service, url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    outcome = delivery.delivery_attempt(delivery_id=delivery_of(event).pk)
    return outcome, delivery_of(event)


@pytest.mark.django_db(transaction=True)
def test_a_rebinding_answer_cannot_redirect_the_connection(
    service, receiver, resolver, loopback_only
):
    # Public for the first lookup, loopback for any later one.
    resolver.answer("hooks.tenant.test", [PUBLIC_V4], ["127.0.0.1"])

    outcome, row = deliver(service, f"http://hooks.tenant.test:{receiver.port}/hook")

    assert receiver.received == []
    assert resolver.lookups == ["hooks.tenant.test"]  # one answer, checked and used
    assert loopback_only == [PUBLIC_V4]  # the connection went to the checked address
    assert outcome == "pending" and row.last_error == "connection error"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "addresses",
    [
        [PUBLIC_V4, "127.0.0.1"],
        ["10.0.0.7", PUBLIC_V4],
        [PUBLIC_V6, "::1"],
        [PUBLIC_V6, "fd00::1"],
        ["fe80::1%1"],
        ["::ffff:127.0.0.1"],
        ["169.254.169.254"],
        ["100.64.0.1"],
        ["0.0.0.0"],
    ],
)
def test_every_resolved_address_is_checked(service, receiver, resolver, loopback_only, addresses):
    resolver.answer("hooks.tenant.test", addresses)

    outcome, row = deliver(service, f"http://hooks.tenant.test:{receiver.port}/hook")

    assert outcome == "failed" and row.last_error == "destination not allowed"
    assert row.last_status_code is None
    assert receiver.received == [] and loopback_only == []  # nothing was even tried


@pytest.mark.django_db(transaction=True)
def test_the_checked_address_is_connected_with_the_hosts_name(
    tenant, service, receiver, resolver, loopback_counts_as_public
):
    # The first answer passes the check; a second lookup would get a refused address.
    resolver.answer("hooks.tenant.test", ["127.0.0.1"], ["127.0.0.2"])
    url = f"http://hooks.tenant.test:{receiver.port}/hooks/verify?tenant=a"

    outcome, row = deliver(service, url)

    assert outcome == "succeeded" and row.last_status_code == 200
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.tenant.test:{receiver.port}"
    assert got.path == "/hooks/verify?tenant=a"
    assert RequestValidator(tenant.auth_token).validate(
        url, QueryDict(got.body), got.headers["x-twilio-signature"]
    )
    assert resolver.lookups == ["hooks.tenant.test"]


@pytest.mark.django_db(transaction=True)
def test_a_refused_address_in_development_settings_is_allowed(service, receiver, resolver):
    resolver.answer("hooks.tenant.test", ["127.0.0.1"])
    with override_settings(VERIFY_WEBHOOKS={**SETTINGS, "ALLOW_PRIVATE_ADDRESSES": True}):
        outcome, _ = deliver(service, f"http://hooks.tenant.test:{receiver.port}/hook")
    assert outcome == "succeeded" and len(receiver.received) == 1


@pytest.mark.django_db(transaction=True)
def test_environment_proxies_are_not_used(service, receiver, monkeypatch):
    # A proxy would resolve the name itself, out of reach of the check.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "")
    with override_settings(VERIFY_WEBHOOKS={**SETTINGS, "ALLOW_PRIVATE_ADDRESSES": True}):
        outcome, _ = deliver(service, receiver.url)
    assert outcome == "succeeded" and len(receiver.received) == 1


@pytest.mark.django_db(transaction=True)
def test_redirects_are_not_followed(service, receiver):
    elsewhere = Receiver()
    elsewhere.start()
    try:
        receiver.answer(Answer(307, headers={"Location": elsewhere.url}))
        with override_settings(VERIFY_WEBHOOKS={**SETTINGS, "ALLOW_PRIVATE_ADDRESSES": True}):
            outcome, row = deliver(service, receiver.url)
        assert (outcome, row.last_error) == ("failed", "")
        assert row.last_status_code == 307
        assert len(receiver.received) == 1 and elsewhere.received == []
    finally:
        elsewhere.stop()


# --- TLS: the connection goes to the checked address, the certificate is checked for the name


def _certificates(tmp_path, name: str):
    """A throwaway CA and a server certificate for `name`; returns (ca_file, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "c.pem", tmp_path / "k.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.tenant.test; notes the SNI
    names and Host headers it was given."""
    ca_file, cert_file, key_file = _certificates(tmp_path, "hooks.tenant.test")
    seen: dict[str, list[str]] = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["host"].append(self.headers["Host"])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], ca_file, seen
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_tls_keeps_sni_and_certificate_checks_for_the_name(
    tls_server, resolver, loopback_counts_as_public
):
    port, ca_file, seen = tls_server
    resolver.answer("hooks.tenant.test", ["127.0.0.1"], ["127.0.0.2"])
    resolver.answer("other.tenant.test", ["127.0.0.1"])

    with transport.session() as http:
        response = http.post(
            f"https://hooks.tenant.test:{port}/hook",
            data=b"x=1",
            verify=str(ca_file),
            timeout=(1, 2),
            allow_redirects=False,
        )
        assert response.status_code == 204
        assert seen == {"sni": ["hooks.tenant.test"], "host": [f"hooks.tenant.test:{port}"]}
        # Same address, another name: the certificate is checked against the name.
        with pytest.raises(requests.exceptions.SSLError):
            http.post(f"https://other.tenant.test:{port}/hook", verify=str(ca_file), timeout=2)
        # And without our CA the chain is not trusted, though the address was allowed.
        resolver.answer("hooks.tenant.test", ["127.0.0.1"])
        with pytest.raises(requests.exceptions.SSLError):
            http.post(f"https://hooks.tenant.test:{port}/hook", timeout=2)
    assert resolver.lookups == ["hooks.tenant.test", "other.tenant.test", "hooks.tenant.test"]


def test_the_session_refuses_without_connecting(resolver, loopback_only):
    resolver.answer("hooks.tenant.test", [PUBLIC_V4, "::1"])
    with transport.session() as http, pytest.raises(destinations.DestinationRefusedError):
        http.post("https://hooks.tenant.test/hook", timeout=1)
    assert loopback_only == []
