"""Message text for each channel and locale.

Templates are `str.format` strings filled from a fixed set of values; user-supplied text
(service or friendly name) is only ever a value, never the template, so it cannot inject
placeholders or markup.
"""

from __future__ import annotations

from channels.base import OutboundMessage

DEFAULT_LOCALE = "en"

SMS_TEMPLATES = {
    "en": "Your {service} verification code is: {code}",
}
LIFETIME_LINES = {"en": "It expires in {minutes} minutes."}
DO_NOT_SHARE_LINES = {
    "en": "Don't share this code with anyone; our employees will never ask for it."
}


def _pick(table: dict[str, str], locale: str) -> str:
    lang = (locale or DEFAULT_LOCALE).replace("_", "-").split("-")[0].lower()
    return table.get(lang, table[DEFAULT_LOCALE])


def render_text(message: OutboundMessage) -> str:
    """The text of an SMS, WhatsApp or email body."""
    lines = [
        _pick(SMS_TEMPLATES, message.locale).format(
            service=message.service_name, code=message.code
        ),
        _pick(LIFETIME_LINES, message.locale).format(minutes=message.lifetime_minutes),
    ]
    if message.do_not_share_warning:
        lines.append(_pick(DO_NOT_SHARE_LINES, message.locale))
    if message.app_hash:
        lines.append(message.app_hash)
    return "\n".join(lines)
