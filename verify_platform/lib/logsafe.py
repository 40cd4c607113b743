"""One log record, one line: request values are escaped before they reach a log.

A path, header or parameter may carry CR, LF, NUL or terminal escape sequences; written
raw, `\\r\\n2026-01-01 ... INFO ... FORGED` in a URL would add a line that looks like the
platform's own. Every handler of the LOGGING config formats through `EscapingFormatter` (or,
with VERIFY_LOG_FORMAT=json, `verify_platform.lib.jsonlog.JsonFormatter`, whose JSON escapes
do the same), so whatever a module logs, and whoever wrote it, the rendered message is one
line; in the plain format the traceback that follows a record (`exc_info`) stays as Python
printed it, since its line breaks are the platform's own. `escape` is also used by code that
builds a line from request values itself (the request log, the HTTP workers).

The common case costs one `str.isprintable()` scan (C speed, well under a microsecond for a
log line); characters are translated only when something is there to escape.
"""

from __future__ import annotations

import logging
import time
from typing import Any

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
    docstring); the exception and stack text appended after it by `format` are not.

    A record logged inside a request or a task that a request started ends with
    ` request_id=<id>` (`verify_platform.lib.request_context`), so a worker's lines can be
    matched with the API call; the request log line names its id itself and is logged
    outside the request's context, so it is unchanged. The date part of `asctime` is
    computed once per second (the standard formatter calls `strftime` for every record)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None or self.default_msec_format is None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            text = time.strftime(self.default_time_format, self.converter(second))
            cached = (second, text)
            self._second = cached  # one tuple: a thread sees the old pair or the new one
        return self.default_msec_format % (cached[1], record.msecs)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = record.__dict__.get("request_id")
        if request_id is not None:
            line = f"{line} request_id={request_id}"
        return line if line.isprintable() else escape(line)
