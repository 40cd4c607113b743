"""The Celery application (verify_platform/celery.py): its configuration is the Django
settings' `CELERY_*` names, read live, so `override_settings`, the pytest `settings`
fixture and bench/settings.py all reach it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from verify_platform import celery
from verify_platform.celery import app

ROOT = Path(__file__).resolve().parent.parent.parent


def test_celery_configuration_comes_from_the_django_settings():
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.broker_transport_options == settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert app.conf.task_acks_late is True and app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_ignore_result is True
    assert app.conf.beat_schedule == settings.CELERY_BEAT_SCHEDULE
    # Read under its full name by Celery's Django fixup (connection reuse in the worker).
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX == 1000
    assert app.conf.task_default_queue == "celery"  # a Celery default, no setting


def test_override_settings_reaches_celery():
    assert app.conf.task_default_priority is None
    with override_settings(CELERY_TASK_DEFAULT_PRIORITY=5):
        assert app.conf.task_default_priority == 5
    assert app.conf.task_default_priority is None  # not a setting: Celery's default again


def test_pytest_settings_fixture_reaches_celery(settings):
    settings.CELERY_TASK_DEFAULT_PRIORITY = 3
    assert app.conf.task_default_priority == 3


def test_the_module_keeps_no_publish_of_its_own():
    """Tasks are queued with Celery's public API, through the apps' enqueue modules."""
    assert not hasattr(celery, "publish")
    assert type(app).__module__ == "celery.app.base"


def test_bench_settings_reach_celery():
    """bench/settings.py adds CELERY_IMPORTS (the no-op task of the worker scenarios)."""
    code = (
        "import django; django.setup()\n"
        "from verify_platform.celery import app\n"
        "print(list(app.conf.imports), app.conf.task_acks_late)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["['bench.tasks']", "True"]
