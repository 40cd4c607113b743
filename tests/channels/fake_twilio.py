"""A local stand-in for Twilio's REST API (Messages and Calls), so the real `twilio` SDK is
exercised end to end: its URL building, form encoding, auth header and error parsing.

Binds 127.0.0.1 on a free port. Responses are scripted per request in order
(`fake.script(Reply(400, error(21211, ...)), Hang(), ...)`); once the script is used up every
request gets a 201 with a resource shaped like Twilio's. Every request is recorded.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
_PATH_RE = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/(Messages|Calls)\.json$")
HANG_LIMIT_SECONDS = 10.0  # a hung handler gives up at the latest after this


@dataclass(frozen=True)
class Reply:
    status: int = 201
    body: dict | str | None = None  # None: a Twilio-shaped resource for the request
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Accept the request and never answer (until the server stops)."""


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    resource: str  # "Messages" or "Calls"
    headers: dict[str, str]
    form: dict[str, list[str]]

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


def error(code: int, message: str, status: int = 400) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.credentials: set[tuple[str, str]] = {(account_sid, auth_token)}
        self.auth_token = auth_token
        self.requests: list[Recorded] = []
        self._script: deque[Reply | Hang] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply | Hang) -> None:
        with self._lock:
            self._script.extend(replies)

    def allow(self, username: str, password: str) -> None:
        self.credentials.add((username, password))

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self) -> Reply | Hang:
        with self._lock:
            return self._script.popleft() if self._script else Reply()

    def _resource(self, resource: str, form: dict[str, list[str]]) -> dict:
        def one(name: str) -> str | None:
            return form.get(name, [None])[0]

        if resource == "Calls":
            sid = "CA" + secrets.token_hex(16)
            return {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": one("To"),
                "from": one("From"),
                "status": "queued",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            }
        sid = "SM" + secrets.token_hex(16)
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": one("To"),
            "from": one("From"),
            "messaging_service_sid": one("MessagingServiceSid"),
            "body": one("Body"),
            "status": "accepted" if one("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict | str, headers: dict[str, str]) -> None:
                raw = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                match = _PATH_RE.match(self.path)
                if not match:
                    self._send(404, error(20404, "not found", 404), {})
                    return
                if not self._authorised():
                    self._send(401, error(20003, "Authenticate", 401), {})
                    return
                if match.group(1) != fake.account_sid:
                    self._send(404, error(20404, "not found", 404), {})
                    return
                resource = match.group(2)
                with fake._lock:
                    fake.requests.append(
                        Recorded("POST", self.path, resource, dict(self.headers.items()), form)
                    )
                reply = fake._next()
                if isinstance(reply, Hang):
                    fake.stopping.wait(HANG_LIMIT_SECONDS)
                    return
                body = reply.body if reply.body is not None else fake._resource(resource, form)
                self._send(reply.status, body, reply.headers)

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return False
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except ValueError:
                    return False
                return (user, password) in fake.credentials

        return Handler


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    try:
        yield fake
    finally:
        fake.stop()
