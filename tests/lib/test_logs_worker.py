"""One verification followed through the logs: the id of the API call that started it is on
the lines a real Celery worker writes while sending it, in the JSON log format, also for the
fallback step the worker queued itself after the first provider refused.

The worker runs with `VERIFY_LOG_FORMAT=json`; WhatsApp goes to the file outbox (scripted to
fail for good), SMS to the console adapter, which writes the message as a log line.
"""

from __future__ import annotations

import json

import pytest

from challenges.models import DeliveryAttempt
from tests.challenges.conftest import MOBILE
from tests.conftest import api_client
from tests.helpers import form
from tests.worker import Worker, purge_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REQUEST_ID = "trace-0123456789abcdef"


@pytest.fixture(scope="module")
def json_worker(django_db_setup, tmp_path_factory):
    purge_queue()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VERIFY_LOG_FORMAT", "json")
        patch.setenv("VERIFY_CHANNEL_SMS", "console")
        running = Worker(tmp_path_factory.mktemp("outbox")).start()
    yield running
    running.stop()


@pytest.fixture
def worker(json_worker, transactional_db) -> Worker:
    json_worker.alive()
    yield json_worker
    wait_for(json_worker.idle, timeout=20, what="worker idle")


def records(worker: Worker) -> list[dict]:
    """The worker's log records: every line after Celery's start-up banner is one object."""
    text = worker.log()
    lines = text[text.index("\n{") + 1 :].splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_worker_lines_of_a_verification_carry_the_request_id(worker, tenant):
    from services import domain as services_domain

    service = services_domain.service_create(account=tenant.account, friendly_name="Traced")
    service.fallback = [{"channel": "whatsapp", "timeout": 300}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    (worker.outbox / "fail-whatsapp-1").write_text("permanent")

    response = form(
        api_client(tenant),
        f"/v2/Services/{service.sid}/Verifications",
        {"To": MOBILE, "Channel": "auto"},
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-Id"] == REQUEST_ID
    first = DeliveryAttempt.objects.get(verification_id=response.json()["sid"], step=0)
    second = wait_for(
        lambda: DeliveryAttempt.objects.filter(
            verification_id=first.verification_id, step=1, status="sent"
        ).first(),
        what="the sms step sent",
    )

    def line(logger: str, text: str) -> dict | None:
        found = [r for r in records(worker) if r["logger"] == logger and text in r["message"]]
        return found[0] if found else None

    # The first step, queued by the API request: its failure, as the task logged it.
    failed = wait_for(
        lambda: line("challenges.tasks", f"delivery attempt {first.sid}: "), what="step 0 line"
    )
    # The second, queued by the worker's task after the failure, sent by the console adapter.
    sent = wait_for(
        lambda: line("challenges.tasks", f"delivery attempt {second.sid}: "), what="step 1 line"
    )
    console = line("channels.console", f"(attempt {second.sid})")
    assert console is not None, records(worker)[-10:]
    for record in (failed, sent, console):
        assert record["request_id"] == REQUEST_ID, record
        assert record["task_name"] == "challenges.delivery_attempt_send", record
        assert record["task_id"]
    assert failed["message"].endswith(": failed") and sent["message"].endswith(": sent")
    assert failed["task_id"] != sent["task_id"]


def test_work_no_request_started_carries_no_request_id(worker, tenant):
    """A verification started outside any request (a management command, a test) has no id
    to carry; its lines have none rather than a stale one from an earlier task."""
    from challenges import domain
    from services import domain as services_domain

    service = services_domain.service_create(account=tenant.account, friendly_name="Untraced")
    verification = domain.verification_start(service=service, to=MOBILE, channel="sms")
    attempt = DeliveryAttempt.objects.get(verification=verification, step=0)
    marker = f"delivery attempt {attempt.sid}: "
    record = wait_for(
        lambda: next(
            (
                r
                for r in records(worker)
                if r["logger"] == "challenges.tasks" and marker in r["message"]
            ),
            None,
        ),
        what="the task's line",
    )
    assert "request_id" not in record, record
    assert record["task_name"] == "challenges.delivery_attempt_send"
