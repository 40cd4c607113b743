"""The sender choice for one SMS (`messaging_service_for`), and the operator's inline on the
Service page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from services import messaging_domain
from services.messaging_queries import messaging_service_for
from services.models import MessagingConfiguration

pytestmark = pytest.mark.django_db

GB, ALL, US = "MG" + "1" * 32, "MG" + "2" * 32, "MG" + "3" * 32


def test_exact_country_then_all_then_none(service):
    assert messaging_service_for(service_id=service.sid, region="GB") is None
    messaging_domain.messaging_configuration_create(
        service=service, country="all", messaging_service_sid=ALL
    )
    assert messaging_service_for(service_id=service.sid, region="GB") == ALL
    messaging_domain.messaging_configuration_create(
        service=service, country="GB", messaging_service_sid=GB
    )
    with CaptureQueriesContext(connection) as queries:
        assert messaging_service_for(service_id=service.sid, region="GB") == GB
    assert len(queries) == 1
    assert messaging_service_for(service_id=service.sid, region="gb") == GB
    assert messaging_service_for(service_id=service.sid, region="US") == ALL
    assert messaging_service_for(service_id=service.sid, region=None) == ALL


def test_only_this_services_configurations(service, tenant):
    from services.domain import service_create

    other = service_create(account=tenant.account, friendly_name="Other")
    messaging_domain.messaging_configuration_create(
        service=other, country="US", messaging_service_sid=US
    )
    assert messaging_service_for(service_id=service.sid, region="US") is None
    assert messaging_service_for(service_id=other.sid, region="US") == US


def test_operator_adds_one_on_the_service_page(client, service):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1")
    client.force_login(user)
    page = f"/admin/services/service/{service.sid}/change/"
    html = client.get(page).content.decode()
    assert "messaging_configurations-TOTAL_FORMS" in html

    def post(country: str, sid: str):
        data = {
            "friendly_name": service.friendly_name,
            "code_length": service.code_length,
            "dtmf_input_required": "on",
            "totp_time_step": 30,
            "totp_code_length": 6,
            "totp_skew": 1,
            "fallback": "[]",
            "messaging_configurations-TOTAL_FORMS": "1",
            "messaging_configurations-INITIAL_FORMS": "0",
            "messaging_configurations-0-country": country,
            "messaging_configurations-0-messaging_service_sid": sid,
        }
        return client.post(page, data)

    refused = post("XX1", GB)
    assert refused.status_code == 200 and not MessagingConfiguration.objects.exists()
    assert "ISO 3166-1 alpha-2" in refused.content.decode()
    assert post("gb", "MG123").status_code == 200 and not MessagingConfiguration.objects.exists()
    saved = post("gb", GB)
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    stored = MessagingConfiguration.objects.get()
    assert (stored.country, stored.messaging_service_sid) == ("GB", GB)
    assert stored.account_id == service.account_id
    assert messaging_service_for(service_id=service.sid, region="GB") == GB
