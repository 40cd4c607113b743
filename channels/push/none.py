"""`none`: the factor asked for no notifications; its app polls for pending challenges."""

from __future__ import annotations

from channels.push.base import PushMessage, PushOutcome, PushResult


class NoneAdapter:
    name = "none"

    def send(self, message: PushMessage) -> PushResult:
        return PushResult(PushOutcome.NOT_SENT, reason="the app polls")
