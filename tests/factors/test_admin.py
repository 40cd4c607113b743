"""The operator console: factors without their seed, the unlock action, challenges with
their events."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from challenges import domain as challenge_domain
from factors.models import Factor
from tests.factors.conftest import NOW, code_for, make_verified_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed
    user = get_user_model().objects.create_superuser("op", "op@example.com", "pw-123456789")
    client.force_login(user)
    return client


def test_factor_pages_never_show_the_seed(staff_client, service):
    factor, secret = make_verified_factor(service)
    stored = Factor.objects.get(pk=factor.pk).secret_encrypted
    listing = staff_client.get(reverse("admin:factors_factor_changelist"))
    detail = staff_client.get(reverse("admin:factors_factor_change", args=[factor.pk]))
    for page in (listing, detail):
        assert page.status_code == 200
        assert factor.sid.encode() in page.content
        assert secret.encode() not in page.content
        assert stored.encode() not in page.content


def test_unlock_action(staff_client, service):
    factor, secret = make_verified_factor(service)
    Factor.objects.filter(pk=factor.pk).update(locked=True, consecutive_failures=100)
    resp = staff_client.post(
        reverse("admin:factors_factor_changelist"),
        {"action": "unlock", "_selected_action": [factor.pk]},
        follow=True,
    )
    assert resp.status_code == 200
    fresh = Factor.objects.get(pk=factor.pk)
    assert (fresh.locked, fresh.consecutive_failures) == (False, 0)
    ch = challenge_domain.challenge_create(
        factor=fresh, auth_payload=code_for(fresh, secret, NOW), now=NOW
    )
    assert ch.status == "approved"


def test_challenge_pages_list_events(staff_client, service):
    factor, secret = make_verified_factor(service)
    ch = challenge_domain.challenge_create(
        factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW
    )
    listing = staff_client.get(
        reverse("admin:challenges_challenge_changelist"), {"status__exact": "approved"}
    )
    assert listing.status_code == 200 and ch.sid.encode() in listing.content
    empty = staff_client.get(
        reverse("admin:challenges_challenge_changelist"), {"status__exact": "denied"}
    )
    assert ch.sid.encode() not in empty.content
    detail = staff_client.get(reverse("admin:challenges_challenge_change", args=[ch.pk]))
    assert detail.status_code == 200
    assert b"challenge.approved" in detail.content
