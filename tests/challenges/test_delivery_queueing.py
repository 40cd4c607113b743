"""How sends reach the worker: due steps as plain tasks, later ones with their ETA, and one
database connection per worker process that is dropped once it breaks or ages."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from challenges.domain.engine import enqueue_attempt
from challenges.enqueue import DELIVERY_ATTEMPT_SEND

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """What `enqueue_attempt` hands to Celery's `send_task`."""
    calls: list[tuple[str, object]] = []

    def send_task(name, args, eta=None, **options):
        assert name == DELIVERY_ATTEMPT_SEND
        calls.append((*args, eta))

    monkeypatch.setattr("challenges.enqueue.current_app.send_task", send_task)
    return calls


def test_a_due_step_is_queued_without_an_eta(queued):
    enqueue_attempt("VLdue", timezone.now() - timedelta(seconds=1), on_commit=False)
    assert queued == [("VLdue", None)]


def test_a_later_step_keeps_its_eta(queued):
    later = timezone.now() + timedelta(seconds=30)
    enqueue_attempt("VLlater", later, on_commit=False)
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


@pytest.fixture
def health_checks(monkeypatch):
    """A kept connection (as CONN_MAX_AGE=60 keeps it) whose `SELECT 1` health checks are
    counted; yields the list of their answers."""
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60
    assert connection.health_check_enabled  # CONN_HEALTH_CHECKS
    checks: list[bool] = []
    is_usable = connection.is_usable

    def counted() -> bool:
        checks.append(is_usable())
        return checks[-1]

    monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "is_usable", counted)
    return checks


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_quiet_kept_connection_needs_no_health_check_round_trip(health_checks):
    from verify_platform.celery import _before_task

    raw = connection.connection
    _before_task(sender=_task(eager=False))
    assert connection.connection is raw and not connection.health_check_done
    _backend_pid()
    assert connection.health_check_done  # checked at the task's first statement,
    assert health_checks == []  # without a SELECT 1 (verify_platform.lib.db.base)


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_before_the_task(health_checks):
    """pg_terminate_backend between two tasks (as a restart does): the next task's first
    statement runs on a new connection instead of failing."""
    import select

    import psycopg

    from verify_platform.celery import _before_task

    old_pid = _backend_pid()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(50):  # the server's goodbye reaches the socket
        assert time.monotonic() < deadline, "the terminated connection never became readable"
    _before_task(sender=_task(eager=False))
    assert not connection.health_check_done  # left to Django's check
    assert _backend_pid() != old_pid
    assert health_checks == [False]  # the check ran, failed, and the connection was replaced


def test_a_send_task_stores_no_result():
    """Nobody reads a send's return value (the row records the outcome): a result store would
    cost every message a write to it."""
    from celery.backends.base import DisabledBackend

    from challenges.tasks import delivery_attempt_send_task
    from verify_platform.celery import app

    assert delivery_attempt_send_task.ignore_result
    assert isinstance(app.backend, DisabledBackend)
