"""Metrics moved by a real Celery worker (prefork, Redis broker, PostgreSQL): the API's
`/metrics` counts the start, the worker's own endpoint (VERIFY_METRICS_WORKER_PORT, merged
across its pool processes from PROMETHEUS_MULTIPROC_DIR) the delivery, the time to the
provider, the fallback step, the task latency and the queue length."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from challenges import domain
from challenges.enqueue import DELIVERY_ATTEMPT_SEND
from challenges.models import DeliveryAttempt
from scripts.testenv import free_port
from tests.test_metrics_endpoint import samples, scrape, value
from tests.worker import Worker, messages, purge_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GB_MOBILE = "+447400123456"


class MetricsWorker(Worker):
    port: int


@pytest.fixture(scope="module")
def metrics_worker(django_db_setup, tmp_path_factory):
    outbox = tmp_path_factory.mktemp("outbox")
    directory = tmp_path_factory.mktemp("worker-metrics")
    # What an earlier run left is deleted at start: merged, this one would fail every scrape.
    (directory / "counter_999999.db").write_bytes(b"not a metrics file")
    purge_queue()
    with pytest.MonkeyPatch.context() as env:
        port = free_port()
        env.setenv("VERIFY_METRICS_WORKER_PORT", str(port))
        env.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
        worker = MetricsWorker(outbox).start()
    worker.port = port
    wait_for(lambda: _reachable(port), what="worker metrics endpoint")
    yield worker
    worker.stop()


@pytest.fixture
def worker(metrics_worker, transactional_db):
    metrics_worker.alive()
    yield metrics_worker
    wait_for(metrics_worker.idle, timeout=20, what="worker idle")


def _reachable(port: int) -> bool:
    try:
        worker_scrape(port)
    except OSError:
        return False
    return True


def worker_scrape(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    list(text_string_to_metric_families(text))  # the whole text parses
    return samples(text)


@pytest.fixture
def service(tenant):
    """A plan of two steps with a one-second timer (shorter than the API allows, written to
    the row), so the fallback step fires within the test."""
    from services import domain as services_domain

    service = services_domain.service_create(account=tenant.account, friendly_name="Metrics")
    service.fallback = [{"channel": "whatsapp", "timeout": 1}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    return service


def test_a_verification_moves_the_api_and_the_worker_metrics(worker, service):
    port = worker.port
    web_before, before = scrape(), worker_scrape(port)
    verification = domain.verification_start(service=service, to=GB_MOBILE, channel="auto")
    started = "verify_verifications_started_total"
    labels = {"channel": "whatsapp", "country": "GB"}
    assert value(scrape(), started, **labels) - value(web_before, started, **labels) == 1

    first = DeliveryAttempt.objects.get(verification=verification, step=0)
    wait_for(lambda: messages(worker.outbox, first.sid), what="the first message")
    fallback = wait_for(
        lambda: DeliveryAttempt.objects.filter(verification=verification, step=1).first(),
        what="the fallback step",
    )
    wait_for(lambda: messages(worker.outbox, fallback.sid), what="the fallback message")

    def moved(name: str, **labels: str) -> float:
        return value(worker_scrape(port), name, **labels) - value(before, name, **labels)

    sent = "verify_delivery_attempts_total"
    wait_for(lambda: moved(sent, outcome="sent") >= 2, what="both sends counted")
    after = worker_scrape(port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(sent, channel="whatsapp", adapter="test-file", outcome="sent") == 1
    assert delta(sent, channel="sms", adapter="test-file", outcome="sent") == 1
    # Only the first message of a verification is its time to the provider.
    assert delta("verify_time_to_provider_seconds_count", channel="whatsapp") == 1
    assert delta("verify_time_to_provider_seconds_count", channel="sms") == 0
    assert delta("verify_time_to_provider_seconds_bucket", channel="whatsapp", le="+Inf") == 1
    assert delta("verify_fallback_steps_total", channel="sms", step="1") == 1
    task = {"task": DELIVERY_ATTEMPT_SEND}
    assert delta("verify_celery_task_run_seconds_count", **task) >= 2
    assert delta("verify_celery_task_queue_wait_seconds_count", **task) >= 2
    assert delta("verify_celery_tasks_total", state="SUCCESS", **task) >= 2
    # The fallback waited its one second as an ETA: the wait counts from the ETA, not from
    # the publish, so no send waited anywhere near the timer.
    wait_sum = delta("verify_celery_task_queue_wait_seconds_sum", **task)
    assert wait_sum / delta("verify_celery_task_queue_wait_seconds_count", **task) < 0.9


def test_the_queue_length_is_read_from_the_broker(worker):
    from verify_platform.celery import app

    def length() -> float:
        return value(worker_scrape(worker.port), "verify_celery_queue_length", queue="celery")

    assert value(worker_scrape(worker.port), "verify_celery_broker_up") == 1
    assert length() == 0
    app.control.cancel_consumer("celery", destination=[worker.name], reply=True)
    try:
        for n in range(3):  # attempts that do not exist: the task skips them
            app.send_task(DELIVERY_ATTEMPT_SEND, args=[f"VL{n:032d}"])
        wait_for(lambda: length() == 3, what="three waiting messages")
    finally:
        app.control.add_consumer("celery", destination=[worker.name], reply=True)
    wait_for(lambda: length() == 0, what="the queue drained")
