"""Tenant-scoped reads for Entities."""

from __future__ import annotations

from django.db.models import QuerySet

from entities.models import Entity
from services.models import Account
from verify_platform.lib.errors import NotFound


def entity_get(*, account: Account, service_sid: str, identity: str) -> Entity:
    entity = (
        Entity.objects.select_related("service")
        .filter(service__account=account, service_id=service_sid, identity=identity)
        .first()
    )
    if entity is None:
        raise NotFound()
    return entity


def entity_list(*, service) -> QuerySet[Entity]:
    """`service` has already been fetched through the tenant."""
    return Entity.objects.filter(service=service)
