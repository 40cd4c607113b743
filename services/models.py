"""Tenants (accounts), their API keys, their Services, and the event outbox."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

# Templates and MessagingConfigurations live in their own module (it names its relations by
# string and imports nothing of this one); imported here so Django registers them with the app.
from services.message_models import (  # noqa: F401
    MessagingConfiguration,
    Template,
    TemplateTranslation,
)
from services.push_credentials import PushCredential  # noqa: F401 (registered with the app)
from verify_platform.lib import sids
from verify_platform.lib.phones import SPECIAL_NUMBER_TYPES
from verify_platform.lib.transitions import CREATED, Transitions


class Account(models.Model):
    """A tenant. Its auth token is kept twice: a SHA-256 digest to authenticate requests, and
    encrypted under the key ring because webhooks are signed with it (Twilio's scheme)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    # Suspension is reversible: an operator may suspend and reactivate a tenant any number of
    # times.
    transitions = Transitions(
        {
            CREATED: {Status.ACTIVE},
            Status.ACTIVE: {Status.SUSPENDED},
            Status.SUSPENDED: {Status.ACTIVE},
        }
    )

    sid = models.CharField(primary_key=True, max_length=34, default=sids.account_sid)
    friendly_name = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    auth_token_digest = models.CharField(max_length=64, editable=False)
    auth_token_encrypted = models.TextField(editable=False)
    # Special destinations (`verify_platform.lib.phones.SPECIAL_NUMBER_TYPES`) this tenant
    # may send codes to; every other special type is refused with 60410 (`limits.special`).
    # Read only when a destination is special, so ordinary numbers never look at it.
    allowed_special_numbers = ArrayField(
        models.CharField(max_length=32, choices=list(SPECIAL_NUMBER_TYPES.items())),
        default=list,
        blank=True,
        help_text="Special number types codes may be sent to (refused by default: toll fraud).",
    )
    # A start's `RiskCheck=disable` lifts the special-number and country rules for that
    # start only on an account an operator trusts with it; other accounts are refused.
    risk_check_disable_allowed = models.BooleanField(
        default=False,
        help_text="Starts may send RiskCheck=disable to skip the special-number and "
        "country rules (Twilio's Fraud Guard and Geo Permissions override).",
    )
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    # DRF treats the authenticated principal as `request.user`.
    is_authenticated = True
    is_anonymous = False

    class Meta:
        ordering = ("date_created",)
        constraints = [
            models.CheckConstraint(
                condition=Q(allowed_special_numbers__contained_by=list(SPECIAL_NUMBER_TYPES)),
                name="account_allowed_special_numbers",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"


class ApiKey(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        REVOKED = "revoked"

    # A revoked key is never trusted again: a new key is created instead.
    transitions = Transitions({CREATED: {Status.ACTIVE}, Status.ACTIVE: {Status.REVOKED}})

    sid = models.CharField(primary_key=True, max_length=34, default=sids.api_key_sid)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    friendly_name = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    secret_digest = models.CharField(max_length=64, editable=False)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)
    date_revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ("date_created",)

    def __str__(self) -> str:
        return self.sid


class Service(models.Model):
    """A verification configuration. Field names follow Twilio's wire names, flattened."""

    sid = models.CharField(primary_key=True, max_length=34, default=sids.service_sid)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="services")
    friendly_name = models.CharField(max_length=30)
    code_length = models.PositiveSmallIntegerField(default=6)
    lookup_enabled = models.BooleanField(default=False)
    skip_sms_to_landlines = models.BooleanField(default=False)
    dtmf_input_required = models.BooleanField(default=True)
    tts_name = models.CharField(max_length=64, blank=True, null=True)
    psd2_enabled = models.BooleanField(default=False)
    do_not_share_warning_enabled = models.BooleanField(default=False)
    custom_code_enabled = models.BooleanField(default=False)
    verify_event_subscription_enabled = models.BooleanField(default=False)
    push_include_date = models.BooleanField(default=False)
    push_apn_credential_sid = models.CharField(max_length=34, blank=True, null=True)
    push_fcm_credential_sid = models.CharField(max_length=34, blank=True, null=True)
    totp_issuer = models.CharField(max_length=64, blank=True, null=True)
    totp_time_step = models.PositiveSmallIntegerField(default=30)
    totp_code_length = models.PositiveSmallIntegerField(default=6)
    totp_skew = models.PositiveSmallIntegerField(default=1)
    default_template_sid = models.CharField(max_length=34, blank=True, null=True)
    whatsapp_msg_service_sid = models.CharField(max_length=34, blank=True, null=True)
    whatsapp_from = models.CharField(max_length=64, blank=True, null=True)
    passkeys_relying_party_id = models.CharField(max_length=255, blank=True, null=True)
    passkeys_relying_party_name = models.CharField(max_length=255, blank=True, null=True)
    passkeys_relying_party_origins = models.CharField(max_length=1024, blank=True, null=True)
    passkeys_authenticator_attachment = models.CharField(max_length=16, blank=True, null=True)
    passkeys_discoverable_credentials = models.CharField(max_length=16, blank=True, null=True)
    passkeys_user_verification = models.CharField(max_length=16, blank=True, null=True)
    # Extension: ordered channel steps for `Channel=auto`, e.g.
    # [{"channel": "whatsapp", "timeout": 30}, {"channel": "sms", "timeout": 60}, {"channel": "call"}]
    fallback = models.JSONField(default=list, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        indexes = [models.Index(fields=["account", "date_created", "sid"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(code_length__gte=4, code_length__lte=10), name="service_code_length"
            ),
            models.CheckConstraint(
                condition=Q(totp_time_step__gte=20, totp_time_step__lte=60),
                name="service_totp_time_step",
            ),
            models.CheckConstraint(
                condition=Q(totp_code_length__gte=3, totp_code_length__lte=8),
                name="service_totp_code_length",
            ),
            models.CheckConstraint(
                condition=Q(totp_skew__gte=0, totp_skew__lte=2), name="service_totp_skew"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"

    @property
    def effective_totp_issuer(self) -> str:
        return self.totp_issuer or self.friendly_name


class Event(models.Model):
    """The outbox: one row per factor, challenge or verification transition, written in the
    same transaction as the change, so webhooks deliver exactly what was committed."""

    sid = models.CharField(primary_key=True, max_length=34, default=sids.event_sid)
    # Every index is written by each insert (every transition): foreign keys are indexed by
    # the Meta indexes that lead with them, without PostgreSQL's `varchar_pattern_ops` copy.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=64)
    resource_sid = models.CharField(max_length=34)
    payload = models.JSONField(default=dict)
    date_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("date_created", "sid")
        indexes = [
            models.Index(fields=["service", "date_created"]),
            models.Index(fields=["resource_sid", "date_created"]),
            models.Index(fields=["account"], name="event_account"),  # an account's delete
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.resource_sid}"


class Webhook(models.Model):
    """A tenant's endpoint for the events of one Service (Twilio's `YW` resource).

    The signing secret is kept encrypted because every delivery needs it in clear to sign;
    it is returned once, in the create response. `failure_streak` and `failing_since` count
    consecutive failed attempts so an endpoint that stays broken is switched off instead of
    being retried forever.
    """

    class Status(models.TextChoices):
        ENABLED = "enabled"
        DISABLED = "disabled"

    # The API may create a webhook disabled; either state may be left for the other any
    # number of times (a tenant or an operator, or the failure streak, switches it).
    transitions = Transitions(
        {
            CREATED: {Status.ENABLED, Status.DISABLED},
            Status.ENABLED: {Status.DISABLED},
            Status.DISABLED: {Status.ENABLED},
        }
    )

    class Version(models.TextChoices):
        V1 = "v1"
        V2 = "v2"

    class Method(models.TextChoices):
        POST = "POST"
        GET = "GET"

    sid = models.CharField(primary_key=True, max_length=34, default=sids.webhook_sid)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="webhooks")
    friendly_name = models.CharField(max_length=64)
    event_types = models.JSONField(default=list)
    webhook_url = models.CharField(max_length=2048)
    webhook_method = models.CharField(max_length=8, choices=Method.choices, default=Method.POST)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ENABLED)
    version = models.CharField(max_length=4, choices=Version.choices, default=Version.V2)
    secret_encrypted = models.TextField(editable=False)
    failure_streak = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    auto_disabled = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=255, blank=True, default="")
    date_disabled = models.DateTimeField(null=True, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        indexes = [
            models.Index(fields=["service", "date_created", "sid"]),
            models.Index(fields=["service", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"


class WebhookDelivery(models.Model):
    """One event to one webhook: the durable timer of its delivery.

    `pending` rows are due at `next_attempt_at`; a worker moves one to `sending` by
    compare-and-set (holding a lease until `lease_expires_at`), calls the endpoint outside
    any transaction, and records `succeeded`, `failed` or `pending` again with the next
    retry time. `window_started_at` bounds how long a delivery is retried (reset on replay).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELED = "canceled"

    # pending -> sending is a worker's claim; sending -> pending is a retry, or the sweeper
    # taking back a claim whose lease ran out; sending -> canceled is a claim whose webhook
    # was disabled meanwhile, pending -> canceled the waiting deliveries of a webhook being
    # disabled. A finished delivery goes back to pending only when an operator replays it.
    transitions = Transitions(
        {
            CREATED: {Status.PENDING},
            Status.PENDING: {Status.SENDING, Status.CANCELED},
            Status.SENDING: {Status.SUCCEEDED, Status.FAILED, Status.PENDING, Status.CANCELED},
            Status.SUCCEEDED: {Status.PENDING},
            Status.FAILED: {Status.PENDING},
            Status.CANCELED: {Status.PENDING},
        }
    )

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the event: ordering per (webhook, resource) is checked on every claim.
    resource_sid = models.CharField(max_length=34)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    window_started_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response_body = models.TextField(blank=True, default="")
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)
    date_completed = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["webhook", "resource_sid", "id"]),
            # The retention sweep's (`services.retention.FINISHED`): finished deliveries by
            # the time they finished. Only a delivery's last write fills it.
            models.Index(
                fields=["date_completed"],
                condition=Q(status__in=["succeeded", "failed", "canceled"]),
                name="webhook_delivery_finished",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} to {self.webhook_id}"
