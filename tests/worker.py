"""A real Celery worker for task tests: `celery -A verify_platform worker -P prefork -c 1` as
a subprocess on the test database, with the file-outbox adapter for every channel.

Use it from transactional tests (`django_db(transaction=True)`), so the worker sees what the
test committed. Every wait is a poll of a condition with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float = 20.0, what: str = "condition") -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def worker_database_url() -> str:
    """DATABASE_URL with pytest-django's test database name in place of the main one."""
    from django.conf import settings

    parts = urlsplit(os.environ["DATABASE_URL"])
    name = settings.DATABASES["default"]["NAME"]
    return urlunsplit(parts._replace(path="/" + name))


def worker_argv(name: str, *, purge: bool = False) -> list[str]:
    """A production-like worker (prefork, late ack, prefetch 1 from settings), one child, no
    cluster chatter that would slow its start-up."""
    argv = [sys.executable, "-m", "celery", "-A", "verify_platform", "worker", "-P", "prefork"]
    argv += ["-c", "1", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    if purge:
        argv.append("--purge")  # messages left by tests that ran without a worker
    return [*argv, "-l", "INFO", "-n", name]


class Worker:
    def __init__(self, outbox: Path, *, lease_seconds: int = 60) -> None:
        self.outbox = outbox
        self.lease_seconds = lease_seconds
        self.log_path = outbox / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "VERIFY_CHANNEL_ADAPTER": "tests.file_adapter.FileOutboxAdapter",
            "VERIFY_TEST_OUTBOX": str(self.outbox),
            "VERIFY_DELIVERY_LEASE_SECONDS": str(self.lease_seconds),
            "DB_CONN_MAX_AGE": "0",
            "PYTHONPATH": str(ROOT),
        }
        self.log_path = self.outbox / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.name = f"test-{uuid.uuid4().hex[:8]}@127.0.0.1"
        log = open(self.log_path, "wb")  # noqa: SIM115 (owned by the child process)
        self.proc = subprocess.Popen(
            worker_argv(self.name),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(lambda: self.alive() and "ready." in self.log(), timeout=60, what="worker ready")
        return self

    def alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"worker exited:\n{self.log()[-3000:]}")
        return True

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def outcomes(self, attempt_sid: str) -> list[str]:
        """What each run of the send task did for this attempt, from the worker's log."""
        marker = f"delivery attempt {attempt_sid}: "
        return [
            line.split(marker, 1)[1].strip() for line in self.log().splitlines() if marker in line
        ]

    def idle(self) -> bool:
        """No task running right now (ETA tasks waiting for their time do not count)."""
        from verify_platform.celery import app

        replies = app.control.inspect(timeout=2, destination=[self.name], limit=1).active()
        return bool(replies) and not replies.get(self.name)

    def children(self) -> list[int]:
        import psutil

        return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # Cold shutdown: what it had not acknowledged goes back to the queue (acks_late).
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def messages(outbox: Path, attempt_sid: str | None = None) -> list[dict[str, Any]]:
    pattern = f"msg-{attempt_sid}-*.json" if attempt_sid else "msg-*.json"
    return [json.loads(p.read_text()) for p in sorted(outbox.glob(pattern))]


def purge_queue() -> None:
    """Tasks queued by earlier tests (their rows are gone) would only be no-ops, but a clean
    queue keeps the worker's log about this test."""
    from verify_platform.celery import app

    app.control.purge()


@pytest.fixture(scope="module")
def outbox(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="module")
def module_worker(django_db_setup, outbox):
    """One worker per test module (start-up costs seconds); the tests are transactional, so
    it sees each test's committed rows, and messages are told apart by attempt SID."""
    purge_queue()
    running = Worker(outbox).start()
    yield running
    running.stop()


@pytest.fixture
def worker(module_worker, transactional_db) -> Worker:
    module_worker.alive()
    yield module_worker
    # The database is flushed after each test; a task in the middle of a transaction then
    # could deadlock with the TRUNCATE.
    wait_for(module_worker.idle, timeout=20, what="worker idle")
