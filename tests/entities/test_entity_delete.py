"""Deleting an entity announces every factor that goes with it (`factor.deleted`), so a
backend that mirrors factors from webhooks never keeps one that no longer exists."""

from __future__ import annotations

import pytest

from challenges import domain as challenge_domain
from challenges.models import Challenge
from entities.models import Entity
from factors.models import Factor
from services.models import Event
from tests.factors.conftest import IDENTITY, make_factor, make_verified_factor

pytestmark = pytest.mark.django_db


def test_entity_delete_records_factor_deleted_for_each_factor(api, service):
    verified, _ = make_verified_factor(service)
    pending, _ = make_factor(service)
    challenge_domain.challenge_create(factor=verified)
    other, _ = make_factor(service, identity="someone-else-0002")

    response = api.delete(f"/v2/Services/{service.sid}/Entities/{IDENTITY}")

    assert response.status_code == 204
    assert not Entity.objects.filter(service=service, identity=IDENTITY).exists()
    assert set(Factor.objects.filter(service=service).values_list("sid", flat=True)) == {other.sid}
    assert not Challenge.objects.filter(factor_id=verified.sid).exists()
    deleted = Event.objects.filter(type="factor.deleted", service=service)
    assert {e.resource_sid for e in deleted} == {verified.sid, pending.sid}
    for event in deleted:
        assert event.payload["status"] == "deleted"
        assert event.payload["entity_identity"] == IDENTITY


def test_another_tenants_entity_is_404_and_untouched(other_api, service):
    factor, _ = make_verified_factor(service)
    response = other_api.delete(f"/v2/Services/{service.sid}/Entities/{IDENTITY}")
    assert response.status_code == 404
    assert Factor.objects.filter(pk=factor.sid).exists()
    assert not Event.objects.filter(type="factor.deleted").exists()
