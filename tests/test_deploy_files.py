"""The production shape stays consistent: compose services, health checks, settings."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_the_production_shape():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["DEBUG"] == "false"
    assert services["worker"]["command"][:4] == ["celery", "-A", "verify_platform", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "verify_platform", "beat"]


def test_image_refuses_development_settings_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "check --deploy --fail-level ERROR" in dockerfile
    assert "gunicorn verify_platform.wsgi:application" in dockerfile
    assert "USER verify" in dockerfile


def _gunicorn_config():
    import runpy

    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_sizes_workers_from_a_containers_cpu_quota(tmp_path):
    usable_cores = _gunicorn_config()["usable_cores"]
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cores(tmp_path) == affinity  # no quota: the cores we may run on
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # --cpus=1.5
    assert usable_cores(tmp_path) == min(affinity, 2)
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")  # cgroup v1, half a CPU
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cores(tmp_path) == 1
