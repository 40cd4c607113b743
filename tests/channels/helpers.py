from __future__ import annotations

from channels.base import OutboundMessage

FROM_NUMBER = "+15005550006"
WHATSAPP_FROM = "+14155238886"
MESSAGING_SERVICE_SID = "MG" + "b2" * 16
ATTEMPT_SID = "VL" + "0" * 32


def message(**overrides) -> OutboundMessage:
    values = {
        "channel": "sms",
        "to": "+14155550100",
        "code": "123456",
        "service_name": "Acme Login",
        "attempt_sid": ATTEMPT_SID,
    }
    values.update(overrides)
    return OutboundMessage(**values)
