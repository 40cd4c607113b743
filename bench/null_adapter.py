"""A channel adapter that accepts and drops every message (benchmarks only)."""

from channels.base import BaseChannelAdapter, DeliveryStatus, OutboundMessage, SendResult


class NullAdapter(BaseChannelAdapter):
    name = "null"

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(status=DeliveryStatus.SENT, provider_message_id=message.attempt_sid)
