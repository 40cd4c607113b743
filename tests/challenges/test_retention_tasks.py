"""The retention beat tasks: scheduled, registered, and each runs its app's sweep; the
settings come from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from challenges.models import Verification
from challenges.tasks import retention_sweep_task as challenges_task
from services.models import Event
from services.tasks import retention_sweep_task as services_task
from tests.challenges.test_retention_sweep import SETTINGS, make_event, make_verification
from verify_platform.celery import app
from verify_platform.lib.clock import current_time

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_beat_schedule_runs_both_sweeps():
    for entry, task in (
        ("challenges-retention-sweep", "challenges.retention_sweep"),
        ("services-retention-sweep", "services.retention_sweep"),
    ):
        scheduled = settings.CELERY_BEAT_SCHEDULE[entry]
        assert scheduled["task"] == task and task in app.tasks
        assert scheduled["schedule"] == 60.0 and scheduled["options"]["expires"] == 60.0
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE


@pytest.mark.django_db
def test_each_task_runs_its_apps_sweep(settings, service):
    settings.VERIFY_RETENTION = dict(SETTINGS)
    now = current_time()
    old = make_verification(service, days=31, now=now)
    event = make_event(service, days=91, now=now)
    counts = challenges_task()
    assert counts["verifications"] == 1 and counts["verifications_redacted"] == 1
    assert services_task() == {"webhook_deliveries": 0, "events": 1}
    assert not Verification.objects.filter(pk=old.pk).exists()
    assert not Event.objects.filter(pk=event.pk).exists()


def test_the_settings_come_from_the_environment():
    code = (
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(json.dumps([s.VERIFY_RETENTION,"
        " s.CELERY_BEAT_SCHEDULE['services-retention-sweep']['schedule']]))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "VERIFY_RETENTION_EVENTS_DAYS": "0",
        "VERIFY_RETENTION_REDACT_DESTINATIONS_DAYS": "3",
        "VERIFY_RETENTION_BATCH_SIZE": "250",
        "VERIFY_RETENTION_INTERVAL_SECONDS": "15",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    values, interval = json.loads(out.stdout.strip().splitlines()[-1])
    assert values == {
        "EVENTS_DAYS": 0,
        "CHALLENGES_DAYS": 90,
        "VERIFICATIONS_DAYS": 30,
        "ATTEMPTS_DAYS": 30,
        "WEBHOOK_DELIVERIES_DAYS": 30,
        "FACTOR_CODES_DAYS": 7,
        "REDACT_DESTINATIONS_DAYS": 3,
        "BATCH_SIZE": 250,
        "MAX_BATCHES": 100,
    }
    assert interval == 15.0
