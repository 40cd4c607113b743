"""The HTTP session of webhook deliveries: `requests`, connecting only to checked addresses.

urllib3 opens every connection through `HTTPConnection._new_conn`; the connection classes
below replace that one step with `destinations.connect`, which resolves the host once,
checks every address and connects to one of them. Everything above the socket is unchanged
and still works with the URL's host name: the Host header, TLS SNI and certificate
verification (against the name, not the address). Redirects are never followed (the caller
passes `allow_redirects=False`; a redirect's target would be another tenant-chosen URL, and
3xx is a failed delivery), and the environment's proxy
settings are ignored: through a proxy, the proxy would resolve the name and no check of ours
could stand.

`deadline` bounds a whole call. The read timeout bounds each read only: a receiver that
sends a byte every few seconds could hold a worker for hours, past its lease, and another
worker would then take the delivery over and send it a second time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from services.webhooks import destinations


class Deadline:
    """The end of one call: then every socket it opened is shut down, which wakes a read
    blocked on it (plain or TLS: the shutdown is on the descriptor) and fails the next."""

    def __init__(self, seconds: float) -> None:
        self.ends_at = time.monotonic() + seconds
        self.expired = False
        self._finished = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def finish(self) -> bool:
        """The call is over: from now on the deadline cuts nothing. Whether it had cut the
        call before (then what was read may be truncated: a cut connection reads as the end
        of the headers or of the body, not as an error)."""
        with self._lock:
            self._finished = True
            return self.expired

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


_local = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Connections opened by this thread inside the block end after `seconds` at most."""
    limit = Deadline(seconds)
    _local.deadline = limit
    limit._timer.start()
    try:
        yield limit
    finally:
        limit._timer.cancel()
        _local.deadline = None


class _CheckedConnectionMixin:
    """`_new_conn` as urllib3 writes it, with the connect of `destinations` (same errors)."""

    def _new_conn(self) -> socket.socket:
        limit: Deadline | None = getattr(_local, "deadline", None)
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        if limit is not None:
            timeout = min(timeout or limit.remaining(), limit.remaining())
            if timeout <= 0:
                raise ConnectTimeoutError(self, f"Connection to {self.host}: deadline passed")
        try:
            sock = destinations.connect(
                self._dns_host,
                self.port,
                timeout=timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        if limit is not None:
            limit.watch(sock)
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": CheckedHTTPConnectionPool,
            "https": CheckedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise requests.exceptions.InvalidProxyURL("webhook deliveries never use a proxy")


def session() -> requests.Session:
    """A session for one delivery (close it after use)."""
    sess = requests.Session()
    sess.trust_env = False  # no proxies or .netrc credentials from the environment ...
    sess.verify = os.environ.get("REQUESTS_CA_BUNDLE") or True  # ... but an operator's CAs
    adapter = CheckedAdapter(max_retries=0)
    sess.mount("http://", adapter)
    sess.mount("https://", adapter)
    return sess
