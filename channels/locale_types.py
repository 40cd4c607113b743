"""The shape of one language's message texts, shared by `channels.locales` and the data modules.

Kept in its own module so the per-region text modules can build `Texts` without importing
`channels.locales`, which imports them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    """Every entry is a `str.format` template whose placeholders are the same closed set as
    the English entry's (`{service}`, `{code}`, `{minutes}`, `{amount}`, `{payee}`); user text
    only ever arrives as a value for them."""

    code: str  # first line of an SMS/WhatsApp/email body
    lifetime: str  # "{minutes}" minutes, plural (or a form that reads right for any count)
    lifetime_one: str  # exactly one minute
    warning: str  # the service's "do not share" warning
    subject: str  # email subject
    voice_intro: str  # said before the digits
    voice_repeat: str  # said before the digits the second time
    voice_goodbye: str
    say_language: str  # default <Say language="..."> for the language
    psd2: str  # PSD2 dynamic linking: "{amount}" and "{payee}" of the transaction
    voice_press_key: str  # said until the callee presses a key (DtmfInputRequired)
