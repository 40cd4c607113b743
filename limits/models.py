"""Abuse protection state: the tenant's programmable Service Rate Limits (Twilio's `RK`
resources and their `BL` buckets), the per-destination streak of failed code checks and the
tenant's Safe List (`GN`: numbers geo permissions never refuse).

Bucket counters themselves live in Redis (see `verify_platform.lib.meter`): they are hot, short-lived and
need no durability. The failure streak lives in PostgreSQL because it must be exact and must
survive Redis restarts and new verifications (NIST SP 800-63B rev. 4 3.1.3.2).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from verify_platform.lib import sids
from verify_platform.lib.transitions import CREATED, Transitions


class RateLimit(models.Model):
    """A key the tenant meters, e.g. `end_user_ip`; the value comes with each start."""

    sid = models.CharField(primary_key=True, max_length=34, default=sids.rate_limit_sid)
    account = models.ForeignKey("services.Account", on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(
        "services.Service", on_delete=models.CASCADE, related_name="rate_limits"
    )
    unique_name = models.CharField(max_length=191)
    description = models.CharField(max_length=255, blank=True, null=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        indexes = [models.Index(fields=["service", "date_created", "sid"])]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "unique_name"], name="rate_limit_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unique_name} ({self.sid})"


class Bucket(models.Model):
    """At most `max` starts per `interval` seconds for one value of the rate limit's key."""

    sid = models.CharField(primary_key=True, max_length=34, default=sids.bucket_sid)
    account = models.ForeignKey("services.Account", on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    rate_limit = models.ForeignKey(RateLimit, on_delete=models.CASCADE, related_name="buckets")
    max = models.PositiveIntegerField()
    interval = models.PositiveIntegerField()
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        indexes = [models.Index(fields=["rate_limit", "date_created", "sid"])]
        constraints = [
            models.UniqueConstraint(fields=["rate_limit", "interval"], name="bucket_interval"),
            models.CheckConstraint(condition=Q(max__gte=1), name="bucket_max_positive"),
            models.CheckConstraint(condition=Q(interval__gte=1), name="bucket_interval_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.max}/{self.interval}s ({self.sid})"


class DestinationThrottle(models.Model):
    """Consecutive failed code checks to one destination of one service, across every
    verification sent to it. A success deletes the row; `blocked` is lifted only by an
    operator (`limits.domain.destination_clear`)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        BLOCKED = "blocked"

    # active -> active is an operator's clear of a streak that is not blocked.
    transitions = Transitions(
        {
            CREATED: {Status.ACTIVE},
            Status.ACTIVE: {Status.ACTIVE, Status.BLOCKED},
            Status.BLOCKED: {Status.ACTIVE},
        }
    )

    account = models.ForeignKey("services.Account", on_delete=models.CASCADE, related_name="+")
    # No index of its own: the unique (service, to) leads with it. A second one (and its LIKE
    # twin) was what the planner picked for the gate's lookup, reading every row of the service.
    service = models.ForeignKey(
        "services.Service", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    to = models.CharField(max_length=320)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Starts and checks before this moment are refused (the growing delay).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    date_blocked = models.DateTimeField(null=True, blank=True)
    date_cleared = models.DateTimeField(null=True, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-date_updated",)
        constraints = [
            models.UniqueConstraint(fields=["service", "to"], name="destination_throttle_one"),
        ]
        indexes = [models.Index(fields=["status", "date_updated"])]

    def __str__(self) -> str:
        return f"{self.to} ({self.service_id})"


class SafeListNumber(models.Model):
    """A phone number (E.164) of one account that Verify Geo Permissions never refuse (Twilio's
    Safe List). Account-level, like Twilio's: every service of the tenant honours it. It does
    not lift attempt limits (rate limits, send budgets, the failed-check streak)."""

    sid = models.CharField(primary_key=True, max_length=34, default=sids.safe_list_sid)
    account = models.ForeignKey("services.Account", on_delete=models.CASCADE, related_name="+")
    phone_number = models.CharField(max_length=16)  # E.164: "+" and at most 15 digits
    date_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-date_created",)
        verbose_name = "safe list number"
        constraints = [
            # Also the index of every lookup (geo check, fetch, delete): account, number.
            models.UniqueConstraint(
                fields=["account", "phone_number"], name="safe_list_number_one"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} ({self.sid})"
