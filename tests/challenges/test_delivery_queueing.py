"""How sends reach the worker: due steps as plain tasks, later ones with their ETA, and one
database connection per worker process that is dropped once it breaks or ages."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from challenges.domain.core import _enqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    from challenges.tasks import delivery_attempt_send_task

    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(
        delivery_attempt_send_task,
        "apply_async",
        lambda args, eta: calls.append((args[0], eta)),
    )
    return calls


def test_a_due_step_is_queued_without_an_eta(queued):
    _enqueue("VLdue", timezone.now() - timedelta(seconds=1))
    assert queued == [("VLdue", None)]


def test_a_later_step_keeps_its_eta(queued):
    later = timezone.now() + timedelta(seconds=30)
    _enqueue("VLlater", later)
    assert queued == [("VLlater", later)]


def _task(*, eager: bool) -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


@pytest.mark.django_db(transaction=True)
def test_worker_keeps_a_working_connection_and_drops_an_old_one():
    from verify_platform.celery import _close_old_connections

    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60  # as CONN_MAX_AGE=60 sets it (tests use 0)
    raw = connection.connection
    _close_old_connections(sender=_task(eager=False))
    assert connection.connection is raw  # kept while young and working

    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    _close_old_connections(sender=_task(eager=True))
    assert connection.connection is raw  # an eager task runs in its caller's connection
    _close_old_connections(sender=_task(eager=False))
    assert connection.connection is None
