"""Test adapter: keeps messages in memory (`outbox`) and fails on demand.

Like `django.core.mail.outbox`: module-level state, cleared by `reset()`. Failures are
scripted per channel: `script_failures("sms", [ChannelTemporaryError("boom")])` makes the next
sms send raise that error, then later sends succeed.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

from channels.base import (
    BaseChannelAdapter,
    ChannelError,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
)

outbox: list[OutboundMessage] = []
_failures: dict[str, deque[ChannelError]] = defaultdict(deque)
_lock = threading.Lock()


def reset() -> None:
    with _lock:
        outbox.clear()
        _failures.clear()


def script_failures(channel: str, errors: list[ChannelError]) -> None:
    with _lock:
        _failures[channel].extend(errors)


class LocmemAdapter(BaseChannelAdapter):
    name = "locmem"

    def send(self, message: OutboundMessage) -> SendResult:
        with _lock:
            pending = _failures.get(message.channel)
            if pending:
                raise pending.popleft()
            outbox.append(message)
        return SendResult(status=DeliveryStatus.SENT, provider_message_id=message.attempt_sid)
