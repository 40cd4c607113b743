"""HTTP as Twilio's Verify Push SDKs speak it (Android `RequestHelper`, iOS `RequestHelper`).

Every request carries a `User-Agent` in the SDKs' `;`-separated shape and Basic auth with the
user `token`; bodies are form-encoded. POST and DELETE send `Accept: application/json`, GET
sends `Accept: application/x-www-form-urlencoded` (the SDKs do; a server must still answer
JSON). On a 401 that carries a `Date` header the SDKs correct their clock by it and retry once
(`BaseAPIClient.validateException`), so a device with a wrong clock still authenticates.
"""

from __future__ import annotations

import base64
import platform
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from .tokens import AUTH_USER

VERSION = "1.0.0"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
TIMEOUT = 15.0


class ApiError(Exception):
    """A non-2xx answer; `code` and `message` from the Twilio-shaped error body."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        self.code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else str(body)
        super().__init__(f"HTTP {status} (code {self.code}): {message}")


def user_agent(app_name: str) -> str:
    """app; platform; app version; app build; OS; device; SDK name; SDK version; SDK build."""
    os_version = f"{platform.system()} {platform.release()}"
    parts = [app_name, "Python", VERSION, "1", os_version, platform.machine() or "unknown"]
    return "; ".join([*parts, "VerifyPushReferenceDevice", VERSION, "1"])


def basic(password: str) -> str:
    raw = f"{AUTH_USER}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Transport:
    def __init__(self, *, app_name: str, time_correction: int = 0) -> None:
        self.session = requests.Session()
        self.user_agent = user_agent(app_name)
        self.time_correction = time_correction

    def now(self) -> int:
        """Device time in Unix seconds, corrected by the server's clock when it told us."""
        return int(time.time()) + self.time_correction

    def request(
        self,
        method: str,
        url: str,
        *,
        password: Callable[[], str],
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        retry_on_clock: bool = True,
    ) -> requests.Response:
        """Send once; on 401 with a `Date` header, correct the clock and send once more.
        `password` is called per attempt so the retry carries a JWT from the corrected clock."""
        for attempt in (0, 1):
            headers = {
                "User-Agent": self.user_agent,
                "Authorization": basic(password()),
                "Accept": FORM if method == "GET" else JSON,
                "Content-Type": FORM,
            }
            response = self.session.request(
                method, url, headers=headers, data=data, params=params, timeout=TIMEOUT
            )
            date = response.headers.get("Date")
            if response.status_code == 401 and retry_on_clock and attempt == 0 and date:
                self.time_correction = int(parsedate_to_datetime(date).timestamp() - time.time())
                continue
            break
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            raise ApiError(response.status_code, body)
        return response
