"""`/metrics` under gunicorn: every worker's counts in one scrape (multiprocess mode, the
directory gunicorn.conf.py prepares), still there after the workers are replaced, and the
per-run directory removed when the master exits."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from scripts.testenv import free_port
from tests.services.test_auth_cache_gunicorn import _database_url
from tests.test_metrics_endpoint import samples, value
from tests.worker import wait_for

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
ROUTE = {"route": "v2/Services", "status": "401"}
CONFIG = ["--config", "gunicorn.conf.py"]


def _get(port: int, path: str) -> tuple[int, str] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError:
        return None
    finally:
        conn.close()


def _scrape(port: int) -> dict:
    answer = _get(port, "/metrics")
    assert answer is not None and answer[0] == 200, answer
    return samples(answer[1])


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "verify_platform.settings",
            "DATABASE_URL": _database_url(),
            "VERIFY_AUTH_FAILURES_PER_MINUTE": "0",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(WORKERS),
            "GUNICORN_THREADS": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "verify_platform.wsgi:application", *CONFIG],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: _get(port, "/healthz") is not None or server.poll() is not None,
            timeout=30,
            what="gunicorn",
        )
        assert server.poll() is None, log.read_text()[-2000:]
        yield server, port
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


def _workers(server: subprocess.Popen) -> set[int]:
    return {child.pid for child in psutil.Process(server.pid).children()}


def test_counts_of_every_worker_survive_their_replacement(gunicorn):
    server, port = gunicorn
    directory = Path(tempfile.gettempdir()) / f"verify-platform-metrics-{server.pid}"
    assert directory.is_dir()  # made by gunicorn.conf.py: PROMETHEUS_MULTIPROC_DIR was unset
    for _ in range(20):
        assert _get(port, "/v2/Services")[0] == 401
    count = "verify_http_request_duration_seconds_count"
    assert value(_scrape(port), count, **ROUTE) == 20

    old = _workers(server)
    assert len(old) == WORKERS
    for pid in old:
        os.kill(pid, signal.SIGKILL)  # gunicorn forks replacements; the files stay
    wait_for(
        lambda: len(_workers(server) - old) == WORKERS and _get(port, "/healthz") is not None,
        timeout=30,
        what="replacement workers",
    )
    assert value(_scrape(port), count, **ROUTE) == 20
    assert _get(port, "/v2/Services")[0] == 401
    assert value(_scrape(port), count, **ROUTE) == 21

    server.terminate()
    server.wait(timeout=30)
    assert not directory.exists()  # the per-run directory goes with its master
