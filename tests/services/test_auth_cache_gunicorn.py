"""The production shape: gunicorn forks its workers from a master that loaded the app; the
workers share the authentication cache in Redis, and a key revoked by another process is
refused by every worker at once."""

from __future__ import annotations

import base64
import http.client
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from scripts.testenv import free_port
from services import auth_cache, domain

ROOT = Path(__file__).resolve().parent.parent.parent
WORKERS = 2
DEADLINE_S = 30.0
GUNICORN = ["--config", "gunicorn.conf.py"]


def _database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _status(port: int, authorization: str) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/v2/Services", headers={"Authorization": authorization})
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    for _ in range(10_000):
        if condition():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "verify_platform.settings",
        "DATABASE_URL": _database_url(),
        "VERIFY_AUTH_CACHE_SECONDS": "600",  # only the revocation can drop the entry here
        "VERIFY_AUTH_FAILURES_PER_MINUTE": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "verify_platform.wsgi:application", *GUNICORN],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _until(lambda: _status(port, "") is not None or server.poll() is not None, "gunicorn")
        assert server.poll() is None, log.read_text()[-2000:]
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_every_worker_refuses_a_key_revoked_elsewhere_at_once(gunicorn, tenant):
    port = gunicorn
    key, secret = domain.api_key_create(account=tenant.account)
    authorization = "Basic " + base64.b64encode(f"{key.sid}:{secret}".encode()).decode()
    for _ in range(20):  # both workers authenticate the key; the first fills the cache
        assert _status(port, authorization) == 200
    entry, _ = auth_cache.lookup(key.sid)
    assert entry is not None  # what the workers read instead of the database

    # Committed in this process; no worker is told anything but what is in Redis.
    assert domain.api_key_revoke(api_key=key)
    statuses = {_status(port, authorization) for _ in range(20)}
    assert statuses == {401}
