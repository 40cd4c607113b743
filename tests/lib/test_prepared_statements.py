"""PostgreSQL prepares the statements a connection runs often: server-side binding alone
would still parse and plan each of them on every request."""

from __future__ import annotations

import pytest
from django.db import connection

from services.models import Service

pytestmark = pytest.mark.django_db


def test_a_repeated_statement_is_prepared(service):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    threshold = connection.settings_dict["OPTIONS"].get("prepare_threshold")
    assert threshold is not None
    for _ in range(threshold + 1):
        assert Service.objects.filter(pk=service.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "services_service"%'],
        )
        [[prepared]] = cursor.fetchall()
    assert prepared >= 1
