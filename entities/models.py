"""Entities: one per end user of a Service, known only by an opaque identity (never PII)."""

from __future__ import annotations

from django.db import models

from verify_platform.lib import sids


class Entity(models.Model):
    sid = models.CharField(primary_key=True, max_length=34, default=sids.entity_sid)
    service = models.ForeignKey(
        "services.Service", on_delete=models.CASCADE, related_name="entities"
    )
    identity = models.CharField(max_length=64)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "entities"
        ordering = ("date_created",)
        constraints = [
            models.UniqueConstraint(fields=["service", "identity"], name="entity_identity_unique")
        ]
        indexes = [models.Index(fields=["service", "date_created", "sid"])]

    def __str__(self) -> str:
        return self.identity
