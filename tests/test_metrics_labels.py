"""Label values stay bounded and mean what the dashboards say; every metric has labels, so a
process that only loaded the app (gunicorn's master) writes no multiprocess file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from verify_platform.lib import metrics
from verify_platform.metrics.worker import PUBLISHED_HEADER, queue_wait

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("to", "country"),
    [
        ("+447400123456", "GB"),  # +44 is shared: phonenumbers decides
        ("+447911123456", "GG"),  # ... Guernsey's mobile range
        ("+14155550100", "US"),
        ("+16135550123", "CA"),
        ("+33612345678", "FR"),  # one country per code: from the code alone
        ("+5511987654321", "BR"),
        ("+80012345678", "unknown"),  # non-geographic
        ("user@example.com", "email"),
        ("+999123", "unknown"),
        ("not a number", "unknown"),
    ],
)
def test_the_country_of_a_destination(to, country):
    assert metrics.country_of(to) == country


def test_loading_the_app_writes_no_multiprocess_file(tmp_path):
    """What gunicorn's master does before it forks (preload_app): the metrics directory
    stays empty, so emptying it at start loses nothing and the master shows in no total."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")
    code = (
        "import verify_platform.wsgi, verify_platform.urls, verify_platform.lib.metrics as m;"
        "from prometheus_client.metrics import MetricWrapperBase;"
        "print(sum(isinstance(v, MetricWrapperBase) for v in vars(m).values()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) >= 10  # the metrics were defined
    assert list(tmp_path.iterdir()) == []


def test_the_wait_in_queue_counts_from_the_later_of_publish_and_eta():
    published = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    headers = {PUBLISHED_HEADER: published}
    assert queue_wait(headers, None, published + 2.5) == pytest.approx(2.5)
    eta = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC).isoformat()
    assert queue_wait(headers, eta, published + 10.5) == pytest.approx(0.5)
    assert queue_wait(headers, "garbage", published + 1) == pytest.approx(1)
    assert queue_wait({}, None, published) is None  # a message from an older publisher
    assert queue_wait(None, None, published) is None


def test_a_lost_webhook_claim_counts_nothing(monkeypatch):
    recorded = []
    monkeypatch.setattr(metrics, "_after_commit", lambda *args: recorded.append(args))
    now = datetime.now(UTC)
    metrics.webhook_delivered(status=None, event_created=now, now=now)
    metrics.webhook_delivered(status="pending", event_created=now, now=now)
    metrics.webhook_delivered(status="succeeded", event_created=now, now=now)
    assert [args[1:] for args in recorded] == [("retry", None), ("succeeded", 0.0)]
