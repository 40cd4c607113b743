"""`make run` serves from SQLite: the PostgreSQL-only fast paths must fall back there."""

from __future__ import annotations

import os

from tests.helpers import run_flow


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
    )
    result = run_flow("tests.development_flow", env, timeout=120)
    assert (tmp_path / "verify.sqlite3").exists()
    assert result == {
        "service": 200,
        "factor": "verified",
        "challenge": "approved",
        "replay": "pending",
        "deliveries": True,
        "verification": [201, True],
        "checks": ["pending", "approved"],
    }
