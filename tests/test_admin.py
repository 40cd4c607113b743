"""The operator console: credentials are shown once, on the page that created them."""

from __future__ import annotations

import re

import pytest

from services import domain
from services.models import Account, ApiKey
from services.queries import account_authenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(admin_client):
    return admin_client


def test_add_account_shows_token_once(operator):
    response = operator.post("/admin/services/account/add/", {"friendly_name": "Console Co"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    token = re.search(r'<code id="secret">([0-9a-f]{32})</code>', html).group(1)
    account = Account.objects.get(friendly_name="Console Co")
    assert account_authenticate(username=account.sid, password=token) == account

    change = operator.get(f"/admin/services/account/{account.sid}/change/")
    assert change.status_code == 200
    assert token not in change.content.decode()
    listing = operator.get("/admin/services/account/")
    assert token not in listing.content.decode()


def test_add_api_key_shows_secret_once_and_revoke_works(operator, tenant):
    response = operator.post(
        "/admin/services/apikey/add/", {"account": tenant.sid, "friendly_name": "deploy"}
    )
    html = response.content.decode()
    secret = re.search(r'<code id="secret">([^<]+)</code>', html).group(1)
    key = ApiKey.objects.get(friendly_name="deploy")
    assert account_authenticate(username=key.sid, password=secret) == tenant.account
    assert secret not in operator.get(f"/admin/services/apikey/{key.sid}/change/").content.decode()

    operator.post(
        "/admin/services/apikey/",
        {"action": "revoke", "_selected_action": [key.sid]},
    )
    assert account_authenticate(username=key.sid, password=secret) is None


def test_suspend_account_action(operator, tenant):
    operator.post(
        "/admin/services/account/", {"action": "suspend", "_selected_action": [tenant.sid]}
    )
    assert account_authenticate(username=tenant.sid, password=tenant.auth_token) is None


def test_rotate_auth_token_shows_the_new_token_once_and_the_old_one_stops(
    operator, tenant, other_tenant
):
    response = operator.post(
        "/admin/services/account/",
        {"action": "rotate_auth_token", "_selected_action": [tenant.sid]},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = re.search(r'<code id="secret">([0-9a-f]{32})</code>', response.content.decode())[1]
    assert token != tenant.auth_token
    assert account_authenticate(username=tenant.sid, password=token) == tenant.account
    assert account_authenticate(username=tenant.sid, password=tenant.auth_token) is None
    change = operator.get(f"/admin/services/account/{tenant.sid}/change/")
    assert token not in change.content.decode()

    # Two accounts at once would show two secrets on one page: refused, nothing rotated.
    operator.post(
        "/admin/services/account/",
        {"action": "rotate_auth_token", "_selected_action": [tenant.sid, other_tenant.sid]},
    )
    assert account_authenticate(username=tenant.sid, password=token) == tenant.account
    assert (
        account_authenticate(username=other_tenant.sid, password=other_tenant.auth_token)
        == other_tenant.account
    )


def test_changelists_render_with_search(operator, tenant, service):
    from entities.domain import entity_create

    entity_create(service=service, identity="admin-user-1")
    domain.event_record(
        service=service, type="factor.created", resource_sid="YF" + "0" * 32, payload={}
    )
    for url in (
        "/admin/services/account/?q=Tenant",
        "/admin/services/apikey/",
        "/admin/services/service/?q=Acme",
        f"/admin/services/service/{service.sid}/change/",
        "/admin/services/event/",
        "/admin/entities/entity/?q=admin-user",
    ):
        response = operator.get(url)
        assert response.status_code == 200, url
    assert (
        tenant.auth_token
        not in operator.get(f"/admin/services/account/{tenant.sid}/change/").content.decode()
    )


def test_the_admin_form_cannot_change_an_accounts_status(rf, admin_user):
    """Suspending goes through the compare-and-set action, never a plain form save."""
    from django.contrib import admin

    from services.models import Account

    request = rf.get("/admin/")
    request.user = admin_user
    assert "status" in admin.site._registry[Account].get_readonly_fields(request)
