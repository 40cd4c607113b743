"""Development adapter: each message is one INFO line of the `channels.console` logger (a
deploy check refuses the adapter).

A log line rather than a print: in the Celery worker a print is captured and re-logged by
`celery.redirected`, and in every process a line of the logging format says which process
sent what and when. With the `stream` option (tests) the message is written there instead.
"""

from __future__ import annotations

import logging
import threading

from channels.base import (
    BaseChannelAdapter,
    ChannelPermanentError,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
)
from channels.templates import TemplateRenderError, render

logger = logging.getLogger("channels.console")


class ConsoleAdapter(BaseChannelAdapter):
    name = "console"
    option_names = frozenset({"stream"})
    _lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            rendered = render(message)
        except TemplateRenderError as exc:
            raise ChannelPermanentError(f"template: {exc}") from exc
        stream = self.options.get("stream")
        if stream is None:
            # One line per message: the breaks of a multi-line body (e-mail) become " | ",
            # so no text in it (a service's name) can start a line of its own.
            text = rendered.body
            if rendered.subject is not None:
                text = f"Subject: {rendered.subject}\n{text}"
            text = " | ".join(line for line in text.splitlines() if line.strip())
            logger.info(
                "%s to %s (attempt %s): %s", message.channel, message.to, message.attempt_sid, text
            )
        else:
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
