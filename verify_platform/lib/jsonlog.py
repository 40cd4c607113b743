"""The JSON log format (`VERIFY_LOG_FORMAT=json`), for log shippers: one object per line.

Every record becomes `{"timestamp", "level", "logger", "message"}` (the timestamp in UTC,
ISO 8601 with milliseconds), plus `request_id`, `task_id` and `task_name` when the record
was logged inside a request or a task (`verify_platform.lib.request_context`), `exc_info`
and `stack_info` as strings when it has them, and, for the request log line, its fields
(`request_id`, `account`, `method`, `route`, `path`, `status`, `latency_ms`), which are the
arguments of its message (`STRUCTURED_LOGGERS`). Only that logger's arguments become fields:
another record's arguments could hold what must never reach a log (a body, a header value),
and its message shows only what its author chose.

One record is one line whatever it holds: every string goes through the JSON encoder, which
writes each control character, line separator and non-ASCII character as an escape,
tracebacks included. A record costs a few microseconds (see `JsonFormatter`).
"""

from __future__ import annotations

import json
import logging
import math
import time

__all__ = ("STRUCTURED_LOGGERS", "JsonFormatter")

# Loggers whose records' arguments are fields: the name of each argument, in order.
STRUCTURED_LOGGERS: dict[str, tuple[str, ...]] = {
    # verify_platform.lib.api.middleware.REQUEST_LINE
    "verify_platform.requests": (
        "request_id",
        "account",
        "method",
        "route",
        "path",
        "status",
        "latency_ms",
    ),
}

# A str in, its JSON string out, every control character, line separator and non-ASCII
# character escaped (`JSONEncoder.encode` of a str, which runs in C).
_quote = json.JSONEncoder(ensure_ascii=True).encode


def _value(value: object) -> str:
    """The JSON text of one field value; what JSON has no literal for is written as text."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return repr(round(value, 3))
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return _quote(str(value))


class JsonFormatter(logging.Formatter):
    """A `logging.Formatter` that renders a record as one JSON object (the module's
    docstring lists the fields).

    The object is joined from its parts rather than built as a dict for `json.dumps`: each
    value goes through the C string encoder, the keys are the module's own names, and the
    level-and-logger part is kept per logger. About 1.5 microseconds less per record than
    `json.dumps`, on the line every request writes."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        # Accepts (and ignores) the format options dictConfig may pass.
        super().__init__()
        self._second: tuple[int, str] = (-1, "")
        self._heads: dict[tuple[str, str], str] = {}

    def _timestamp(self, record: logging.LogRecord) -> str:
        """`2026-01-31T12:00:00.123Z`; the part before the dot is made once per second."""
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached  # one tuple: a thread sees the old pair or the new one
        return f"{cached[1]}.{int(record.msecs):03d}Z"

    def _head(self, record: logging.LogRecord) -> str:
        key = (record.levelname, record.name)
        head = self._heads.get(key)
        if head is None:
            head = f',"level":{_quote(record.levelname)},"logger":{_quote(record.name)}'
            if len(self._heads) < 10_000:  # loggers are few; never a leak if named per call
                self._heads[key] = head
        return head

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            '{"timestamp":"',
            self._timestamp(record),
            '"',
            self._head(record),
            ',"message":',
            _quote(record.getMessage()),
        ]
        names = STRUCTURED_LOGGERS.get(record.name)
        if names is not None and (type(record.args) is not tuple or len(record.args) != len(names)):
            names = None
        attributes = record.__dict__
        request_id = attributes.get("request_id")
        if request_id is not None and not (names and "request_id" in names):
            parts += (',"request_id":', _value(request_id))
        task_id = attributes.get("task_id")
        if task_id is not None:
            parts += (',"task_id":', _value(task_id))
            parts += (',"task_name":', _value(attributes.get("task_name")))
        if names is not None:
            for name, value in zip(names, record.args, strict=True):
                parts += (',"', name, '":', _value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            parts += (',"exc_info":', _quote(record.exc_text))
        if record.stack_info:
            parts += (',"stack_info":', _quote(self.formatStack(record.stack_info)))
        parts.append("}")
        return "".join(parts)
