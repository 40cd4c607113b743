"""The code a call reads once the callee pressed a key (a Service's DtmfInputRequired).

Named by the setting `VERIFY_VOICE_CODE_HANDLER` and called by the channels app's signed
voice callback: the call's first TwiML only asks for a key press, so the code is never in it
nor in any URL, and is built here again only while the attempt's verification (or factor
code) is pending and unexpired.
"""

from __future__ import annotations

from challenges.domain.message import message_for_attempt
from channels.base import OutboundMessage


def spoken_message(*, attempt_sid: str) -> OutboundMessage | None:
    """The message the callback reads for `attempt_sid`, or None (the call says goodbye).
    Only a call that asked for a key press is answered: any other call read its code in
    its first TwiML, and a callback for it is not one Twilio would make."""
    message = message_for_attempt(attempt_sid)
    if message is None or not message.dtmf_input_required:
        return None
    return message
