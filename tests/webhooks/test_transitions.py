"""The declared status edges of the webhook models, and the code that moves along them.

Every status write of the delivery engine and of the webhook domain goes through
`move`/`move_all`, which refuse an undeclared edge. So the tables below are the whole state
machine: a flow that walks every path of the code must use exactly the declared edges (an
edge the code never takes should not be declared), and a compare-and-set that loses must
neither report success nor write any column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import product
from typing import Any

import pytest
from django.db import models
from django.test import override_settings
from django.utils import timezone

from services.models import Account, ApiKey, Webhook, WebhookDelivery
from services.webhooks import delivery, dispatch, domain
from services.webhooks.delivery import SendResult
from tests.webhooks.conftest import factor_verified_payload, make_webhook, record
from verify_platform.lib import sids, transitions
from verify_platform.lib.transitions import CREATED, IllegalTransition, move, move_all

URL = "https://backend.example.com/hook"
D, W = WebhookDelivery.Status, Webhook.Status

DELIVERY_EDGES = {
    (CREATED, D.PENDING),
    (D.PENDING, D.SENDING),  # a worker's claim
    (D.PENDING, D.CANCELED),  # the webhook is disabled while the delivery waits
    (D.SENDING, D.SUCCEEDED),
    (D.SENDING, D.FAILED),
    (D.SENDING, D.PENDING),  # a retry, or the sweeper taking back an expired claim
    (D.SENDING, D.CANCELED),  # the claim found the webhook disabled
    (D.SUCCEEDED, D.PENDING),  # replays
    (D.FAILED, D.PENDING),
    (D.CANCELED, D.PENDING),
}
WEBHOOK_EDGES = {
    (CREATED, W.ENABLED),
    (CREATED, W.DISABLED),
    (W.ENABLED, W.DISABLED),
    (W.DISABLED, W.ENABLED),
}
TABLES: dict[type[models.Model], set[tuple[str | None, str]]] = {
    WebhookDelivery: DELIVERY_EDGES,
    Webhook: WEBHOOK_EDGES,
    Account: {
        (CREATED, Account.Status.ACTIVE),
        (Account.Status.ACTIVE, Account.Status.SUSPENDED),
        (Account.Status.SUSPENDED, Account.Status.ACTIVE),
    },
    ApiKey: {(CREATED, ApiKey.Status.ACTIVE), (ApiKey.Status.ACTIVE, ApiKey.Status.REVOKED)},
}

Edge = tuple[type[models.Model], str | None, str]


def declared(model: type[models.Model]) -> set[tuple[str | None, str]]:
    return {(s, t) for s, targets in model.transitions.edges.items() for t in targets}


def undeclared_edges() -> Iterator[tuple[type[models.Model], str | None, str]]:
    for model in TABLES:
        states = [None, *model.Status.values]
        for source, target in product(states, model.Status.values):
            if (source, target) not in TABLES[model]:
                yield model, source, target


@pytest.fixture
def queued(monkeypatch) -> list[list[int]]:
    """The ids handed to workers, recorded instead of reaching the broker."""
    calls: list[list[int]] = []

    def enqueue(ids, *, countdown: float | None = None) -> None:
        calls.append(list(ids))

    def enqueue_on_commit(ids, *, using: str | None = None) -> None:
        calls.append(list(ids))

    monkeypatch.setattr(dispatch, "enqueue", enqueue)
    monkeypatch.setattr(dispatch, "enqueue_on_commit", enqueue_on_commit)
    return calls


@pytest.fixture
def taken(monkeypatch) -> set[Edge]:
    """Every edge the webhook code asks `move`/`move_all` for, recorded on the way through.
    Each call must name its sources: the default (every declared source) would let a retry
    or a replay take a row from any state that reaches `pending`."""
    edges: set[Edge] = set()

    def recording(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(first: Any, *conditions: Any, target: str, sources=None, **kwargs: Any) -> Any:
            model = first if isinstance(first, type) else first.model
            assert sources is not None, f"{model.__name__} -> {target} without its sources"
            edges.update((model, source, target) for source in sources)
            return real(first, *conditions, target=target, sources=sources, **kwargs)

        return call

    def created_as(status: str) -> str:
        edges.add((Webhook, CREATED, status))
        return real_created_as(status)

    for module in (delivery, domain):
        monkeypatch.setattr(module, "move", recording(transitions.move))
        monkeypatch.setattr(module, "move_all", recording(transitions.move_all))
    real_created_as = Webhook.transitions.created_as
    monkeypatch.setattr(Webhook.transitions, "created_as", created_as)
    return edges


def new_delivery(service) -> WebhookDelivery:
    event = record(service, "factor.verified", sids.factor_sid(), factor_verified_payload())
    return WebhookDelivery.objects.get(event=event)


def row(model: type[models.Model], pk: Any) -> dict[str, Any]:
    return model.objects.values().get(pk=pk)


def later(seconds: float = 1.0):
    return timezone.now() + timedelta(seconds=seconds)


# The tables.


@pytest.mark.parametrize("model", list(TABLES), ids=lambda m: m.__name__)
def test_each_table_declares_exactly_its_edges(model):
    assert declared(model) == TABLES[model]


@pytest.mark.parametrize("model", list(TABLES), ids=lambda m: m.__name__)
def test_a_new_row_starts_in_a_declared_creation_state(model):
    """A row inserted without naming its status takes the field's default: it must be a
    state a row may be created in."""
    default = model._meta.get_field("status").default
    assert model.transitions.created_as(default) == default


@pytest.mark.parametrize(
    ("model", "source", "target"),
    list(undeclared_edges()),
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_an_undeclared_edge_is_refused(model, source, target):
    with pytest.raises(IllegalTransition):
        if source is CREATED:
            model.transitions.created_as(target)
        else:
            model.transitions.edge([source], target)


# The code walks exactly the declared edges.


@pytest.mark.django_db(transaction=True)
def test_the_webhook_code_walks_exactly_the_declared_edges(service, queued, taken):
    """Every path of the engine once: success, retry, failure, lease takeover, cancel on
    claim, cancel on disable, replays, re-enable; then the edges taken are the tables."""

    def attempt(pending: WebhookDelivery, status_code: int, at: float) -> str | None:
        claimed = delivery.delivery_claim(delivery_id=pending.pk, now=later(at))
        result = SendResult(status_code=status_code)
        return delivery.delivery_record(delivery=claimed, result=result, now=later(at))

    webhook, _ = make_webhook(service, URL)
    make_webhook(service, URL, status=W.DISABLED)
    ok, retried, lost = (new_delivery(service) for _ in range(3))
    # The outbox statement inserts the deliveries: the creation edge is what it wrote.
    taken.update((WebhookDelivery, CREATED, d.status) for d in (ok, retried, lost))
    with override_settings(VERIFY_WEBHOOKS={"DISABLE_AFTER_FAILURES": 1000}):
        # pending -> sending -> succeeded, then a replay
        assert attempt(ok, 204, at=1) == D.SUCCEEDED
        assert delivery.delivery_replay(delivery=ok, now=later())
        # sending -> pending (a retry), then sending -> failed (not retryable), then a replay
        assert attempt(retried, 503, at=1) == D.PENDING
        assert attempt(retried, 400, at=3600) == D.FAILED
        assert delivery.delivery_replay(delivery=retried, now=later(3600))
        # sending -> pending: the sweeper takes back a dead worker's claim
        assert delivery.delivery_claim(delivery_id=lost.pk, now=later())
        delivery.deliveries_sweep(now=later(3600))
        assert WebhookDelivery.objects.get(pk=lost.pk).status == D.PENDING
        # sending -> canceled: the webhook was switched off behind the claim's back
        Webhook.objects.filter(pk=webhook.pk).update(status=W.DISABLED)
        assert delivery.delivery_attempt(delivery_id=lost.pk, now=later(3600)) == D.CANCELED
        assert delivery.delivery_replay(delivery=lost, now=later(3600))
        Webhook.objects.filter(pk=webhook.pk).update(status=W.ENABLED)
        # pending -> canceled with the webhook, which is then enabled again
        assert domain.webhook_disable(webhook=webhook, reason="test")
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {D.CANCELED}
        assert domain.webhook_enable(webhook=webhook)

    for model in (Webhook, WebhookDelivery):
        walked = {(source, target) for m, source, target in taken if m is model}
        assert walked == declared(model), model.__name__


def test_a_webhook_cannot_be_created_in_an_unknown_state(service):
    with pytest.raises(IllegalTransition):
        make_webhook(service, URL, status="paused")
    assert not Webhook.objects.exists()


def test_moving_along_an_undeclared_edge_raises_and_writes_nothing(service, queued):
    make_webhook(service, URL)
    pending = new_delivery(service)
    before = row(WebhookDelivery, pending.pk)
    with pytest.raises(IllegalTransition):
        move(WebhookDelivery, pk=pending.pk, sources=[D.PENDING], target=D.SUCCEEDED)
    with pytest.raises(IllegalTransition):
        move_all(WebhookDelivery.objects.all(), sources=[D.PENDING], target=D.FAILED)
    assert row(WebhookDelivery, pending.pk) == before


# A lost compare-and-set reports it and writes nothing.


def test_an_outcome_after_the_claim_was_taken_back_is_dropped(service, queued):
    """A slow worker answers after the sweeper took its claim back and another worker
    claimed the delivery again: its outcome must not overwrite the new attempt."""
    webhook, _ = make_webhook(service, URL)
    pending = new_delivery(service)
    slow = delivery.delivery_claim(delivery_id=pending.pk, now=later())
    delivery.deliveries_sweep(now=later(3600))
    assert delivery.delivery_claim(delivery_id=pending.pk, now=later(3600)).attempts == 2
    before = row(WebhookDelivery, pending.pk)
    hook_before = row(Webhook, webhook.pk)

    outcome = delivery.delivery_record(
        delivery=slow, result=SendResult(status_code=500), now=later(3600)
    )

    assert outcome is None
    assert row(WebhookDelivery, pending.pk) == before
    assert row(Webhook, webhook.pk) == hook_before  # the failure streak is not counted


def test_a_claim_before_the_due_time_loses(service, queued):
    make_webhook(service, URL)
    pending = new_delivery(service)
    before = row(WebhookDelivery, pending.pk)
    too_early = before["next_attempt_at"] - timedelta(seconds=1)
    assert delivery.delivery_claim(delivery_id=pending.pk, now=too_early) is None
    assert row(WebhookDelivery, pending.pk) == before


def test_a_claim_waits_for_the_earlier_event_of_the_same_resource(service, queued):
    make_webhook(service, URL)
    resource = sids.factor_sid()
    _, second = (
        record(service, "factor.verified", resource, factor_verified_payload(resource))
        for _ in range(2)
    )
    waiting = WebhookDelivery.objects.get(event=second)
    before = row(WebhookDelivery, waiting.pk)
    assert delivery.delivery_claim(delivery_id=waiting.pk, now=later()) is None
    assert row(WebhookDelivery, waiting.pk) == before


@pytest.mark.parametrize("claimed", [False, True], ids=["pending", "sending"])
def test_replaying_an_unfinished_delivery_loses(service, queued, claimed):
    """Only a finished delivery is replayed: a waiting one is due anyway, and taking a claimed
    one back to pending would let a second worker send it while the first still is."""
    make_webhook(service, URL)
    unfinished = new_delivery(service)
    if claimed:
        assert delivery.delivery_claim(delivery_id=unfinished.pk, now=later())
    queued.clear()
    before = row(WebhookDelivery, unfinished.pk)
    assert delivery.delivery_replay(delivery=unfinished, now=later()) is False
    assert row(WebhookDelivery, unfinished.pk) == before
    assert queued == []


def test_enabling_an_enabled_webhook_loses_and_keeps_its_streak(service):
    webhook, _ = make_webhook(service, URL)
    Webhook.objects.filter(pk=webhook.pk).update(failure_streak=5, failing_since=later())
    before = row(Webhook, webhook.pk)
    assert domain.webhook_enable(webhook=webhook) is False
    assert row(Webhook, webhook.pk) == before


def test_disabling_a_disabled_webhook_loses_and_leaves_its_deliveries(service, queued):
    webhook, _ = make_webhook(service, URL)
    pending = new_delivery(service)
    Webhook.objects.filter(pk=webhook.pk).update(status=W.DISABLED, disabled_reason="first")
    before, delivery_before = row(Webhook, webhook.pk), row(WebhookDelivery, pending.pk)
    assert domain.webhook_disable(webhook=webhook, reason="second") is False
    assert row(Webhook, webhook.pk) == before
    assert row(WebhookDelivery, pending.pk) == delivery_before


def test_move_loses_when_a_filter_fails(service, queued):
    make_webhook(service, URL)
    pending = new_delivery(service)
    before = row(WebhookDelivery, pending.pk)
    won = move(
        WebhookDelivery,
        pk=pending.pk,
        sources=[D.PENDING],
        target=D.SENDING,
        filters={"attempts": pending.attempts + 1},
        last_error="written by a loser",
    )
    assert won is False
    moved = move_all(
        WebhookDelivery.objects.filter(pk=pending.pk),
        sources=[D.SENDING],
        target=D.PENDING,
        last_error="written by a loser",
    )
    assert moved == 0
    assert row(WebhookDelivery, pending.pk) == before
