"""The request id travels with the work: the enqueue helpers put the bound id in each task
message's headers, and the worker's task signals bind it (with the task's id and name)
around a task and unbind it after. The end-to-end proof, through a real worker, is
tests/lib/test_logs_worker.py; these pin each link on its own."""

from __future__ import annotations

import logging

import pytest
from celery import signals

from challenges.enqueue import delivery_attempt_enqueue
from challenges.tasks import delivery_attempt_send_task
from services.webhooks.enqueue import webhook_deliveries_enqueue
from verify_platform.lib import request_context


@pytest.fixture
def sent(monkeypatch):
    """The options of each `send_task` call, recorded instead of published."""
    from verify_platform.celery import app

    calls: list[dict] = []

    def record(self, name, args=None, **options):
        calls.append({"name": name, **options})

    monkeypatch.setattr(type(app), "send_task", record)
    return calls


@pytest.fixture
def bound():
    token = request_context.bind_request("req-abcdef012345")
    yield "req-abcdef012345"
    request_context.unbind_request(token)


def test_enqueues_in_a_request_carry_its_id(sent, bound):
    delivery_attempt_enqueue("VL" + "0" * 32, None)
    webhook_deliveries_enqueue([1, 2], None)
    assert [call["headers"] for call in sent] == [{request_context.HEADER: bound}] * 2


def test_enqueues_outside_a_request_carry_no_header(sent):
    delivery_attempt_enqueue("VL" + "0" * 32, None)
    webhook_deliveries_enqueue([1], None)
    assert [call["headers"] for call in sent] == [None, None]


def filtered() -> logging.LogRecord:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    assert request_context.RequestContextFilter().filter(record)
    return record


def test_a_task_binds_its_request_and_itself_and_unbinds_after():
    task = delivery_attempt_send_task
    task.push_request(id="task-1", headers={request_context.HEADER: "req-from-message"})
    try:
        signals.task_prerun.send(sender=task, task_id="task-1", task=task, args=[], kwargs={})
        inside = filtered()
        assert request_context.request_id() == "req-from-message"
        signals.task_postrun.send(sender=task, task_id="task-1", task=task, args=[], kwargs={})
    finally:
        task.pop_request()
    assert (inside.request_id, inside.task_id, inside.task_name) == (
        "req-from-message",
        "task-1",
        "challenges.delivery_attempt_send",
    )
    after = filtered()
    assert (after.request_id, after.task_id, after.task_name) == (None, None, None)


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {request_context.HEADER: 5},
        {request_context.HEADER: "x" * 65},
        {request_context.HEADER: "a\r\nb"},
    ],
    ids=["none", "empty", "not-text", "too-long", "control-characters"],
)
def test_a_task_without_a_believable_id_binds_none(headers):
    task = delivery_attempt_send_task
    task.push_request(id="task-2", headers=headers)
    try:
        signals.task_prerun.send(sender=task, task_id="task-2", task=task, args=[], kwargs={})
        record = filtered()
        signals.task_postrun.send(sender=task, task_id="task-2", task=task, args=[], kwargs={})
    finally:
        task.pop_request()
    assert record.request_id is None and record.task_id == "task-2"
