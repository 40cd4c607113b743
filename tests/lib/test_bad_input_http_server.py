"""What gunicorn itself refuses is answered in the API's JSON error shape (SECURITY.md R27),
and a forged request line cannot add a line to the log (R24).

A real gunicorn, started from gunicorn.conf.py on 127.0.0.1 with one worker of each class the
config picks (`sync` for GUNICORN_THREADS=1, `gthread` above), gets raw requests over a
socket: oversized header fields and request lines, malformed ones. Every answer is JSON with
a documented code, never gunicorn's HTML page.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from scripts.testenv import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
DEADLINE_S = 30.0
GUNICORN = [sys.executable, "-m", "gunicorn", "verify_platform.wsgi:application"]


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw`, read until the server closes; (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        chunks = []
        for _ in range(10_000):
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunked(body)
    return int(status_line.split()[1]), headers, body


def _dechunked(body: bytes) -> bytes:
    out = []
    for _ in range(10_000):
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        body = rest[size + 2 :]
    return b"".join(out)


def _request(target: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module", params=[1, 2], ids=["sync", "gthread"])
def server(request, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "verify_platform.settings",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": str(request.param),
        "LOG_LEVEL": "INFO",
        # Production-shaped secrets (DEBUG stays off): a server with the public development
        # ones refuses to start.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VERIFY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "VERIFY_CODE_PEPPER": secrets.token_urlsafe(32),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*GUNICORN, "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + DEADLINE_S
        for _ in range(10_000):
            if _up(port) or process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert process.poll() is None and _up(port), log.read_text()[-3000:]
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def assert_json_error(answer, status: int, code: int) -> None:
    got_status, headers, body = answer
    assert got_status == status, (got_status, headers, body[:300])
    assert headers["content-type"] == "application/json", headers
    if "content-length" in headers:  # the application's answers may be chunked instead
        assert int(headers["content-length"]) == len(body)
    assert json.loads(body) == {
        "code": code,
        "message": json.loads(body)["message"],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    assert len(headers.get("x-request-id", "")) == 32, headers


CASES = {
    "8 KB Authorization header": (
        _request("/v2/Services", {"Authorization": "Basic " + "A" * 8192}),
        431,
        20431,
    ),
    "20 KB header": (_request("/v2/Services", {"X-Padding": "p" * 20_000}), 431, 20431),
    "101 header fields": (
        _request("/v2/Services", {f"X-Field-{i}": "v" for i in range(101)}),
        431,
        20431,
    ),
    "5,000-character SID": (_request("/v2/Services/VA" + "a" * 4998), 414, 20414),
    "5,000-character PageToken": (_request("/v2/Services?PageToken=" + "P" * 5000), 414, 20414),
    "10 KB request line": (_request("/v2/Services/" + "x" * 10_240), 414, 20414),
    "malformed request line": (b"THIS IS NOT HTTP\r\n\r\n", 400, 20400),
    "bad HTTP version": (b"GET /v2/Services HTTP/9.9\r\nHost: x\r\n\r\n", 400, 20400),
    "header without a colon": (b"GET /v2/Services HTTP/1.1\r\nHost x\r\n\r\n", 400, 20400),
    "unsupported Expect": (_request("/v2/Services", {"Expect": "teapot"}), 417, 20417),
    "unsupported transfer coding": (
        _request("/v2/Services", {"Transfer-Encoding": "br"}),
        501,
        20501,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refusals_of_the_http_server_are_json(server, case):
    port, _ = server
    raw, status, code = CASES[case]
    assert_json_error(_exchange(port, raw), status, code)


def test_ordinary_requests_are_still_served(server):
    port, _ = server
    assert_json_error(_exchange(port, _request("/v2/Services")), 401, 20003)
    assert_json_error(_exchange(port, _request("/v2/Services/VA%00")), 404, 20404)


def test_a_forged_request_line_is_one_escaped_log_line(server):
    port, log = server
    marker = "FORGED" + os.urandom(4).hex()
    target = f"/v2/Services/VA%0D%0A2026-01-01%2000:00:00,000%20INFO%20verify_platform.requests%20{marker}%00"
    assert_json_error(_exchange(port, _request(target)), 404, 20404)
    # The line is written (and flushed) before the answer is sent, and the answer was read.
    lines = [line for line in log.read_text().splitlines() if marker in line]
    assert len(lines) == 1, lines
    assert "path=/v2/Services/VA\\r\\n2026-01-01 00:00:00,000 INFO" in lines[0], lines[0]
    assert f"{marker}\\x00 status=404 " in lines[0], lines[0]
    assert "\x00" not in log.read_text()


def test_refusals_are_logged_without_request_content(server):
    port, log = server
    refusal = "status=431 refused=LimitRequestHeaders"
    before = log.read_text().count(refusal)
    secret = "Basic " + "S" * 8192
    assert_json_error(
        _exchange(port, _request("/v2/Services", {"Authorization": secret})), 431, 20431
    )
    text = log.read_text()  # written before the answer, as above
    assert text.count(refusal) == before + 1
    assert "SSSSSSSS" not in text


def test_every_operation_documents_the_http_servers_refusals():
    from rest_framework.test import APIClient

    spec = APIClient().get("/openapi.json").json()
    operations = [op for methods in spec["paths"].values() for op in methods.values()]
    assert operations
    for op in operations:
        assert "400" in op["responses"], op["operationId"]  # 20400 or the operation's own
        for status, code in (("414", "20414"), ("431", "20431")):
            assert code in op["responses"][status]["description"], (op["operationId"], status)
