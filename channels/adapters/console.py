"""Development adapter: prints each message to stdout (a deploy check refuses it)."""

from __future__ import annotations

import sys
import threading

from channels.base import BaseChannelAdapter, DeliveryStatus, OutboundMessage, SendResult
from channels.templates import render


class ConsoleAdapter(BaseChannelAdapter):
    name = "console"
    option_names = frozenset({"stream"})
    _lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        stream = self.options.get("stream") or sys.stdout
        rendered = render(message)
        text = rendered.body
        if rendered.subject is not None:
            text = f"Subject: {rendered.subject}\n{text}"
        with self._lock:
            stream.write(
                f"--- {message.channel} to {message.to} (attempt {message.attempt_sid}) ---\n"
                f"{text}\n---\n"
            )
            stream.flush()
        return SendResult(status=DeliveryStatus.SENT, provider_message_id=message.attempt_sid)
