"""Errors of the OTP engine, with Twilio's codes."""

from __future__ import annotations

from verify_platform.lib.errors import VerifyError


class MaxCheckAttemptsReached(VerifyError):
    status, code, default_message = 429, 60202, "Max check attempts reached"


class MaxSendAttemptsReached(VerifyError):
    status, code, default_message = 429, 60203, "Max send attempts reached"


class ConcurrentRequests(VerifyError):
    status, code, default_message = 429, 60212, "Too many concurrent requests for phone number"
