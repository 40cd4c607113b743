"""A real Celery worker process for the end-to-end webhook tests.

It runs `celery -A verify_platform worker` (prefork, one child) with the test environment,
pointed at pytest-django's test database, so it only sees rows that tests commit: use it
from `@pytest.mark.django_db(transaction=True)` tests. The retry schedule is shrunk through
the environment (VERIFY_WEBHOOK_*), which settings read when the worker starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.worker import worker_argv, worker_database_url

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0

WORKER_ENV = {
    "VERIFY_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "VERIFY_WEBHOOK_RETRY_MAX_SECONDS": "0.5",
    "VERIFY_WEBHOOK_CONNECT_TIMEOUT": "1",
    "VERIFY_WEBHOOK_READ_TIMEOUT": "2",
    "VERIFY_WEBHOOK_SWEEP_GRACE_SECONDS": "0",
    "VERIFY_WEBHOOK_DISABLE_AFTER_FAILURES": "1000",
    "VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",  # the receivers are on loopback
    "DB_CONN_MAX_AGE": "0",
}


class Worker:
    def __init__(self, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, **WORKER_ENV, **self.env, "DATABASE_URL": worker_database_url()}
        root = Path(__file__).resolve().parents[2]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            worker_argv(f"webhooks-test-{os.getpid()}@%h", purge=True),
            cwd=root,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the child goes with it
        )
        deadline = time.monotonic() + START_TIMEOUT
        while b" ready." not in self.log_path.read_bytes():
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited at start:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"worker not ready in {START_TIMEOUT:.0f}s:\n{self.log()}")
            time.sleep(0.05)  # polling a starting process, not synchronising a test

    def children(self) -> list[int]:
        import psutil

        return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown of the worker we started
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        self._log.close()
        self.proc = None


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker for the module; stopped before the test database is dropped."""
    worker = Worker(tmp_path_factory.mktemp("worker") / "worker.log")
    worker.start()
    yield worker
    worker.stop()
