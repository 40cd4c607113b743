"""The monitoring files under deploy/: the alert rules parse as YAML and pass `promtool check
rules` (Debian's `prometheus` package), the Grafana dashboard is valid JSON, and every metric
either names exists on an endpoint; the API's exposition passes `promtool check metrics`;
docker-compose.yml wires the multiprocess directories and the worker's endpoint."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client.metrics import MetricWrapperBase

from scripts.testenv import apt_install
from verify_platform.lib import metrics
from verify_platform.metrics.collectors import QueueDepthCollector, WebhookBacklogCollector

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "verify-platform.json"
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
NAME = re.compile(r"\bverify_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


@functools.cache
def promtool() -> str:
    """Debian's promtool, installed with apt when missing and we are root (as
    scripts/testenv.py does for PostgreSQL and Redis)."""
    if not shutil.which("promtool"):
        apt_install(["prometheus"])
    found = shutil.which("promtool")
    assert found, "promtool is needed: sudo apt-get install prometheus"
    return found


@pytest.fixture
def exposed_names(db) -> set[str]:
    """Every sample name the endpoints can expose: the definitions of
    `verify_platform.lib.metrics` (with their types' suffixes) and the scrape-time
    collectors (read from this run's database and Redis broker)."""
    names = set()
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            for family in metric.describe():
                names.update(family.name + s for s in SUFFIXES[family.type])
    from verify_platform.celery import app

    for collector in (QueueDepthCollector(app.amqp.queues.keys()), WebhookBacklogCollector()):
        names.update(family.name for family in collector.collect())
    assert "verify_celery_queue_length" in names  # the broker answered
    return names


def used_names(text: str) -> set[str]:
    return set(NAME.findall(text))


def test_the_alert_rules_parse_and_pass_promtool():
    rules = yaml.safe_load(ALERTS.read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "VerifyDeliveryFailureRateHigh",
        "VerifyConversionDrop",
        "VerifyWebhookBacklog",
        "VerifyTaskQueueLag",
    } <= alerts
    done = subprocess.run(
        [promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_alert_rules_and_the_dashboard_use_only_exposed_metrics(exposed_names):
    rules = yaml.safe_load(ALERTS.read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    targets = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert targets
    used = used_names("\n".join(expressions + targets))
    assert used and not used - exposed_names, sorted(used - exposed_names)
    # And every platform metric has a panel.
    drawn = used_names("\n".join(targets))
    bases = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in exposed_names}
    assert not {b for b in bases if not any(d.startswith(b) for d in drawn)}


def test_the_dashboard_is_importable_grafana_json():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"]
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource"}
    for panel in dashboard["panels"]:
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}


def test_the_scrape_config_passes_promtool(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text(SCRAPE_CONFIG.read_text())
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    (tmp_path / "token").write_text("x")
    config.write_text(
        config.read_text().replace("/etc/prometheus/verify-metrics-token", str(tmp_path / "token"))
    )
    done = subprocess.run(
        [promtool(), "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_exposition_passes_promtool_check_metrics(db, api, service):
    api.get(f"/v2/Services/{service.sid}")  # a request, so the histogram has series
    text = Client().get("/metrics").content
    done = subprocess.run(
        [promtool(), "check", "metrics"], input=text, capture_output=True, timeout=60
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode()


def test_docker_compose_wires_the_metrics():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    worker = services["worker"]["environment"]
    assert int(worker["VERIFY_METRICS_WORKER_PORT"]) > 0
    assert worker["VERIFY_METRICS_WORKER_ADDRESS"] == "0.0.0.0"
    assert "PROMETHEUS_MULTIPROC_DIR" not in compose["x-app"]["environment"]  # not beat's
