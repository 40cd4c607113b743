"""HTTP Basic authentication by account SID + auth token or API key SID + secret.

Secrets are 128+ random bits, so a SHA-256 digest compared in constant time is as strong as a
password hash for them and costs microseconds instead of the 0.3 s a slow hash would add to
every request. Every failure (unknown SID, wrong secret, revoked key, suspended account) gives
the same 401 body, so the response tells an attacker nothing about which part was wrong.
"""

from __future__ import annotations

import base64
import binascii

from rest_framework import authentication
from rest_framework.request import Request

from services import queries
from services.auth_throttle import auth_failure_record
from services.models import Account
from verify_platform.lib.errors import AuthenticationFailed


class TwilioBasicAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "Verify"

    def authenticate(self, request: Request) -> tuple[Account, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None  # IsAuthenticated then answers 401 with our body
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, sep, password = decoded.partition(":")
        account = (
            queries.account_authenticate(username=username, password=password) if sep else None
        )
        if account is None:
            auth_failure_record(request)
            raise AuthenticationFailed()
        request.account = account
        return account, username

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{self.www_authenticate_realm}"'
