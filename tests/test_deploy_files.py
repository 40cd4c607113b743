"""The production shape stays consistent: compose services, health checks, settings."""

from __future__ import annotations

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
