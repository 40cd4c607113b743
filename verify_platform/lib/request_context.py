"""The API request a piece of work belongs to, so one verification can be followed in the
logs from the API call to the provider's answer.

The request log middleware binds the request's id (`X-Request-Id`, or one it makes) for the
duration of the request; the apps' `enqueue` modules put it in each task message as the
header `HEADER` (`task_headers`); the worker binds it again, with the task's id and name,
around each task (`verify_platform.celery`), so what a task enqueues in turn (a fallback
step, a webhook retry) carries the id of the request that started the chain. Work that no
request started (beat's sweeps) carries none.

`RequestContextFilter`, on every handler of the LOGGING config, copies the bound values
onto each record (`request_id`, `task_id`, `task_name`: None when unbound), so every format
can show them. Context variables, not thread locals: each thread, and each asyncio task or
greenlet, sees its own.

Costs on the hot paths: a `ContextVar.get` (tens of nanoseconds) per enqueue and per record.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token

__all__ = (
    "HEADER",
    "RequestContextFilter",
    "bind_request",
    "bind_task",
    "request_id",
    "task_headers",
    "unbind_request",
    "unbind_task",
)

# The message header of a task that an API request (or a task it started) enqueued. Not a
# name Celery uses for itself: custom headers share the namespace of Celery's own.
HEADER = "verify_request_id"
# What a header may hold to be believed: the request log middleware accepts an incoming
# X-Request-Id of 8 to 64 letters, digits and dashes, and makes 32 hex digits otherwise.
MAX_LENGTH = 64

# (request id, task id, task name): one variable, so a record costs one `get`.
_Context = tuple[str | None, str | None, str | None]
_NONE: _Context = (None, None, None)
_context: ContextVar[_Context] = ContextVar("verify_request_context", default=_NONE)


def request_id() -> str | None:
    """The id of the request the current code works for, or None."""
    return _context.get()[0]


def bind_request(value: str | None) -> Token[_Context]:
    """Bind the request id `value`; give the token back to `unbind_request`."""
    return _context.set((value, None, None))


def unbind_request(token: Token[_Context]) -> None:
    _context.reset(token)


def task_headers() -> dict[str, str] | None:
    """The headers for a task message sent now: the bound request id, or None (no header,
    Celery's default) outside any request."""
    value = _context.get()[0]
    return None if value is None else {HEADER: value}


def bind_task(headers: object, task_id: str | None, task_name: str | None) -> Token[_Context]:
    """Around a task in the worker: the request id from the message's `headers` (a mapping
    or None; a value that no request could have sent is ignored) and the task's id and name.
    Give the token back to `unbind_task`."""
    value = headers.get(HEADER) if isinstance(headers, dict) else None
    if not (isinstance(value, str) and 0 < len(value) <= MAX_LENGTH and value.isprintable()):
        value = None
    return _context.set((value, task_id or "-", task_name or "-"))


def unbind_task(token: Token[_Context]) -> None:
    _context.reset(token)


class RequestContextFilter(logging.Filter):
    """Copies the bound request id, task id and task name onto every record it sees (None
    when unbound) and lets every record through. On a handler, so it serves whichever
    logger the record came from."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id, record.task_id, record.task_name = _context.get()
        return True
