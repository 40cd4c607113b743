"""Queueing webhook deliveries by task name (services/webhooks/enqueue.py), on the test Redis
broker: one message for the batch, naming the registered task, with the ETA; nothing for no
ids; after commit only; a failed enqueue logged and left to the sweeper."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import kombu.exceptions
import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from services.tasks import webhook_deliver_task
from services.webhooks.dispatch import enqueue_on_commit
from services.webhooks.enqueue import WEBHOOK_DELIVER, webhook_deliveries_enqueue
from verify_platform.celery import app


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield client
    client.close()


def queued(broker: redis.Redis, ids: list[int]) -> list[dict[str, Any]]:
    """Take out of the default queue every message whose argument is the list `ids`."""
    queue = app.conf.task_default_queue
    found = []
    for raw in broker.lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        if args == [ids]:
            broker.lrem(queue, 1, raw)
            found.append(message)
    return found


def test_the_name_is_the_one_the_task_is_registered_under():
    """Messages already on the broker carry it: it must not change with the code."""
    assert WEBHOOK_DELIVER == "services.tasks.webhook_deliver_task"
    assert webhook_deliver_task.name == WEBHOOK_DELIVER


def test_a_batch_is_one_message_by_name(broker):
    webhook_deliveries_enqueue([91001, 91002], None)
    [message] = queued(broker, [91001, 91002])
    assert message["headers"]["task"] == WEBHOOK_DELIVER
    assert message["headers"]["eta"] is None


def test_a_retry_carries_its_eta(broker):
    eta = timezone.now() + timedelta(seconds=45)
    webhook_deliveries_enqueue([91003], eta)
    [message] = queued(broker, [91003])
    assert message["headers"]["eta"] == eta.isoformat()


def test_no_ids_queue_nothing(monkeypatch):
    def not_called(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("queued a message for no deliveries")

    monkeypatch.setattr(type(app), "send_task", not_called)
    webhook_deliveries_enqueue([], None)


@pytest.mark.django_db(transaction=True)
def test_the_on_commit_variant_queues_after_the_commit_only(broker):
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        enqueue_on_commit([91004])
        raise Rollback
    ids = [91005, 91006]
    with transaction.atomic():
        enqueue_on_commit(ids)
        ids.append(91007)  # the caller's list, changed after the call: not the message
        assert queued(broker, [91005, 91006]) == []
    assert len(queued(broker, [91005, 91006])) == 1
    assert queued(broker, [91004]) == []


@pytest.mark.parametrize(
    ("error", "level"),
    [(kombu.exceptions.OperationalError("down"), "WARNING"), (KeyError("x"), "ERROR")],
)
def test_a_failed_enqueue_is_logged_and_left_to_the_sweeper(error, level, monkeypatch, caplog):
    def failing(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(type(app), "send_task", failing)
    webhook_deliveries_enqueue([1, 2], None)
    (record,) = [r for r in caplog.records if "2 deliveries" in r.getMessage()]
    assert record.levelname == level
    assert record.name == "services.webhooks"
