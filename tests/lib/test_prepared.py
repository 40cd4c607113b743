"""`PreparedQuery` answers exactly what the queryset it was built from answers."""

from __future__ import annotations

import pytest

from factors.models import Factor
from services import domain
from services.models import Account, ApiKey
from tests.factors.conftest import make_verified_factor
from verify_platform.lib.prepared import PreparedQuery

pytestmark = pytest.mark.django_db


def test_rows_and_related_objects_match_the_orm(service):
    factor, _ = make_verified_factor(service)
    prepared = PreparedQuery(
        lambda account, sid: (
            Factor.objects.select_related("service", "entity")
            .only("sid", "status", "secret_encrypted", "service__account_id", "entity__identity")
            .filter(service__account_id=account, pk=sid)
        )
    )
    for _ in range(2):  # compiled by the first call, reused by the second
        found = prepared.first(service.account_id, factor.sid)
        assert found.pk == factor.sid and found.status == factor.status
        assert found.secret_encrypted == factor.secret_encrypted
        assert found.service.account_id == service.account_id
        assert found.entity.identity == factor.entity.identity
    # A column left out is loaded on access, like any deferred field.
    assert found.friendly_name == factor.friendly_name


def test_other_arguments_find_other_rows_or_none(tenant, other_tenant):
    prepared = PreparedQuery(lambda sid: Account.objects.filter(pk=sid))
    assert prepared.first(tenant.account.sid).pk == tenant.account.sid
    assert prepared.first(other_tenant.account.sid).pk == other_tenant.account.sid
    assert prepared.first("AC" + "0" * 32) is None


def test_constants_in_the_query_stay_constants(tenant):
    prepared = PreparedQuery(
        lambda sid: ApiKey.objects.select_related("account").filter(pk=sid, status="revoked")
    )
    key, _ = domain.api_key_create(account=tenant.account, friendly_name="k")
    assert prepared.first(key.sid) is None  # active, so the constant filter excludes it
    ApiKey.objects.filter(pk=key.sid).update(status="revoked")
    found = prepared.first(key.sid)
    assert found.pk == key.sid and found.account.pk == tenant.account.sid


def test_a_lookup_that_transforms_its_argument_is_refused(tenant):
    prepared = PreparedQuery(lambda name: Account.objects.filter(friendly_name__icontains=name))
    with pytest.raises(ValueError, match="exact-match"):
        prepared.first("x")


def test_columns_that_need_converting_come_out_as_the_orm_gives_them(service):
    from services.models import Service

    Service.objects.filter(pk=service.pk).update(
        fallback=[{"channel": "sms", "timeout": 30}], totp_skew=2
    )
    prepared = PreparedQuery(lambda sid: Service.objects.filter(pk=sid))
    expected = Service.objects.get(pk=service.pk)
    for _ in range(2):  # the converters worked out at compile time serve every later run
        found = prepared.first(service.pk)
        for field in Service._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(expected, field.attname), field
    assert found.fallback == [{"channel": "sms", "timeout": 30}]
