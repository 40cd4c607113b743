"""`make run` serves from SQLite: the PostgreSQL-only fast paths must fall back there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_login_flow_works_on_the_development_database(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="verify_platform.settings",
        VERIFY_VAR_DIR=str(tmp_path),  # SQLite file and filesystem broker live here
        DEBUG="true",
        PYTHONPATH=str(ROOT),
    )
    run = subprocess.run(
        [sys.executable, "-m", "tests.development_flow"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "verify.sqlite3").exists()
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {
        "service": 200,
        "factor": "verified",
        "challenge": "approved",
        "replay": "pending",
        "verification": [201, True],
        "checks": ["pending", "approved"],
    }
