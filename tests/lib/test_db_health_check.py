"""The database health check of every request (verify_platform.lib.db.base): no `SELECT 1` on
a kept connection whose socket is quiet, a new connection for one the server closed, no new
connection inside a transaction, and a 503 (never a 500) for a connection that died without
a word.

Requests go through Django's WSGI handler as gunicorn calls it, so the request signals run
`close_old_connections` and each request's first query meets the health check, as in
production (the test client switches that off). Statements are counted on psycopg's cursors,
below Django, where the health check's own `SELECT 1` is sent.
"""

from __future__ import annotations

import contextlib
import io
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, connection, transaction

from verify_platform.lib.db import base as db_base

pytestmark = pytest.mark.django_db(transaction=True)

HEALTH_CHECK = "SELECT 1"


@pytest.fixture
def kept(monkeypatch) -> None:
    """Persistent connections as production keeps them (the suite runs with CONN_MAX_AGE=0,
    which closes the connection at the end of every request)."""
    assert connection.vendor == "postgresql"
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    yield
    connection.close()


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Every statement any psycopg cursor of this process sends, Django's health check
    included (it bypasses Django's cursor wrappers)."""
    statements: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(self, query, *args, **kwargs):
        statements.append(query if isinstance(query, str) else query.as_string(self))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return statements


@pytest.fixture
def socket_asked(monkeypatch) -> list[bool]:
    answers: list[bool] = []
    quiet = db_base.socket_quiet

    def counted(raw) -> bool:
        answers.append(quiet(raw))
        return answers[-1]

    monkeypatch.setattr(db_base, "socket_quiet", counted)
    return answers


def request(tenant, method: str, path: str, data: dict | None = None) -> tuple[int, bytes]:
    """One request through the WSGI handler, closed as a WSGI server closes it."""
    body = urlencode(data or {}).encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": tenant.basic(),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    status: list[str] = []
    response = WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        content = b"".join(response)
    finally:
        response.close()  # request_finished: close_old_connections
    return int(status[0].split()[0]), content


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(pid: int) -> None:
    """pg_terminate_backend from another connection, and wait until the server's goodbye
    has reached the kept connection's socket (as after a restart or a crash)."""
    raw = connection.connection
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    poller = select.poll()
    poller.register(raw.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(50):
        assert time.monotonic() < deadline, "the terminated connection never became readable"


def service_exists(friendly_name: str) -> bool:
    from services.models import Service

    return Service.objects.filter(friendly_name=friendly_name).exists()


def test_a_quiet_kept_connection_serves_requests_without_a_select_1(
    kept, tenant, service, sent, socket_asked
):
    path = f"/v2/Services/{service.sid}"
    assert request(tenant, "GET", path)[0] == 200
    raw = connection.connection
    sent.clear()
    socket_asked.clear()
    for _ in range(3):
        assert request(tenant, "GET", path)[0] == 200
    assert connection.connection is raw  # the same connection served all three
    assert socket_asked == [True, True, True]  # each request's health check asked the socket
    assert sent and HEALTH_CHECK not in sent  # and sent no round trip of its own


def test_a_backend_terminated_between_requests_is_replaced_before_the_next_one(
    kept, tenant, service, sent, socket_asked
):
    path = f"/v2/Services/{service.sid}"
    assert request(tenant, "GET", path)[0] == 200
    old_pid = backend_pid()
    terminate(old_pid)
    sent.clear()
    socket_asked.clear()

    status, content = request(tenant, "POST", "/v2/Services", {"FriendlyName": "After Restart"})

    assert status == 201, content
    assert socket_asked == [False]  # the socket had the server's goodbye to read
    assert sent[0] == HEALTH_CHECK  # so Django's check ran, failed, and reconnected
    assert backend_pid() != old_pid
    assert service_exists("After Restart")


def test_a_request_whose_first_work_is_a_transaction_gets_a_new_connection_first(kept, tenant):
    """The check runs as `atomic()` turns autocommit off, before the transaction begins: the
    whole block runs on the new connection."""
    from services import domain

    old_pid = backend_pid()
    connection.health_check_done = False  # as at the start of every request
    terminate(old_pid)
    with transaction.atomic():
        domain.service_create(account=tenant.account, friendly_name="In One Transaction")
        assert backend_pid() != old_pid
    assert service_exists("In One Transaction")


def test_a_quiet_connection_inside_a_transaction_is_kept_without_a_round_trip(kept, tenant, sent):
    from services import domain

    with transaction.atomic():
        domain.service_create(account=tenant.account, friendly_name="Uncommitted")
        raw, pid = connection.connection, backend_pid()
        connection.health_check_done = False
        sent.clear()
        assert service_exists("Uncommitted")  # the same transaction, still open
        assert connection.connection is raw and backend_pid() == pid
        assert HEALTH_CHECK not in sent
    assert service_exists("Uncommitted")


def test_a_connection_closed_inside_a_transaction_is_never_replaced_in_it(kept, tenant):
    """The rest of a transaction must not run on another connection: it fails, and what it
    wrote is not committed."""
    from services import domain

    with pytest.raises(OperationalError), transaction.atomic():
        domain.service_create(account=tenant.account, friendly_name="Half Done")
        raw, pid = connection.connection, backend_pid()
        connection.health_check_done = False
        terminate(pid)
        try:
            service_exists("Half Done")
        finally:
            assert connection.connection is raw  # not swapped under the transaction
    assert not service_exists("Half Done")
    assert backend_pid() != pid  # after the block, a new connection serves


def _hang_up(sock: socket.socket) -> None:
    """Shut down before closing: a recv blocked on the socket in the other relay thread
    holds it open (and the server's session with it) until it returns."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class _Proxy:
    """A TCP relay to PostgreSQL on 127.0.0.1 that can play a host that vanished: after
    `vanish()` its open relays say nothing to the client (its socket stays quiet) and answer
    the client's next bytes with a reset, as a rebooted host does. New connections relay."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.gone: list[threading.Event] = []
        self.threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=10)
            server.settimeout(None)
            gone = threading.Event()
            self.gone.append(gone)
            self._start(self._to_server, client, server, gone)
            self._start(self._to_client, server, client, gone)

    @staticmethod
    def _to_server(client: socket.socket, server: socket.socket, gone: threading.Event) -> None:
        try:
            while data := client.recv(65536):
                if gone.is_set():
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                server.sendall(data)
        except OSError:
            pass
        client.close()  # a reset after vanish(), else the end of the stream
        _hang_up(server)

    @staticmethod
    def _to_client(server: socket.socket, client: socket.socket, gone: threading.Event) -> None:
        try:
            while (data := server.recv(65536)) and not gone.is_set():
                client.sendall(data)
        except OSError:
            pass

    def vanish(self) -> None:
        for gone in self.gone:
            gone.set()

    def close(self) -> None:
        """Stop accepting and wait for the relays (each ends once its client has gone), so
        no session outlives the test."""
        _hang_up(self.listener)
        deadline = time.monotonic() + 10
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(thread.is_alive() for thread in self.threads), "a relay did not end"


@pytest.fixture
def proxied(kept, monkeypatch) -> Iterator[_Proxy]:
    proxy = _Proxy(connection.settings_dict["HOST"], int(connection.settings_dict["PORT"]))
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(proxy.port))
    connection.close()
    yield proxy
    connection.close()
    proxy.close()


def test_a_connection_that_died_without_a_word_costs_one_503_and_no_write(
    proxied, tenant, service, socket_asked
):
    """A quiet socket passes the check; if the peer is gone after all, the request's first
    statement fails instead of the check: a 503 in Twilio's shape, never a 500, nothing
    acknowledged; the failed connection is dropped as the request ends and the next one
    connects again."""
    path = f"/v2/Services/{service.sid}"
    assert request(tenant, "GET", path)[0] == 200
    proxied.vanish()
    socket_asked.clear()

    status, content = request(tenant, "POST", "/v2/Services", {"FriendlyName": "Never Told"})

    assert socket_asked == [True]  # nothing to read: the check could not know
    assert status == 503, content
    assert b'"code": 20503' in content or b'"code":20503' in content
    assert connection.connection is None  # dropped when the request ended
    assert not service_exists("Never Told")  # a 503 acknowledged nothing, and nothing landed
    status, content = request(tenant, "POST", "/v2/Services", {"FriendlyName": "Told"})
    assert status == 201, content
    assert service_exists("Told")


def test_only_a_settled_open_connection_with_nothing_to_read_is_quiet():
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=False) as raw:
        assert db_base.socket_quiet(raw)  # idle
        raw.execute("LISTEN health_check")
        assert db_base.socket_quiet(raw)  # inside a transaction, waiting for its next statement
        with pytest.raises(psycopg.errors.DivisionByZero):
            raw.execute("SELECT 1 / 0")
        assert not db_base.socket_quiet(raw)  # an aborted transaction: Django's check decides
        raw.rollback()
        raw.execute("LISTEN health_check")
        raw.commit()
        assert db_base.socket_quiet(raw)
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("NOTIFY health_check")
        # Anything the server sends unasked (here a notification), not only a goodbye, makes
        # the socket readable, and the check is left to Django's round trip, which reads it.
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN)
        deadline = time.monotonic() + 10
        while not poller.poll(50):
            assert time.monotonic() < deadline, "the notification never reached the socket"
        assert not db_base.socket_quiet(raw)
        raw.execute("SELECT 1")
        assert db_base.socket_quiet(raw)
    assert not db_base.socket_quiet(raw)  # closed
