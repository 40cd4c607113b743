"""The JSON log format (`VERIFY_LOG_FORMAT=json`) and the request id on every record.

The capture is the LOGGING config's own console handler (its filters included) pointed at a
buffer, with the formatter the settings name for the format under test, so what is checked
is what an operator's log shipper would read.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from tests.conftest import api_client
from verify_platform.lib.logsafe import escape

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REQUEST_ID = "req-0123456789abcdef"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REQUEST_FIELDS = {"request_id", "account", "method", "route", "path", "status", "latency_ms"}


class Capture:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def lines(self) -> list[str]:
        return self.buffer.getvalue().splitlines()

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.lines()]

    def requests(self) -> list[dict]:
        return [r for r in self.records() if r["logger"] == "verify_platform.requests"]


def capture(log_format: str):
    """The configured console handler, writing to a buffer with the `log_format` formatter
    of the LOGGING config; the request logger at INFO whatever LOG_LEVEL says."""
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "name", "") == "console"]
    assert len(handlers) == 1, logging.getLogger().handlers
    handler = handlers[0]
    config = settings.LOGGING["formatters"][log_format]
    formatter = import_string(config["class"])(config.get("format"))
    buffer = io.StringIO()
    previous = handler.setStream(buffer), handler.formatter
    handler.setFormatter(formatter)
    request_logger = logging.getLogger("verify_platform.requests")
    previous_level = request_logger.level
    request_logger.setLevel(logging.INFO)
    try:
        yield Capture(buffer)
    finally:
        request_logger.setLevel(previous_level)
        handler.setStream(previous[0])
        handler.setFormatter(previous[1])


@pytest.fixture
def json_log():
    yield from capture("json")


@pytest.fixture
def plain_log():
    yield from capture("plain")


def test_an_api_request_is_one_object_with_its_fields(tenant, service, json_log):
    secret_query = "Secret=query-value-1234"
    response = api_client(tenant).get(
        f"/v2/Services/{service.sid}?{secret_query}",
        HTTP_X_REQUEST_ID=REQUEST_ID,
        HTTP_X_SOMETHING="header-value-5678",
    )
    assert response.status_code == 200

    lines = json_log.lines()
    assert len(lines) == 1, lines
    (record,) = json_log.records()
    assert set(record) == {"timestamp", "level", "logger", "message"} | REQUEST_FIELDS
    assert TIMESTAMP.match(record["timestamp"]), record
    assert record["level"] == "INFO" and record["logger"] == "verify_platform.requests"
    assert record["request_id"] == REQUEST_ID
    assert record["account"] == tenant.account.sid
    assert record["method"] == "GET"
    assert record["route"] == "/v2/Services/<sid:sid>"
    assert record["path"] == f"/v2/Services/{service.sid}"
    assert record["status"] == 200
    assert isinstance(record["latency_ms"], float) and record["latency_ms"] >= 0
    # Never a query string, a header value or a credential.
    for never in ("query-value-1234", "header-value-5678", tenant.basic().split()[-1]):
        assert never not in lines[0]


def test_an_unknown_path_has_no_route(tenant, json_log):
    response = api_client(tenant).get("/v2/Nothing/Here", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 404
    (record,) = json_log.requests()
    assert record["route"] == "-" and record["status"] == 404
    assert record["path"] == "/v2/Nothing/Here"


def test_an_error_in_a_request_is_one_object_with_its_traceback(
    tenant, service, json_log, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("boom\r\nFORGED line")

    monkeypatch.setattr("services.api.views.queries.service_get", broken)
    response = api_client(tenant).get(f"/v2/Services/{service.sid}", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 500

    lines = json_log.lines()
    assert all(line.startswith("{") and line.isprintable() for line in lines), lines
    errors = [r for r in json_log.records() if r["logger"] == "verify_platform.api"]
    assert len(errors) == 1, lines
    (error,) = errors
    assert error["level"] == "ERROR"
    assert error["message"] == f"unhandled error on /v2/Services/{service.sid}"
    assert error["request_id"] == REQUEST_ID  # logged inside the request
    assert error["exc_info"].startswith("Traceback (most recent call last):\n")
    assert error["exc_info"].endswith("RuntimeError: boom\r\nFORGED line")
    (request,) = json_log.requests()
    assert request["status"] == 500 and request["request_id"] == REQUEST_ID


@pytest.mark.parametrize(
    "suffix",
    ['\r\n{"level":"INFO","message":"FORGED"}', "\x00", "\n", "\r", "\u2028x", "\x1b[2J"],
    ids=["crlf-forged-object", "nul", "lf", "cr", "line-separator", "terminal-escape"],
)
def test_a_forged_path_stays_one_object(tenant, json_log, suffix):
    path = "/v2/Services/VA" + suffix
    response = api_client(tenant).get(quote(path))
    assert 400 <= response.status_code < 500

    lines = json_log.lines()
    assert len(lines) == 1, lines
    assert lines[0].isprintable() and lines[0].isascii(), repr(lines[0])
    (record,) = json_log.records()
    assert record["path"] == escape(path)


def test_plain_lines_inside_a_request_end_with_its_id_and_the_request_line_is_unchanged(
    tenant, service, plain_log, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("services.api.views.queries.service_get", broken)
    api_client(tenant).get(f"/v2/Services/{service.sid}", HTTP_X_REQUEST_ID=REQUEST_ID)
    lines = plain_log.lines()
    error = next(line for line in lines if " verify_platform.api " in line)
    assert error.endswith(f"unhandled error on /v2/Services/{service.sid} request_id={REQUEST_ID}")
    request = next(line for line in lines if " verify_platform.requests " in line)
    assert re.search(
        rf" INFO verify_platform\.requests request_id={REQUEST_ID} account={tenant.account.sid}"
        rf" method=GET path=/v2/Services/{service.sid} status=500 latency_ms=\d+\.\d$",
        request,
    ), request
    logging.getLogger("verify_platform.test").warning("after the request")
    assert plain_log.lines()[-1].endswith("WARNING verify_platform.test after the request")


def test_a_record_outside_a_request_with_a_traceback_is_one_object(json_log):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("verify_platform.test").exception("failed on %s", "x\r\ny\x00")
    lines = json_log.lines()
    assert len(lines) == 1, lines
    (record,) = json_log.records()
    assert record["message"] == "failed on x\r\ny\x00"  # JSON escapes keep it one line
    assert "request_id" not in record and "task_id" not in record
    assert record["exc_info"].endswith("ValueError: boom")


def run_with_format(value: str) -> subprocess.CompletedProcess:
    """A process that configures Django with VERIFY_LOG_FORMAT=`value` and logs one warning."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('verify_platform.test').warning('switched on %s', 'x')"
    )
    env = {
        **os.environ,
        "VERIFY_LOG_FORMAT": value,
        "DJANGO_SETTINGS_MODULE": "verify_platform.settings",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_format_is_switched_by_the_setting():
    json_run = run_with_format("json")
    assert json_run.returncode == 0, json_run.stderr
    record = json.loads(json_run.stderr.strip().splitlines()[-1])
    assert record["message"] == "switched on x" and record["level"] == "WARNING"

    plain_run = run_with_format("plain")
    assert plain_run.returncode == 0, plain_run.stderr
    assert (
        plain_run.stderr.strip()
        .splitlines()[-1]
        .endswith("WARNING verify_platform.test switched on x")
    )

    wrong = run_with_format("xml")
    assert wrong.returncode != 0
    assert "VERIFY_LOG_FORMAT must be plain or json, not 'xml'" in wrong.stderr


def test_every_kind_of_field_value_stays_valid_json_on_one_line():
    """Whatever a request field holds (the request logger's arguments are the fields), the
    object parses and is one line of printable ASCII."""
    from verify_platform.lib.jsonlog import JsonFormatter

    args = ('é\u2028\x00"\\', None, True, float("nan"), 3, 12.34567, object())
    record = logging.LogRecord(
        "verify_platform.requests", logging.INFO, __file__, 1, "%s %s %s %s %s %s %s", args, None
    )
    line = JsonFormatter().format(record)
    assert line.isascii() and line.isprintable() and "\n" not in line, line
    fields = json.loads(line)
    assert fields["request_id"] == 'é\u2028\x00"\\'
    assert (fields["account"], fields["method"], fields["route"]) == (None, True, "nan")
    assert (fields["path"], fields["status"]) == (3, 12.346)
    assert fields["latency_ms"].startswith("<object object at ")
