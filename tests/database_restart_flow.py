"""PostgreSQL crashes and restarts under load (SECURITY reliability matrix R2), run by
tests/test_database_restart.py in a process of its own, because it owns its database: a cluster
of its own, crashed (immediate shutdown) while threads create and check verifications.

Prints one JSON object: what the clients were told, and what the database kept.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import django

THREADS = 3
REFUSED_WHILE_DOWN = 3  # requests that must meet the dead database before it starts again
SUCCESSES_AFTER_RESTART = 30
DEADLINE_S = 60.0


def main() -> None:
    from scripts.testenv import Postgres, ensure_installed

    root = Path(tempfile.mkdtemp(prefix="pg-restart-"))
    os.chmod(root, 0o755)
    bindir, _ = ensure_installed()
    pg = Postgres(bindir, root, synchronous_commit=True)
    os.environ["DATABASE_URL"] = pg.start()
    try:
        print(json.dumps(run(pg)))
    finally:
        pg.stop()


def run(pg) -> dict:
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from challenges.models import Verification
    from services import domain

    call_command("migrate", verbosity=0)
    account, token = domain.account_create(friendly_name="Restart")
    service = domain.service_create(
        account=account, friendly_name="Restart Service", custom_code_enabled=True
    )
    basic = "Basic " + base64.b64encode(f"{account.sid}:{token}".encode()).decode()
    base = f"/v2/Services/{service.sid}"
    connection.close()

    started = time.monotonic()
    stop = threading.Event()
    lock = threading.Lock()
    log: list[tuple[float, str, int, str | None]] = []  # (t, what, status, sid)
    phase = {"down": False, "refused_while_down": 0, "restarted_at": None}

    def record(what: str, status: int, sid: str | None) -> None:
        with lock:
            log.append((time.monotonic() - started, what, status, sid))
            if phase["down"] and status >= 500:
                phase["refused_while_down"] += 1

    def client_loop(n: int) -> None:
        from django.db import connections

        client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=basic)
        i = 0
        while not stop.is_set():
            to = f"+1415{n + 2}55{i:04d}"
            code = f"{(n * 1000 + i) % 1_000_000:06d}"
            form = "application/x-www-form-urlencoded"
            created = client.post(
                f"{base}/Verifications",
                urlencode({"To": to, "Channel": "sms", "CustomCode": code}),
                content_type=form,
            )
            sid = created.json().get("sid") if created.status_code == 201 else None
            record("create", created.status_code, sid)
            if sid:
                checked = client.post(
                    f"{base}/VerificationCheck",
                    urlencode({"VerificationSid": sid, "Code": code}),
                    content_type=form,
                )
                ok = checked.status_code in (200, 201)
                status = checked.json().get("status") if ok else None
                record("check", checked.status_code, sid if status == "approved" else None)
            i += 1
        connections.close_all()

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    try:
        _wait(lambda: sum(1 for e in log if e[2] in (200, 201)) >= 20, "traffic before the crash")
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
            t.join(timeout=30)

    created = {sid for _, what, status, sid in log if what == "create" and status == 201}
    approved = {sid for _, what, status, sid in log if what == "check" and sid}
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


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
