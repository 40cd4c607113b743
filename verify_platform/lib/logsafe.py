"""One log record, one line: request values are escaped before they reach a log.

A path, header or parameter may carry CR, LF, NUL or terminal escape sequences; written
raw, `\\r\\n2026-01-01 ... INFO ... FORGED` in a URL would add a line that looks like the
platform's own. Every handler of the LOGGING config formats through `EscapingFormatter`, so
whatever a module logs, and whoever wrote it, the rendered message is one line; the
traceback that follows a record (`exc_info`) stays as Python printed it, since its line
breaks are the platform's own. `escape` is also used by code that builds a line from request
values itself (the request log, the HTTP workers).

The common case costs one `str.isprintable()` scan (C speed, well under a microsecond for a
log line); characters are translated only when something is there to escape.
"""

from __future__ import annotations

import logging

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"
    if point < 0x10000:
        return f"\\u{point:04x}"
    return f"\\U{point:08x}"


def escape(text: str) -> str:
    """`text` with every non-printable character (C0 and C1 controls, DEL, line and paragraph
    separators, format characters such as bidi overrides) written as a Python escape
    (`\\r`, `\\n`, `\\x00`, `\\u2028`). Printable text, the usual case, is returned as is."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


class EscapingFormatter(logging.Formatter):
    """A `logging.Formatter` whose rendered message line is escaped (see the module's
    docstring); the exception and stack text appended after it by `format` are not."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        return line if line.isprintable() else escape(line)
