"""Writes for Entities."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from entities.models import Entity
from services.models import Service
from verify_platform.lib.errors import VerifyError


class EntityExists(VerifyError):
    status, code = 409, 60301
    default_message = "An Entity with this Identity already exists"


def entity_create(*, service: Service, identity: str) -> Entity:
    try:
        with transaction.atomic():
            return Entity.objects.create(service=service, identity=identity)
    except IntegrityError:
        raise EntityExists() from None


def entity_delete(*, entity: Entity) -> None:
    """Deletes the entity with its factors and challenges (database cascade)."""
    with transaction.atomic():
        entity.delete()


def entity_get_or_create(*, service: Service, identity: str) -> Entity:
    """Twilio creates the entity on its first factor; concurrent first factors share one."""
    entity, _ = Entity.objects.get_or_create(service=service, identity=identity)
    return entity
