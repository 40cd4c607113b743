"""The shapes the Verifications forms publish in the schema, beside the checks that decide.

Some rules are not regular: "printable" follows the Unicode database (`str.isprintable`), an
IP address is what `ipaddress` parses, a destination is what `challenges.destinations`
normalises. For those the schema publishes a pattern that every value it allows passes (a
subset of what the server accepts), written in the syntax Python and ECMA-262 read alike,
and the check itself stays the server's own (`Checked`)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from verify_platform.lib.api.forms import Pattern
from verify_platform.lib.phones import E164_PATTERN as E164

# E.164: `+`, a country code that does not start with 0, at most 15 digits in all. Which of
# these numbers a numbering plan assigns is phonenumbers' data, not a pattern.
# E-mail addresses Django's `validate_email` accepts, kept plain (dot-atoms of letters,
# digits, `_`, `+`, `-`, not starting with the `+` that marks a phone number; host names of
# letters, digits and inner `-`) and at most 200 characters; the server accepts more (quoted
# local parts, IDN domains).
EMAIL = (
    r"[A-Za-z0-9_-][A-Za-z0-9_+-]{0,31}(?:\.[A-Za-z0-9_+-]{1,32}){0,2}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?\.){1,3}[A-Za-z]{2,24}"
)
DESTINATION = f"{E164}|{EMAIL}"
_E164 = re.compile(E164)

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_HEX = r"[0-9A-Fa-f]{1,4}"
# RFC 4291 text forms (eight groups, or fewer around one `::`, the last 32 bits possibly
# dotted), every one of which `ipaddress` parses; a zone (`%eth0`) is not published.
IPV6 = "|".join(
    [
        rf"(?:{_HEX}:){{7}}{_HEX}",
        rf"(?:{_HEX}:){{6}}{IPV4}",
        *(
            rf"(?:{_HEX}(?::{_HEX}){{0,{left - 1}}})?::"
            rf"(?:(?:{_HEX}:){{0,{6 - left}}}{_HEX}|(?:{_HEX}:){{0,{5 - left}}}{IPV4})?"
            for left in range(1, 6)
        ),
        rf"(?:{_HEX}(?::{_HEX}){{0,5}})?::(?:{_HEX})?",
        rf"(?:{_HEX}(?::{_HEX}){{0,6}})?::",
    ]
)
IP_ADDRESS = f"{IPV4}|{IPV6}"


def any_case(*words: str) -> str:
    """`converted` -> `[cC][oO]...`: the words in any ASCII case, as one alternation (ECMA-262
    has no inline case-insensitive flag)."""
    return "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word) for word in words
    )


@functools.cache
def printable_class() -> str:
    """A character class of the printable characters of the Basic Multilingual Plane that NFC
    leaves as they are, as `\\uXXXX` ranges from this Python's Unicode database (what
    `str.isprintable` reads). Printable characters beyond it (emoji) are accepted but not
    published: neither dialect can name a code point above U+FFFF the other reads alike.
    Only NFC-stable ones, so that a published value keeps its length after the form's NFC."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x10000):
        char = chr(code)
        if not (char.isprintable() and unicodedata.is_normalized("NFC", char)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return (
        "["
        + "".join(
            f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}"
            for low, high in ranges
        )
        + "]"
    )


def printable_text(*, trimmed: bool) -> str:
    """Printable text (`printable_class`); `trimmed`: not only spaces, which a form that trims
    whitespace would then find blank."""
    return ("(?! *$)" if trimmed else "") + printable_class() + "*"


class Checked(Pattern):
    """A rule that `check` decides, published as `regex`: every value `regex` matches passes
    `check`, which may accept more. For rules no regex says exactly (`str.isprintable`, an IP
    address); the check is what the server ran before, so the schema costs no request
    anything."""

    def __init__(
        self,
        regex: str,
        check: Callable[[str], bool],
        message: str,
        *,
        length: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(regex, message, length=length)
        self.check = check

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str) or not self.check(value):
            raise serializers.ValidationError(self.message, code=self.code)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 320,
        "pattern": f"^(?:{DESTINATION})$",
        "description": "An E.164 phone number (`+14155550100`) or an e-mail address. Which "
        "numbers exist is the numbering plans' (phonenumbers) decision; the server also "
        "accepts the usual separators in a number and any address Django's e-mail check "
        "accepts.",
    }
)
class DestinationField(serializers.CharField):
    """`To` (and `ChannelData.To`): judged by the form's `validate` (`normalize_to`), which
    knows the channel."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=320, trim_whitespace=False, **kwargs)


def destination_refusal(raw: str, otherwise: str) -> str:
    """Why `normalize_to` refused `raw`: a number of the published E.164 shape that no
    numbering plan assigns is said apart (the one refusal the schema cannot foresee), any
    other value gets `otherwise`. Runs only on the refusal path."""
    return "no numbering plan assigns this number" if _E164.fullmatch(raw) else otherwise
