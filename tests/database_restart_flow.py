"""PostgreSQL crashes and restarts under load (SECURITY reliability matrix R2), run by
tests/test_database_restart.py in a process of its own, because it owns its database: a cluster
of its own, crashed (immediate shutdown) while client threads create and check verifications
through gunicorn, the production server, whose workers must recover by themselves.

Prints one JSON object: what the clients were told, and what the database kept.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import django

ROOT = Path(__file__).resolve().parent.parent
THREADS = 3
REFUSED_WHILE_DOWN = 3  # requests that must meet the dead database before it starts again
SUCCESSES_AFTER_RESTART = 30
DEADLINE_S = 60.0
GUNICORN = ["--config", "gunicorn.conf.py"]


def main() -> None:
    from scripts.testenv import Postgres, ensure_installed, free_port

    root = Path(tempfile.mkdtemp(prefix="pg-restart-"))
    os.chmod(root, 0o755)
    bindir, _ = ensure_installed()
    pg = Postgres(bindir, root, synchronous_commit=True)
    os.environ["DATABASE_URL"] = pg.start()
    port = free_port()
    server = None
    try:
        django.setup()
        fixtures = seed()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "verify_platform.wsgi:application", *GUNICORN],
            cwd=ROOT,
            env={**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2"},
            stdout=open(root / "gunicorn.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        _wait(lambda: _get(port, "/healthz") == 200, "gunicorn")
        print(json.dumps(run(pg, port, fixtures)))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        pg.stop()


def seed() -> dict:
    from django.core.management import call_command
    from django.db import connection

    from services import domain

    call_command("migrate", verbosity=0)
    account, token = domain.account_create(friendly_name="Restart")
    service = domain.service_create(
        account=account, friendly_name="Restart Service", custom_code_enabled=True
    )
    connection.close()  # this process's connection would only see the crash
    return {
        "authorization": "Basic " + base64.b64encode(f"{account.sid}:{token}".encode()).decode(),
        "base": f"/v2/Services/{service.sid}",
    }


def run(pg, port: int, fixtures: dict) -> dict:
    from challenges.models import Verification

    started = time.monotonic()
    stop = threading.Event()
    lock = threading.Lock()
    log: list[tuple[float, str, int, str | None]] = []  # (t, what, status, sid)
    phase = {"down": False, "refused_while_down": 0}

    def record(what: str, status: int, sid: str | None) -> None:
        with lock:
            log.append((time.monotonic() - started, what, status, sid))
            if phase["down"] and status >= 500:
                phase["refused_while_down"] += 1

    def post(path: str, data: dict) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(
                "POST",
                fixtures["base"] + path,
                body=urlencode(data),
                headers={
                    "Authorization": fixtures["authorization"],
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    def client_loop(n: int) -> None:
        i = 0
        while not stop.is_set():
            to, code = f"+1415{n + 2}55{i:04d}", f"{(n * 10_000 + i) % 1_000_000:06d}"
            status, body = post("/Verifications", {"To": to, "Channel": "sms", "CustomCode": code})
            sid = body.get("sid") if status == 201 else None
            record("create", status, sid)
            if sid:
                status, body = post("/VerificationCheck", {"VerificationSid": sid, "Code": code})
                record("check", status, sid if body.get("status") == "approved" else None)
            i += 1

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    try:
        _wait(lambda: _successes_after(log, 0.0) >= 20, "traffic before the crash")
        pg.crash()
        with lock:
            phase["down"] = True
        _wait(lambda: phase["refused_while_down"] >= REFUSED_WHILE_DOWN, "refusals while down")
        with lock:
            phase["down"] = False
        pg.restart()
        restarted_at = time.monotonic() - started
        _wait(
            lambda: _successes_after(log, restarted_at) >= SUCCESSES_AFTER_RESTART,
            "traffic after the restart",
        )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)

    created = {sid for _, what, status, sid in log if what == "create" and status == 201}
    approved = {sid for _, what, _, sid in log if what == "check" and sid}
    kept = dict(Verification.objects.filter(sid__in=created).values_list("sid", "status"))
    failures = [t for t, _, status, _ in log if status >= 500]
    return {
        "statuses": dict(Counter(str(status) for _, _, status, _ in log)),
        "created": len(created),
        "created_missing": len(created - kept.keys()),
        "approved": len(approved),
        "approved_not_kept": sum(1 for sid in approved if kept.get(sid) != "approved"),
        "failure_window_s": round(max(failures) - min(failures), 2) if failures else None,
        "successes_after_restart": _successes_after(log, restarted_at),
    }


def _successes_after(log: list, moment: float) -> int:
    return sum(1 for t, _, status, _ in list(log) if t > moment and status in (200, 201))


def _get(port: int, path: str) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
