"""Every stateful model declares its legal edges, and `move` is the one writer of a status:
undeclared edges are refused before any SQL runs, and a lost compare-and-set writes nothing."""

from __future__ import annotations

import pytest
from django.apps import apps

from challenges.models import Challenge, DeliveryAttempt, FactorCode, OtpStatus, Verification
from factors.models import Factor
from services.models import WebhookDelivery
from verify_platform.lib.transitions import CREATED, IllegalTransition, move

STATEFUL = (Verification, FactorCode, Challenge, Factor, DeliveryAttempt, WebhookDelivery)


def test_every_model_with_a_status_declares_its_transitions():
    with_status = {
        model
        for model in apps.get_models()
        if any(field.name == "status" for field in model._meta.concrete_fields)
    }
    assert set(STATEFUL) <= with_status
    missing = [m.__name__ for m in with_status if not hasattr(m, "transitions")]
    assert missing == []


@pytest.mark.parametrize("model", STATEFUL, ids=lambda m: m.__name__)
def test_the_table_names_only_real_statuses_and_creates_in_the_default(model):
    values = set(model.Status.values)
    table = model.transitions.edges
    for source, targets in table.items():
        assert source is CREATED or source in values
        assert targets <= values
    default = model._meta.get_field("status").default
    assert model.transitions.created_as(default) == default


def test_verifications_and_phone_codes_share_one_status_enum():
    assert Verification.Status is FactorCode.Status is OtpStatus
    assert Verification.transitions is FactorCode.transitions


def test_an_undeclared_edge_is_refused_before_any_write(db):
    with pytest.raises(IllegalTransition):
        move(Verification, pk="VE0", sources=["approved"], target="pending")
    with pytest.raises(IllegalTransition):
        Challenge.transitions.created_as(Challenge.Status.DENIED)
    with pytest.raises(IllegalTransition):
        DeliveryAttempt.transitions.edge([DeliveryAttempt.Status.CANCELED], "sending")


def test_a_lost_compare_and_set_returns_false(db):
    assert move(Verification, pk="VE-none", target=Verification.Status.CANCELED) is False
