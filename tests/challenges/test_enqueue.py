"""Queueing a delivery attempt's send by task name (challenges/enqueue.py), on the test Redis
broker: the message names the registered task and carries the SID and the ETA; the
after-commit variant queues only what committed; a broker that is down is logged and the
row left to the sweeper, never raised."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from challenges.enqueue import (
    DELIVERY_ATTEMPT_SEND,
    delivery_attempt_enqueue,
    delivery_attempt_enqueue_on_commit,
)
from challenges.tasks import delivery_attempt_send_task
from verify_platform.celery import app

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield client
    client.close()


def queued(broker: redis.Redis, first_arg: Any) -> list[dict[str, Any]]:
    """Take out of the default queue every message whose first argument is `first_arg`."""
    queue = app.conf.task_default_queue
    found = []
    for raw in broker.lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        if args and args[0] == first_arg:
            broker.lrem(queue, 1, raw)
            found.append(message)
    return found


def sid(tag: str) -> str:
    return "VL" + tag.encode().hex().ljust(32, "0")[:32]


def test_the_name_is_the_one_the_task_is_registered_under():
    """Messages already on the broker carry it: it must not change with the code."""
    assert DELIVERY_ATTEMPT_SEND == "challenges.delivery_attempt_send"
    assert delivery_attempt_send_task.name == DELIVERY_ATTEMPT_SEND


def test_a_due_send_is_queued_by_name_without_an_eta(broker):
    attempt = sid("due")
    delivery_attempt_enqueue(attempt, None)
    [message] = queued(broker, attempt)
    assert message["headers"]["task"] == DELIVERY_ATTEMPT_SEND
    assert message["headers"]["eta"] is None
    assert message["headers"]["argsrepr"] == repr([attempt])
    assert message["content-type"] == "application/json"


def test_a_later_send_carries_its_eta(broker):
    attempt, eta = sid("later"), timezone.now() + timedelta(seconds=90)
    delivery_attempt_enqueue(attempt, eta)
    [message] = queued(broker, attempt)
    assert message["headers"]["task"] == DELIVERY_ATTEMPT_SEND
    assert message["headers"]["eta"] == eta.isoformat()


@pytest.mark.django_db(transaction=True)
def test_the_on_commit_variant_queues_only_what_committed(broker):
    kept, dropped = sid("kept"), sid("dropped")

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        delivery_attempt_enqueue_on_commit(dropped, None)
        raise Rollback
    with transaction.atomic():
        delivery_attempt_enqueue_on_commit(kept, None)
        assert queued(broker, kept) == []  # not before the commit
    assert len(queued(broker, kept)) == 1
    assert queued(broker, dropped) == []


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (redis.exceptions.ConnectionError("down"), "WARNING"),
        (ConnectionRefusedError(), "WARNING"),
        (TypeError("a defect"), "ERROR"),
    ],
)
def test_a_failed_enqueue_is_logged_and_left_to_the_sweeper(error, level, monkeypatch, caplog):
    """Either way the caller goes on (its row is the outbox); a defect is not passed off as a
    broker outage: it is an error with its traceback."""

    def failing(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(type(app), "send_task", failing)
    delivery_attempt_enqueue("VLfailing", None)
    (record,) = [r for r in caplog.records if "VLfailing" in r.getMessage()]
    assert record.levelname == level
    assert record.getMessage().endswith("left to the sweeper")
    assert (record.exc_info is not None) == (level == "ERROR")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again before use: nothing listens there


def test_an_unreachable_broker_is_a_warning_not_an_exception():
    """A real outage, in a process whose broker URL points where nothing listens: Celery's
    publish retries give up, and the enqueue returns with a warning. Bounded by the
    subprocess timeout."""
    code = (
        "import django\n"
        "django.setup()\n"
        "from challenges.enqueue import delivery_attempt_enqueue\n"
        "delivery_attempt_enqueue('VLoutage', None)\n"
        "print('returned')\n"
    )
    env = {
        **os.environ,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["returned"]
    # The project's logging configuration: "<time> <level> <logger> <message>".
    assert "WARNING challenges.delivery could not queue attempt VLoutage; left to the sweeper" in (
        out.stderr
    )
