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
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from services.webhooks import destinations


class _CheckedConnectionMixin:
    """`_new_conn` as urllib3 writes it, with the connect of `destinations` (same errors)."""

    def _new_conn(self) -> socket.socket:
        try:
            sock = destinations.connect(
                self._dns_host,
                self.port,
                timeout=self.timeout if isinstance(self.timeout, int | float) else None,
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
