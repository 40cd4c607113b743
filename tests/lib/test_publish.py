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
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import kombu.exceptions
import pytest
import redis
from celery.utils.saferepr import saferepr
from django.conf import LazySettings, settings
from django.test import override_settings
from django.utils import timezone

from challenges.domain.core import _enqueue
from challenges.tasks import delivery_attempt_send_task
from verify_platform import celery as celery_module
from verify_platform.celery import app, publish, publish_options

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _no_envelopes():
    """Each test starts as a new process does: no task's envelope recorded yet."""
    celery_module._envelopes.clear()
    yield
    celery_module._envelopes.clear()


def _taken(broker: redis.Redis, sid: str | list[int]) -> dict[str, Any]:
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
    monkeypatch.setattr(celery_module, "_declare_free", None)


@pytest.mark.parametrize("path", ["first", "envelope"])
@pytest.mark.parametrize("delay", [None, 30], ids=["due", "with-eta"])
def test_enqueue_publishes_the_message_celery_would_send(broker, delay, path):
    """Same queue, routing, headers (argsrepr included), properties and body as a plain
    `apply_async`: only the random ids and the SID differ. Both for the first publish of the
    task in a process and for the later ones, which fill in the task's envelope."""
    if path == "envelope":
        _enqueue("VLwarm", timezone.now())
        _taken(broker, "VLwarm")
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


@pytest.mark.parametrize("path", ["first", "envelope"])
def test_a_webhook_enqueue_publishes_the_message_celery_would_send(broker, path):
    """The deliveries' task takes one list of integer ids: the same message as `apply_async`
    gives it, but for the random ids and the delivery ids."""
    from services.tasks import webhook_deliver_task
    from services.webhooks import dispatch

    if path == "envelope":
        dispatch.enqueue([7])
        _taken(broker, [7])
    webhook_deliver_task.apply_async(args=[[31337, 31338]])
    dispatch.enqueue([42424, 42425])
    plain, lean = _taken(broker, [31337, 31338]), _taken(broker, [42424, 42425])
    assert lean["headers"]["argsrepr"] == saferepr([[42424, 42425]], 1024)
    for key in ("argsrepr", "kwargsrepr"):  # see above
        lean["properties"].pop(key)
    assert _normalised(lean, "42424, 42425") == _normalised(plain, "31337, 31338")


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


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (redis.exceptions.ConnectionError("down"), "WARNING"),
        (kombu.exceptions.OperationalError("down"), "WARNING"),
        (TypeError("a defect"), "ERROR"),
    ],
)
def test_enqueue_tells_an_outage_from_a_defect(error, level, monkeypatch, caplog):
    """Either way the request goes on (its row is the outbox); a defect is not passed off as
    a broker outage: it is an error with its traceback."""

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr("challenges.domain.core.publish", failing)
    _enqueue("VLfailing", timezone.now())
    (record,) = [r for r in caplog.records if "VLfailing" in r.getMessage()]
    assert record.levelname == level
    assert (record.exc_info is not None) == (level == "ERROR")


def test_webhook_enqueue_tells_an_outage_from_a_defect(monkeypatch, caplog):
    from services.tasks import webhook_deliver_task
    from services.webhooks import dispatch

    for error, level in [
        (kombu.exceptions.OperationalError("down"), "WARNING"),
        (KeyError("x"), "ERROR"),
    ]:
        caplog.clear()

        def failing(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(webhook_deliver_task, "apply_async", failing)
        celery_module._envelopes.clear()  # so the publish goes through apply_async
        dispatch.enqueue([1, 2])
        (record,) = [r for r in caplog.records if "2 deliveries" in r.getMessage()]
        assert record.levelname == level


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


def _queued_ids(broker: redis.Redis) -> list[str]:
    queue = app.conf.task_default_queue
    return [
        json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]
        for raw in broker.lrange(queue, 0, -1)
    ]


def _drop(broker: redis.Redis, *sids: str) -> None:
    for sid in sids:
        _taken(broker, sid)


def test_publish_keeps_one_producer_across_publishes(broker):
    publish(delivery_attempt_send_task, "VLkept1")
    kept = celery_module._kept_producer._producer
    publish(delivery_attempt_send_task, "VLkept2")
    assert kept is not None and celery_module._kept_producer._producer is kept
    _drop(broker, "VLkept1", "VLkept2")


# The producer tests run both ways a publish goes: the first of a task in a process
# (Celery's own path, recorded) and every later one (through the task's envelope).
PATHS = pytest.mark.parametrize("path", ["first", "envelope"])


def _ready(broker: redis.Redis, path: str) -> None:
    if path == "envelope":
        publish(delivery_attempt_send_task, "VLready")
        _drop(broker, "VLready")
        assert delivery_attempt_send_task.name in celery_module._envelopes


def _observe_producers(monkeypatch, then=None) -> list[object]:
    """The producer each publish hands to Celery's `producer_or_acquire` (None: the pool's)."""
    used: list[object] = []
    real = type(app).producer_or_acquire

    def observed(self, producer=None):
        used.append(producer)
        if then is not None:
            then(len(used))
        return real(self, producer)

    monkeypatch.setattr(type(app), "producer_or_acquire", observed)
    return used


@PATHS
def test_a_second_thread_publishes_through_the_pool_meanwhile(broker, monkeypatch, path):
    """The kept producer serves one publish at a time; a concurrent one is not kept
    waiting: it takes a producer from Celery's pool."""
    _ready(broker, path)

    def second(count: int) -> None:
        if count == 1:  # while the first publish holds the kept producer
            thread = threading.Thread(target=publish, args=(delivery_attempt_send_task, "VLp2"))
            thread.start()
            thread.join(timeout=10)

    used = _observe_producers(monkeypatch, then=second)
    publish(delivery_attempt_send_task, "VLp1")
    assert used[0] is celery_module._kept_producer._producer and used[1] is None
    _drop(broker, "VLp1", "VLp2")


@PATHS
def test_a_failed_publish_gives_the_producer_back_to_the_pool(broker, monkeypatch, path):
    from kombu import Producer

    _ready(broker, path)
    publish(delivery_attempt_send_task, "VLok")
    kept = celery_module._kept_producer._producer

    def refused(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr(Producer, "publish", refused)
    with pytest.raises(kombu.exceptions.OperationalError):  # Celery's wrapping, both paths
        publish(delivery_attempt_send_task, "VLrefused")
    assert celery_module._kept_producer._producer is None
    assert kept.__connection__ is None or not kept._channel  # released: the pool revives it
    monkeypatch.undo()
    publish(delivery_attempt_send_task, "VLagain")
    _drop(broker, "VLok", "VLagain")


@PATHS
def test_publish_survives_the_broker_dropping_its_connections(broker, path):
    """kombu's publish retry (task_publish_retry) reconnects the kept producer."""
    _ready(broker, path)
    publish(delivery_attempt_send_task, "VLbefore")
    broker.client_kill_filter(_type="normal", skipme=True)
    publish(delivery_attempt_send_task, "VLafter")
    assert {"VLbefore", "VLafter"} <= set(_queued_ids(broker))
    _drop(broker, "VLbefore", "VLafter")


@PATHS
def test_an_exhausted_pool_publishes_the_ordinary_way(broker, monkeypatch, path):
    """No producer free for keeping: Celery's own acquire (which waits for one) publishes."""
    from kombu.exceptions import LimitExceeded

    _ready(broker, path)
    pool = type(app.producer_pool)
    real_acquire = pool.acquire

    def exhausted(self, block=False, timeout=None):
        if not block:
            raise LimitExceeded
        return real_acquire(self, block=block, timeout=timeout)

    monkeypatch.setattr(celery_module._kept_producer, "_producer", None)
    monkeypatch.setattr(pool, "acquire", exhausted)
    used = _observe_producers(monkeypatch)
    publish(delivery_attempt_send_task, "VLexhausted")
    assert used[0] is None  # (the first path then hands Celery its recording wrapper)
    _drop(broker, "VLexhausted")


def test_a_forked_child_does_not_use_the_parents_producer(broker):
    publish(delivery_attempt_send_task, "VLparent")
    assert celery_module._kept_producer._producer is not None
    pid = os.fork()
    if pid == 0:  # the child: exit at once with the answer, running nothing of pytest's
        os._exit(0 if celery_module._kept_producer._producer is None else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    _drop(broker, "VLparent")


def test_warm_up_readies_the_kept_producer(broker):
    held = celery_module._kept_producer._producer
    if held is not None:  # as in a new process: none kept yet
        celery_module._kept_producer._producer = None
        held.release()
    assert celery_module.producer_warm() is True
    kept = celery_module._kept_producer._producer
    assert kept is not None and kept.connection.connected
    publish(delivery_attempt_send_task, "VLwarm")
    assert celery_module._kept_producer._producer is kept
    _drop(broker, "VLwarm")


def test_later_publishes_fill_in_the_envelope_without_celerys_send_task(broker, monkeypatch):
    publish(delivery_attempt_send_task, "VLfirst")

    def not_again(*args, **kwargs):
        raise AssertionError("send_task called for a task with an envelope")

    monkeypatch.setattr(app, "send_task", not_again)
    publish(delivery_attempt_send_task, "VLsecond")
    first, second = _taken(broker, "VLfirst"), _taken(broker, "VLsecond")
    assert first["headers"]["id"] != second["headers"]["id"]  # a new task id each time
    assert second["headers"]["root_id"] == second["headers"]["id"]
    assert second["properties"]["correlation_id"] == second["headers"]["id"]
    assert _normalised(second, "VLsecond") == _normalised(first, "VLfirst")


def _count_send_task(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = app.send_task
    monkeypatch.setattr(
        app, "send_task", lambda name, *a, **k: calls.append(name) or real(name, *a, **k)
    )
    return calls


def test_a_publish_with_an_eta_takes_celerys_path(broker, monkeypatch):
    _ready(broker, "envelope")
    calls = _count_send_task(monkeypatch)
    eta = timezone.now() + timedelta(seconds=30)
    publish(delivery_attempt_send_task, "VLlater", eta=eta)
    assert calls == [delivery_attempt_send_task.name]
    assert _taken(broker, "VLlater")["headers"]["eta"] == eta.isoformat()


def test_publish_signal_receivers_are_still_called(broker):
    """A receiver of before_task_publish (e.g. a tracing library) sees every publish."""
    from celery import signals

    _ready(broker, "envelope")
    seen: list[str] = []

    def receiver(sender=None, headers=None, **kwargs):
        seen.append(headers["argsrepr"])

    signals.before_task_publish.connect(receiver, weak=False)
    try:
        publish(delivery_attempt_send_task, "VLsignal1")
        publish(delivery_attempt_send_task, "VLsignal2")
    finally:
        signals.before_task_publish.disconnect(receiver)
    assert seen == ["['VLsignal1']", "['VLsignal2']"]
    _drop(broker, "VLsignal1", "VLsignal2")


def test_a_publish_from_inside_a_task_carries_its_parent(broker, monkeypatch):
    """A worker's publish (a fallback step armed by a send) is the parent task's child, as
    Celery writes it; an envelope recorded outside a task would drop that."""
    from types import SimpleNamespace

    _ready(broker, "envelope")
    request = SimpleNamespace(id="parent-task", root_id="root-task", delivery_info={})
    parent = SimpleNamespace(request=request, add_trail=lambda result: None)
    monkeypatch.setattr(type(app), "current_worker_task", property(lambda self: parent))
    publish(delivery_attempt_send_task, "VLchild")
    monkeypatch.undo()
    headers = _taken(broker, "VLchild")["headers"]
    assert (headers["parent_id"], headers["root_id"]) == ("parent-task", "root-task")


def test_each_thread_publishes_with_its_own_reply_to(broker):
    """Celery names the publishing thread in reply_to (app.thread_oid)."""
    _ready(broker, "envelope")
    oids: list[str] = []

    def in_thread() -> None:
        oids.append(app.thread_oid)
        publish(delivery_attempt_send_task, "VLthread")

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(timeout=10)
    publish(delivery_attempt_send_task, "VLmain")
    assert _taken(broker, "VLthread")["properties"]["reply_to"] == oids[0]
    assert _taken(broker, "VLmain")["properties"]["reply_to"] == app.thread_oid != oids[0]


def test_a_configuration_change_rebuilds_the_envelopes(broker, settings, monkeypatch):
    """After a change, the next publish goes through Celery again and is recorded anew."""
    _ready(broker, "envelope")
    calls = _count_send_task(monkeypatch)
    settings.CELERY_TASK_DEFAULT_PRIORITY = 7
    assert celery_module._envelopes == {}
    publish(delivery_attempt_send_task, "VLchanged1")
    publish(delivery_attempt_send_task, "VLchanged2")
    assert calls == [delivery_attempt_send_task.name]
    _drop(broker, "VLchanged1", "VLchanged2")


def test_a_forked_child_records_its_own_envelopes(broker):
    """The origin header names the publishing process."""
    _ready(broker, "envelope")
    pid = os.fork()
    if pid == 0:
        os._exit(0 if celery_module._envelopes == {} else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_envelope_keeps_what_celery_handed_over_not_what_kombu_made_of_it():
    """kombu appends a producer's named exchange to `declare` in place; the recording is a
    copy taken before, so an envelope does not carry the addition into every publish."""

    class Appending:
        def publish(self, body, declare=None, headers=None, **kwargs):
            declare.append("kombu's exchange")
            headers["compression"] = "added"

    recorder = celery_module._Recorder(Appending())
    recorder.publish([["VL"], {}, {}], declare=[], headers={"id": "x"}, retry_policy={})
    _body, kwargs = recorder.recorded
    assert kwargs["declare"] == [] and kwargs["headers"] == {"id": "x"}
