"""One request, one log line (SECURITY.md R24): a CR/LF or NUL in a request cannot forge or
break a line of the log.

The capture is the LOGGING config's own console handler (its formatter included), pointed at
a buffer for the test, so what is checked is what an operator's log would hold.
"""

from __future__ import annotations

import io
import logging
from urllib.parse import quote

import pytest

from tests.conftest import api_client
from verify_platform.lib.logsafe import escape

pytestmark = pytest.mark.django_db

FORGED = "\r\n2026-01-01 00:00:00,000 INFO verify_platform.requests FORGED request_id=x"


@pytest.fixture
def log_lines():
    """The text the configured console handler writes, split into lines, while the request
    logger logs at INFO whatever LOG_LEVEL says."""
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "name", "") == "console"]
    assert len(handlers) == 1, logging.getLogger().handlers
    handler = handlers[0]
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    request_logger = logging.getLogger("verify_platform.requests")
    previous_level = request_logger.level
    request_logger.setLevel(logging.INFO)
    try:
        yield lambda: buffer.getvalue().splitlines()
    finally:
        request_logger.setLevel(previous_level)
        handler.setStream(previous_stream)


@pytest.mark.parametrize("authenticated", [True, False], ids=["tenant", "anonymous"])
@pytest.mark.parametrize(
    "suffix",
    [FORGED, "\x00", "\n", "\r", "\u2028FORGED", "\x1b[2J", "\x85"],
    ids=["crlf", "nul", "lf", "cr", "line-separator", "terminal-escape", "next-line"],
)
def test_a_forged_path_is_one_escaped_line(tenant, log_lines, authenticated, suffix):
    client = api_client(tenant if authenticated else None)
    path = "/v2/Services/VA" + suffix
    response = client.get(quote(path))
    assert 400 <= response.status_code < 500

    lines = [line for line in log_lines() if "verify_platform.requests" in line]
    assert len(lines) == 1, lines
    (line,) = lines
    assert "path=" + escape(path) + " " in line, line
    assert line.isprintable(), repr(line)
    if suffix == FORGED:
        assert "\\r\\n2026-01-01" in line


def test_a_record_with_line_breaks_is_one_line_and_keeps_its_traceback(log_lines):
    """Whoever logs a request value, the formatter escapes the message; a traceback that
    follows it is printed as Python printed it."""
    logger = logging.getLogger("verify_platform.api")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.error("unhandled error on %s", "/v2/x\r\nFORGED\x00", exc_info=True)

    lines = log_lines()
    assert lines[0].endswith("ERROR verify_platform.api unhandled error on /v2/x\\r\\nFORGED\\x00")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"
    assert not any("FORGED" in line for line in lines[1:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain /v2/Services ünïcödé 🙂", "plain /v2/Services ünïcödé 🙂"),
        ("a\r\nb\tc\x00d\x7fe", "a\\r\\nb\\tc\\x00d\\x7fe"),
        ("\x85\u2028\u202e\U000e0001", "\\x85\\u2028\\u202e\\U000e0001"),
    ],
)
def test_escape(text, expected):
    assert escape(text) == expected
