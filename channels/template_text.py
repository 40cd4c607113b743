"""Template text syntax (Twilio's): `{{code}}`, `{{friendly_name}}`, `{{ttl}}` and the
caller's own `{{name}}` variables, and the cleaning of every value put into a message.

Kept apart from the per-channel rendering (`channels.templates`, which re-exports these
names) so the admin and the API can validate a text without building a message. A value is
only ever a value: filled in one pass, never scanned again for placeholders, never
evaluated, stripped of control characters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

# Characters XML 1.0 cannot carry, and lone surrogates, which no encoder accepts, plus the
# bidirectional embeddings, overrides and isolates: a name holding one could reorder the
# digits of the code on screen (or break out of the isolate put around it).
_UNSAFE_CHARS = re.compile(
    "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u202a-\u202e\u2066-\u2069]"
)
# A substitution value is one short line: no control character at all.
_VALUE_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
    "|[^\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# What a template's own text may not hold: control characters other than line breaks.
_TEMPLATE_UNSAFE = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
    "|[^\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
TEMPLATE_MAX_LENGTH = 600
VALUE_MAX_LENGTH = 64
BUILTIN_VARIABLES = frozenset({"code", "friendly_name", "ttl"})
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_PLACEHOLDER_RE = re.compile(r"\{\{([^{}]*)\}\}")


class TemplateRenderError(ValueError):
    """A template text that cannot be rendered: bad syntax, no `{{code}}`, or a variable
    without a value. Texts are validated when they are stored and when a verification
    starts, so reaching this is a bug upstream; refusing beats sending a broken code."""


def clean(text: object) -> str:
    return _UNSAFE_CHARS.sub("", text if isinstance(text, str) else str(text or ""))


def clean_value(value: object) -> str:
    """A substitution value as it may appear in a message: one line, no control or bidi
    characters, at most `VALUE_MAX_LENGTH` characters."""
    text = value if isinstance(value, str) else str(value if value is not None else "")
    return _VALUE_UNSAFE.sub("", text)[:VALUE_MAX_LENGTH]


def template_variables(text: str) -> set[str]:
    """The well-formed variable names `text` uses, the built-in ones included (the custom
    ones are `template_variables(text) - BUILTIN_VARIABLES`)."""
    return {m.group(1) for m in _PLACEHOLDER_RE.finditer(text) if NAME_RE.fullmatch(m.group(1))}


def validate_template_text(text: object) -> list[str]:
    """Why `text` cannot be a template, one phrase each (an empty list when it can)."""
    if not isinstance(text, str) or not text.strip():
        return ["must be non-empty text"]
    problems: list[str] = []
    if len(text) > TEMPLATE_MAX_LENGTH:
        problems.append(f"is longer than {TEMPLATE_MAX_LENGTH} characters")
    if _TEMPLATE_UNSAFE.search(text):
        problems.append("holds control characters (only line breaks are allowed)")
    names = template_variables(text)
    bad = sorted({m.group(1) for m in _PLACEHOLDER_RE.finditer(text)} - names)
    if bad:
        shown = ", ".join(repr("{{" + name[:40] + "}}") for name in bad[:5])
        problems.append(
            f"has invalid variable names ({shown}): a name is a letter or _ followed by up to "
            "31 letters, digits or _"
        )
    rest = _PLACEHOLDER_RE.sub("", text)
    if "{" in rest or "}" in rest:
        problems.append("has unbalanced braces: a variable is written {{name}}")
    if "code" not in names:
        problems.append("does not contain {{code}}")
    return problems


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> tuple[tuple[str, str | None], ...]:
    """(literal, variable name or None) pieces of a template text, checked once per text."""
    if "code" not in template_variables(text):
        raise TemplateRenderError("the template text does not contain {{code}}")
    pieces: list[tuple[str, str | None]] = []
    start = 0
    for match in _PLACEHOLDER_RE.finditer(text):
        name = match.group(1)
        if not NAME_RE.fullmatch(name):
            raise TemplateRenderError(f"invalid template variable name {name[:40]!r}")
        pieces.append((clean(text[start : match.start()]), name))
        start = match.end()
    pieces.append((clean(text[start:]), None))
    return tuple(pieces)


def render_template(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `{{name}}` replaced by `values[name]`, in one pass: a value is never
    scanned for placeholders, so a value holding `{{code}}` stays those characters."""
    out: list[str] = []
    for literal, name in _parse(text):
        out.append(literal)
        if name is not None:
            value = values.get(name)
            if value is None:
                raise TemplateRenderError(f"the template variable {{{{{name}}}}} has no value")
            out.append(value)
    return "".join(out)
