"""What `make run`'s terminal shows when a code is sent: the console channel's message as one
INFO line of its own logger (not a print, which the Celery worker re-logs as a WARNING of
`celery.redirected`), and no kombu warning from the development broker's URL."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from channels.adapters.console import ConsoleAdapter
from channels.base import OutboundMessage

ROOT = Path(__file__).resolve().parent.parent

# Publishes two tasks with the development settings and prints every WARNING or worse that
# any logger emitted meanwhile.
PUBLISH = """
import json, logging
records = []
class Capture(logging.Handler):
    def emit(self, record):
        records.append([record.name, record.levelname, record.getMessage()])
import django
django.setup()
logging.getLogger().addHandler(Capture(level=logging.WARNING))
from verify_platform.celery import app
for _ in range(2):
    app.send_task("challenges.verification_expire", args=["VE" + "0" * 32])
print(json.dumps(records))
"""


def test_the_console_adapter_logs_one_info_line_and_prints_nothing(caplog, capsys):
    message = OutboundMessage(
        channel="email",
        to="user@example.com",
        code="908172",
        service_name="Acme\nLogin",  # a break in a value cannot start a line of its own
        attempt_sid="VL" + "0" * 32,
    )
    with caplog.at_level(logging.INFO, logger="channels.console"):
        ConsoleAdapter().send(message)
    [record] = [r for r in caplog.records if r.name == "channels.console"]
    assert record.levelno == logging.INFO
    line = record.getMessage()
    assert line.startswith(f"email to user@example.com (attempt {message.attempt_sid}): ")
    assert "908172" in line and "\n" not in line and "\r" not in line
    assert capsys.readouterr().out == ""


def test_the_development_broker_publishes_without_a_kombu_warning(tmp_path):
    """`make run`'s settings: no CELERY_BROKER_URL, so the filesystem broker under var/."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="verify_platform.settings",
        VERIFY_VAR_DIR=str(tmp_path / "var"),
        DEBUG="true",
        PYTHONPATH=str(ROOT),
    )
    run = subprocess.run(
        [sys.executable, "-c", PUBLISH],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
    assert list((tmp_path / "var" / "broker" / "queue").iterdir()), "nothing was published"
