"""The cheap task publish (verify_platform/celery.py, challenges.domain.core._enqueue): the
message a send's publish puts on the broker is the one Celery would have sent, Celery's
configuration comes from the Django settings once (and still follows the supported ways of
changing it), and a broker that cannot be reached still leaves the row to the sweeper."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.utils.saferepr import saferepr
from django.conf import LazySettings, settings
from django.test import override_settings
from django.utils import timezone

from challenges.domain.core import _enqueue
from challenges.tasks import delivery_attempt_send_task
from verify_platform import celery as celery_module
from verify_platform.celery import app, publish_options

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield client
    client.close()


def _taken(broker: redis.Redis, sid: str) -> dict[str, Any]:
    """Remove from the task queue the one message whose argument is `sid`, and return it."""
    queue = app.conf.task_default_queue
    found = [
        raw
        for raw in broker.lrange(queue, 0, -1)
        if json.loads(base64.b64decode(json.loads(raw)["body"]))[0] == [sid]
    ]
    assert len(found) == 1, f"{len(found)} messages for {sid}"
    broker.lrem(queue, 1, found[0])
    return json.loads(found[0])


def _normalised(message: dict[str, Any], sid: str) -> dict[str, Any]:
    """The message with what differs between two publishes (the task id and the delivery tag,
    both random, and the SID) replaced by placeholders."""
    task_id = message["headers"]["id"]
    message["properties"]["delivery_tag"] = "<tag>"
    text = json.dumps(message, sort_keys=True)
    body = base64.b64decode(message["body"]).decode()
    text = text.replace(
        message["body"], base64.b64encode(body.replace(sid, "<sid>").encode()).decode()
    )
    return json.loads(text.replace(task_id, "<id>").replace(sid, "<sid>"))


def _forget_transport(monkeypatch) -> None:
    """Make `publish_options` look at the broker's transport again (restored afterwards)."""
    monkeypatch.setattr(celery_module, "_declare", None)
    monkeypatch.setattr(celery_module, "_declare_known", False)


@pytest.mark.parametrize("delay", [None, 30], ids=["due", "with-eta"])
def test_enqueue_publishes_the_message_celery_would_send(broker, delay):
    """Same queue, routing, headers (argsrepr included), properties and body as a plain
    `apply_async`: only the random ids and the SID differ."""
    eta = timezone.now() + timedelta(seconds=delay) if delay else None
    plain_sid, lean_sid = "VL" + "a" * 32, "VL" + "b" * 32
    delivery_attempt_send_task.apply_async(args=[plain_sid], eta=eta)
    _enqueue(lean_sid, eta or timezone.now() - timedelta(seconds=1))
    plain, lean = _taken(broker, plain_sid), _taken(broker, lean_sid)

    assert lean["headers"]["argsrepr"] == saferepr([lean_sid], 1024)
    assert lean["headers"]["kwargsrepr"] == saferepr({}, 1024)
    assert lean["headers"]["eta"] == (eta.isoformat() if eta else None)
    assert lean["properties"]["delivery_info"] == {"exchange": "", "routing_key": "celery"}
    # Celery also copies explicitly passed reprs into the message properties, which nothing
    # reads (the worker takes them from the headers).
    extra = {key: lean["properties"].pop(key) for key in ("argsrepr", "kwargsrepr")}
    assert extra == {"argsrepr": lean["headers"]["argsrepr"], "kwargsrepr": "{}"}
    assert _normalised(lean, lean_sid) == _normalised(plain, plain_sid)


def test_publish_options_skip_the_declaration_only_where_it_is_moot(monkeypatch):
    """Redis (the test broker) and filesystem put a direct queue's message into the queue by
    name; on AMQP Celery keeps declaring the queue before publishing."""
    _forget_transport(monkeypatch)
    assert publish_options("VL1")["declare"] == []
    _forget_transport(monkeypatch)
    # Celery reads its broker URL from this variable before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest@127.0.0.1:1//")
    assert publish_options("VL1") == {
        "argsrepr": "['VL1']",
        "kwargsrepr": "{}",
        "declare": None,
    }


def test_enqueue_falls_back_to_the_sweeper_when_the_broker_is_unreachable(monkeypatch, caplog):
    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError

    _forget_transport(monkeypatch)
    monkeypatch.setattr(app, "connection_for_write", unreachable)
    _enqueue("VLunreachable", timezone.now())
    assert "could not queue attempt VLunreachable" in caplog.text


def test_a_publish_reads_no_django_setting(monkeypatch, broker):
    """Celery's configuration lookups on the publish path go to a dict, not LazySettings."""
    reads: list[str] = []
    real = LazySettings.__getattr__

    def counted(self, name):
        reads.append(name)
        return real(self, name)

    monkeypatch.setattr(LazySettings, "__getattr__", counted)
    sid = "VL" + "c" * 32
    delivery_attempt_send_task.apply_async(args=[sid], **publish_options(sid))
    monkeypatch.undo()
    _taken(broker, sid)
    assert reads == []


def test_celery_configuration_comes_from_the_django_settings():
    assert type(app.django_settings) is dict
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.broker_transport_options == settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert app.conf.task_acks_late is True and app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_ignore_result is True
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
    # Read under its full name by Celery's Django fixup (connection reuse in the worker).
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX == 1000
    assert app.conf.task_default_queue == "celery"  # a Celery default, no setting


def test_override_settings_still_reaches_celery():
    assert app.conf.task_always_eager is False
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True, CELERY_TASK_DEFAULT_PRIORITY=5):
        assert app.conf.task_always_eager is True
        assert app.conf.task_default_priority == 5
    assert app.conf.task_always_eager is False
    assert app.conf.task_default_priority is None  # not a setting: Celery's default again


def test_pytest_settings_fixture_reaches_celery(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert app.conf.task_always_eager is True


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["app.conf", "settings"])
def test_a_configuration_change_applies_to_the_next_enqueue(how, monkeypatch, settings):
    """Eager mode set either way runs the send in-process instead of publishing it."""
    ran: list[str] = []
    monkeypatch.setattr(delivery_attempt_send_task, "run", ran.append)
    if how == "app.conf":
        monkeypatch.setitem(app.conf.changes, "task_always_eager", True)
    else:
        settings.CELERY_TASK_ALWAYS_EAGER = True
    _enqueue("VLeager", timezone.now())
    assert ran == ["VLeager"]


def test_bench_settings_reach_celery():
    """bench/settings.py adds CELERY_IMPORTS (the no-op task of the worker scenarios)."""
    code = (
        "import django; django.setup()\n"
        "from verify_platform.celery import app\n"
        "print(list(app.conf.imports), app.conf.task_acks_late)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["['bench.tasks']", "True"]
