"""Fake push providers on 127.0.0.1 that check what the platform sends them.

    with FakeAPNs() as apns, FakeFCM() as fcm:
        apns.register_key(key_id=..., team_id=..., public_key=..., topic="com.example.app")
        fcm.register_service_account(client_email=..., private_key_id=..., public_key=...,
                                     project_id="my-project")
        settings.VERIFY_PUSH = {**settings.VERIFY_PUSH, "APNS_URL": apns.url,
                                "APNS_SANDBOX_URL": apns.url, "FCM_URL": fcm.url}
        ...  # send
        [sent] = apns.wait_for(1)           # bounded wait for the first n sends
        assert sent.problems == [] and sent.json["challenge_sid"] == ...

(`tests/push_support.py` registers keys and points settings or a worker at the fakes.)

`FakeAPNs` (HTTP/2 with prior knowledge, as the platform's client speaks to a plain URL)
checks `POST /3/device/{token}`: the bearer JWT (ES256 by the registered key of its `kid`,
`iss` its Team ID, `iat` under an hour old), `apns-topic` (registered with the key),
`apns-push-type: alert`, `apns-expiration`, `apns-priority`, the body's `aps.alert`.
`FakeFCM` (HTTP/1.1): `POST /token` is a service account's `token_uri` and checks the
JWT-bearer assertion (RS256 by the registered key of its `kid`, `iss` the client e-mail,
the firebase.messaging scope); `POST /v1/projects/{id}/messages:send` checks the access token
it issued and the v1 body (`message.token`, string `data`, `android.ttl` "<n>s", nothing else).
A failed check is answered as the provider would and listed in the request's `problems`.

Both record sends in `requests` (FCM's token calls in `token_requests`) and answer the next
send as told: `fail_next("gone")` (APNs 410 Unregistered, FCM 404 UNREGISTERED),
`"bad_token"` (APNs 400 BadDeviceToken, FCM 400 INVALID_ARGUMENT on message.token),
`"unavailable"` (503). `wait_for(n, timeout)` waits on a Condition for the first n sends.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import socketserver
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.events
import jwt

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# The audience Google's token endpoint accepts in an assertion (google-auth always sends it,
# whatever the token_uri it posts to).
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


@dataclass
class Received:
    """One send as the fake saw it. `problems` lists every check it failed (empty: valid)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    token: str = ""
    json: Any = None
    problems: list[str] = field(default_factory=list)
    status: int = 0


class _Recorder:
    """The shared part: recorded sends, failures queued for the next ones, bounded waits."""

    FAILURES: dict[str, tuple[int, str]] = {}

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._failures: list[str] = []
        self._cond = threading.Condition()

    def _serve_in_background(self, server: socketserver.TCPServer) -> None:
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, kind: str, times: int = 1) -> None:
        if kind not in self.FAILURES:
            raise ValueError(f"unknown failure {kind!r}; one of {sorted(self.FAILURES)}")
        with self._cond:
            self._failures.extend([kind] * times)

    def _next_failure(self) -> str | None:
        with self._cond:
            return self._failures.pop(0) if self._failures else None

    def _record(self, received: Received) -> None:
        with self._cond:
            self.requests.append(received)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Received]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout=timeout):
                raise AssertionError(
                    f"{type(self).__name__}: {len(self.requests)} request(s) after {timeout}s, "
                    f"waiting for {n}"
                )
            return self.requests[:n]


# --- APNs ---------------------------------------------------------------------------------


class FakeAPNs(_Recorder):
    FAILURES = {
        "gone": (410, "Unregistered"),
        "bad_token": (400, "BadDeviceToken"),
        "unavailable": (503, "ServiceUnavailable"),
    }

    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[str, tuple[str, Any, set[str]]] = {}
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._serve(self.request)

        self._serve_in_background(socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler))

    def register_key(self, *, key_id: str, team_id: str, public_key: Any, topic: str) -> None:
        """Accept tokens signed by `public_key` (kid `key_id`, iss `team_id`) for `topic`."""
        _team, _key, topics = self._keys.get(key_id, (team_id, public_key, set()))
        self._keys[key_id] = (team_id, public_key, {*topics, topic})

    def _serve(self, sock: socket.socket) -> None:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams: dict[int, Received] = {}
        while True:
            try:
                data = sock.recv(65535)
            except OSError:
                return
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    headers = {k.lower(): v for k, v in event.headers}
                    streams[event.stream_id] = Received(
                        headers.get(":method", ""), headers.get(":path", ""), headers, b""
                    )
                elif isinstance(event, h2.events.DataReceived):
                    streams[event.stream_id].body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    received = streams.pop(event.stream_id)
                    status, reason = self._answer(received)
                    received.status = status
                    apns_id = str(uuid.uuid4()).upper()
                    payload = b"" if status == 200 else json.dumps({"reason": reason}).encode()
                    headers = [(":status", str(status)), ("apns-id", apns_id)]
                    if payload:
                        headers.append(("content-type", "application/json"))
                    conn.send_headers(event.stream_id, headers, end_stream=not payload)
                    if payload:
                        conn.send_data(event.stream_id, payload, end_stream=True)
                    self._record(received)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    sock.sendall(conn.data_to_send())
                    return
            sock.sendall(conn.data_to_send())

    def _answer(self, r: Received) -> tuple[int, str]:
        """Apple's checks, in Apple's order of precedence; the first failure is the answer."""
        match = re.fullmatch(r"/3/device/([0-9A-Za-z_:\-]+)", r.path)
        if r.method != "POST":
            r.problems.append("method")
            return 405, "MethodNotAllowed"
        if not match:
            r.problems.append("path")
            return 404, "BadPath"
        r.token = match.group(1)
        auth = r.headers.get("authorization", "")
        if not auth.startswith("bearer "):
            r.problems.append("authorization")
            return 403, "MissingProviderToken"
        topics = self._check_jwt(auth.removeprefix("bearer "), r)
        if topics is None:
            return 403, "InvalidProviderToken"
        checks = (
            ("apns-topic", lambda v: v in topics, "BadTopic"),
            ("apns-push-type", lambda v: v == "alert", "InvalidPushType"),
            ("apns-expiration", lambda v: (v or "").isdigit(), "BadExpirationDate"),
            ("apns-priority", lambda v: v in ("5", "10"), "BadPriority"),
        )
        for header, valid, reason in checks:
            if not valid(r.headers.get(header)):
                r.problems.append(header)
                return 400, reason
        try:
            r.json = json.loads(r.body)
            alert = r.json["aps"]["alert"]
            assert isinstance(alert, str) or isinstance(alert.get("body"), str)
        except (ValueError, KeyError, TypeError, AssertionError, AttributeError):
            r.problems.append("payload")
            return 400, "PayloadEmpty"
        failure = self._next_failure()
        return self.FAILURES[failure] if failure else (200, "")

    def _check_jwt(self, token: str, r: Received) -> set[str] | None:
        try:
            header = jwt.get_unverified_header(token)
            team_id, public_key, topics = self._keys[header["kid"]]
            claims = jwt.decode(
                token, public_key, algorithms=["ES256"], options={"require": ["iss", "iat"]}
            )
        except (jwt.InvalidTokenError, KeyError) as exc:
            r.problems.append(f"jwt: {exc!r}")
            return None
        if header.get("alg") != "ES256" or claims["iss"] != team_id:
            r.problems.append("jwt: alg or iss")
            return None
        if not 0 <= time.time() - claims["iat"] < 3600:
            r.problems.append("jwt: iat")
            return None
        return topics


# --- FCM ----------------------------------------------------------------------------------


class FakeFCM(_Recorder):
    FAILURES = {
        "gone": (404, "UNREGISTERED"),
        "bad_token": (400, "INVALID_ARGUMENT"),
        "unavailable": (503, "UNAVAILABLE"),
    }

    def __init__(self) -> None:
        super().__init__()
        self.token_requests: list[Received] = []
        self._accounts: dict[str, tuple[str, Any, str]] = {}  # kid -> (email, key, project)
        self._issued: dict[str, str] = {}  # access token -> project id
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                r = Received(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                status, body = fake._handle(r)
                r.status = status
                # Recorded before the answer leaves: a caller that has its answer sees it.
                if r.path == "/token":
                    fake.token_requests.append(r)
                else:
                    fake._record(r)
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._serve_in_background(ThreadingHTTPServer(("127.0.0.1", 0), Handler))

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def register_service_account(
        self, *, client_email: str, private_key_id: str, public_key: Any, project_id: str
    ) -> None:
        self._accounts[private_key_id] = (client_email, public_key, project_id)

    def _handle(self, r: Received) -> tuple[int, dict]:
        if r.path == "/token":
            return self._token(r)
        match = re.fullmatch(r"/v1/projects/([^/]+)/messages:send", r.path)
        if not match:
            r.problems.append("path")
            return 404, _google_error(404, "NOT_FOUND", "no such method")
        project = match.group(1)
        auth = r.headers.get("authorization", "")
        if self._issued.get(auth.removeprefix("Bearer ")) != project:
            r.problems.append("authorization")
            return 401, _google_error(401, "UNAUTHENTICATED", "bad access token")
        problem = self._check_body(r)
        if problem:
            r.problems.append(problem)
            return 400, _google_error(400, "INVALID_ARGUMENT", problem)
        failure = self._next_failure()
        if failure:
            status, code = self.FAILURES[failure]
            return status, _google_error(status, code, field="message.token")
        return 200, {"name": f"projects/{project}/messages/{secrets.token_hex(8)}"}

    def _token(self, r: Received) -> tuple[int, dict]:
        form = {k: v[0] for k, v in parse_qs(r.body.decode()).items()}
        refused = (400, {"error": "invalid_grant", "error_description": "bad assertion"})
        if form.get("grant_type") != JWT_BEARER:
            r.problems.append("grant_type")
            return refused
        try:
            assertion = form["assertion"]
            email, public_key, project = self._accounts[jwt.get_unverified_header(assertion)["kid"]]
            claims = jwt.decode(
                assertion,
                public_key,
                algorithms=["RS256"],
                audience=[self.token_uri, GOOGLE_TOKEN_AUDIENCE],
                issuer=email,
                options={"require": ["iat", "exp", "iss", "aud"]},
            )
        except (jwt.InvalidTokenError, KeyError) as exc:
            r.problems.append(f"assertion: {exc!r}")
            return refused
        if FCM_SCOPE not in claims.get("scope", "").split() or claims["exp"] - claims["iat"] > 3600:
            r.problems.append("assertion: scope or lifetime")
            return refused
        access_token = "ya29.fake-" + secrets.token_urlsafe(24)
        self._issued[access_token] = project
        return 200, {"access_token": access_token, "expires_in": 3599, "token_type": "Bearer"}

    @staticmethod
    def _check_body(r: Received) -> str | None:
        try:
            r.json = json.loads(r.body)
            message = r.json["message"]
            r.token = message["token"]
        except (ValueError, KeyError, TypeError):
            return "body is not {message: {token, ...}}"
        if set(r.json) != {"message"} or not set(message) <= {"token", "data", "android", "apns"}:
            return f"unexpected fields {sorted(message)}"
        data = message.get("data", {})
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            return "data values must be strings"
        ttl = message.get("android", {}).get("ttl", "0s")
        if not re.fullmatch(r"\d+(\.\d{1,9})?s", str(ttl)):
            return "android.ttl is not a duration"
        return None


_GOOGLE_STATUS = {
    "UNREGISTERED": ("NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": ("INVALID_ARGUMENT", "The registration token is not a valid FCM token"),
    "UNAVAILABLE": ("UNAVAILABLE", "The service is unavailable."),
}


def _google_error(
    status: int, code: str, message: str | None = None, *, field: str | None = None
) -> dict:
    """A Google API error body with FCM's errorCode (and the blamed field for a bad token)."""
    name, default = _GOOGLE_STATUS.get(code, (code, code))
    message = message or default
    details: list[dict] = [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
    ]
    if code == "INVALID_ARGUMENT" and field:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}],
            }
        )
    return {"error": {"code": status, "message": message, "status": name, "details": details}}
