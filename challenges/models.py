"""Challenges: one login attempt against a factor, answered with a code."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from verify_platform.lib import sids


class Challenge(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        EXPIRED = "expired"
        APPROVED = "approved"
        DENIED = "denied"

    class RespondedReason(models.TextChoices):
        NONE = "none"
        NOT_NEEDED = "not_needed"
        NOT_REQUESTED = "not_requested"

    sid = models.CharField(primary_key=True, max_length=34, default=sids.challenge_sid)
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    entity = models.ForeignKey(
        "entities.Entity", on_delete=models.CASCADE, related_name="challenges"
    )
    factor = models.ForeignKey(
        "factors.Factor", on_delete=models.CASCADE, related_name="challenges"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    responded_reason = models.CharField(
        max_length=16, choices=RespondedReason.choices, default=RespondedReason.NONE
    )
    expiration_date = models.DateTimeField()
    date_responded = models.DateTimeField(null=True, blank=True)
    details_message = models.CharField(max_length=256, null=True, blank=True)
    details_fields = models.JSONField(default=list, blank=True)
    hidden_details = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        indexes = [
            models.Index(fields=["entity", "date_created", "sid"]),
            # The expiry sweeper's scan.
            models.Index(
                fields=["expiration_date"],
                name="challenge_pending_expiry",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return self.sid

    def status_at(self, now: datetime) -> str:
        """The status a client sees: a pending challenge past its expiration date is expired
        even before the sweeper has written it."""
        if self.status == self.Status.PENDING and self.expiration_date <= now:
            return self.Status.EXPIRED
        return self.status
