"""Challenges (one login attempt against a factor, answered with a code), and the OTP engine's
state: verifications and their delivery attempts.

The code store (keyed hash, salt, sealed delivery copy), the counters and the expiry live in
the abstract `OtpSession`, so that a phone-factor challenge can own the same engine state by
inheriting it; `DeliveryAttempt` rows are the durable timer of every send and fallback step.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

# The WebAuthn side table of passkeys challenges (imports nothing of this module); imported
# here so Django registers it with the app.
from challenges.passkey_models import PasskeyChallenge  # noqa: F401
from verify_platform.lib import sids
from verify_platform.lib.transitions import CREATED, Transitions


class Challenge(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        EXPIRED = "expired"
        APPROVED = "approved"
        DENIED = "denied"

    # A challenge created with a correct code is inserted approved (the TOTP fast path).
    transitions = Transitions(
        {
            CREATED: {Status.PENDING, Status.APPROVED},
            Status.PENDING: {Status.APPROVED, Status.DENIED, Status.EXPIRED},
        }
    )

    class RespondedReason(models.TextChoices):
        NONE = "none"
        NOT_NEEDED = "not_needed"
        NOT_REQUESTED = "not_requested"

    sid = models.CharField(primary_key=True, max_length=34, default=sids.challenge_sid)
    # Every index below is written by each insert (a login): foreign keys are indexed by the
    # Meta indexes that lead with them, never twice, and without PostgreSQL's extra
    # `varchar_pattern_ops` copy (nothing searches ids by prefix).
    service = models.ForeignKey(
        "services.Service", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    entity = models.ForeignKey(
        "entities.Entity", on_delete=models.CASCADE, related_name="challenges", db_index=False
    )
    # A challenge outlives its factor (the audit trail of who signed in how): deleting a
    # factor leaves its challenges untouched, with `factor_id` still naming it. So there is no
    # database constraint, and the field is nullable only so that joins to the factor are
    # outer joins (a challenge whose factor is gone reads `factor` as None); the column
    # itself is never null (the `challenge_factor_sid` constraint).
    factor = models.ForeignKey(
        "factors.Factor",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="challenges",
        db_index=False,
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
    # Set only when a recovery code approved the challenge (an extension): how many codes of
    # the entity's set were left after it.
    recovery_codes_remaining = models.PositiveSmallIntegerField(null=True, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        constraints = [
            models.CheckConstraint(condition=Q(factor__isnull=False), name="challenge_factor_sid"),
        ]
        indexes = [
            models.Index(fields=["entity", "date_created", "sid"]),
            # A factor's challenges (the list's `FactorSid`), a service's delete.
            models.Index(fields=["factor"], name="challenge_factor"),
            models.Index(fields=["service"], name="challenge_service"),
            # The expiry sweeper's scan.
            models.Index(
                fields=["expiration_date"],
                name="challenge_pending_expiry",
                condition=models.Q(status="pending"),
            ),
            # The retention sweep's (`challenges.domain.retention`): ended challenges by age.
            # A TOTP approval, inserted approved, writes one entry; a pending challenge none.
            models.Index(
                fields=["date_created"], condition=~Q(status="pending"), name="challenge_ended"
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


MAX_CHECK_ATTEMPTS = 5
# A masked destination (`challenges.domain.retention`): a `*` after its last `@`; the
# retention SQL's `MASKED` is this test on "to", character for character.
MASKED_TO = r"\*[^@]*$"
MAX_SEND_ATTEMPTS = 5
LIFETIME_SECONDS = 10 * 60


class OtpStatus(models.TextChoices):
    """The one status set of the OTP engine: a verification's and a phone factor's code."""

    PENDING = "pending"
    APPROVED = "approved"
    CANCELED = "canceled"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    EXPIRED = "expired"
    FAILED = "failed"


# Every end is reached from pending; a phone factor's code also stays answerable after all
# its delivery steps failed (a provider's report can be wrong), so failed may still end
# another way. Nothing else ever moves again.
_OTP_ENDS = {
    OtpStatus.APPROVED,
    OtpStatus.CANCELED,
    OtpStatus.MAX_ATTEMPTS_REACHED,
    OtpStatus.EXPIRED,
}
OTP_TRANSITIONS = Transitions(
    {
        CREATED: {OtpStatus.PENDING},
        OtpStatus.PENDING: {*_OTP_ENDS, OtpStatus.FAILED},
        OtpStatus.FAILED: _OTP_ENDS,
    }
)


class OtpSession(models.Model):
    """One code and its counters. `code_hash` is what checks compare against;
    `code_sealed` is the same code encrypted under the key ring for the worker that delivers
    it (a fallback step or resend must send the same code) and is erased on every terminal
    transition, so an ended session holds nothing but the keyed hash."""

    code_hash = models.CharField(max_length=64, editable=False)
    code_salt = models.CharField(max_length=32, editable=False)
    code_sealed = models.TextField(blank=True, default="", editable=False)
    code_length = models.PositiveSmallIntegerField(default=6)
    check_attempts = models.PositiveSmallIntegerField(default=0)
    send_count = models.PositiveSmallIntegerField(default=1)
    locale = models.CharField(max_length=16, default="en")
    app_hash = models.CharField(max_length=32, blank=True, null=True)
    # The channel steps of the current send: [{"channel": "whatsapp", "timeout": 30}, ...].
    plan = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(check_attempts__lte=MAX_CHECK_ATTEMPTS), name="%(class)s_checks_cap"
            ),
            models.CheckConstraint(
                condition=Q(send_count__gte=1, send_count__lte=MAX_SEND_ATTEMPTS),
                name="%(class)s_sends_cap",
            ),
        ]


class Verification(OtpSession):
    Status = OtpStatus
    transitions = OTP_TRANSITIONS

    sid = models.CharField(primary_key=True, max_length=34, default=sids.verification_sid)
    # Indexed by `(service, to, date_created)` and the partial unique index (see Challenge).
    service = models.ForeignKey(
        "services.Service", on_delete=models.CASCADE, related_name="verifications", db_index=False
    )
    to = models.CharField(max_length=320)
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    custom_friendly_name = models.CharField(max_length=30, blank=True, null=True)
    custom_code = models.BooleanField(default=False)
    amount = models.CharField(max_length=64, blank=True, null=True)
    payee = models.CharField(max_length=64, blank=True, null=True)
    # What the start asked beyond the code, kept for every send of this verification (resends
    # and fallback steps render the same message): `challenges.domain.start_options`. Empty
    # for a plain start, so the common row stays small.
    options = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta(OtpSession.Meta):
        ordering = ("date_created",)
        indexes = [
            models.Index(fields=["service", "to", "date_created"]),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="pending"),
                name="verification_pending_expiry",
            ),
            # The retention sweeps' (`challenges.domain.retention`): verifications by age,
            # split on whether `to` is masked yet (the sweeps' `MASKED`, a `*` after the last
            # `@`). The masking sweep reads only rows in clear, the deletion only masked ones.
            models.Index(
                fields=["date_created"],
                condition=~Q(to__regex=MASKED_TO),
                name="verification_unmasked",
            ),
            models.Index(
                fields=["date_created"],
                condition=Q(to__regex=MASKED_TO),
                name="verification_masked",
            ),
        ]
        constraints = [
            *OtpSession.Meta.constraints,
            # Never two live verifications for one destination: concurrent creates for the
            # same To collide here and the loser reuses the winner's verification.
            models.UniqueConstraint(
                fields=["service", "to"],
                condition=Q(status="pending"),
                name="verification_one_pending_per_to",
            ),
        ]

    def __str__(self) -> str:
        return self.sid

    @property
    def valid(self) -> bool:
        return self.status == self.Status.APPROVED


class FactorCode(OtpSession):
    """The OTP session of a phone factor: its enrolment (`challenge` is null) or one of its
    challenges. The same code store, counters and delivery attempts as a verification; the
    code is bound to this one request. The destination is the factor's encrypted number, read
    only when a step is sent."""

    Status = OtpStatus
    transitions = OTP_TRANSITIONS

    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    factor = models.ForeignKey("factors.Factor", on_delete=models.CASCADE, related_name="+")
    challenge = models.OneToOneField(
        Challenge, on_delete=models.CASCADE, null=True, blank=True, related_name="code"
    )
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    # Until then this code counts against its factor's budget of 5 sends per 10 minutes.
    budget_until = models.DateTimeField()

    class Meta(OtpSession.Meta):
        ordering = ("date_created",)
        indexes = [
            models.Index(fields=["factor", "budget_until"]),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="pending"),
                name="factor_code_pending_expiry",
            ),
            # The retention sweep's: ended codes by age.
            models.Index(
                fields=["date_created"], condition=~Q(status="pending"), name="factor_code_ended"
            ),
        ]

    def __str__(self) -> str:
        return f"code {self.pk} of {self.challenge_id or self.factor_id}"

    @property
    def sid(self) -> str:
        """What events and logs name: the challenge, or the factor for an enrolment."""
        return self.challenge_id or self.factor_id

    custom_friendly_name = None  # the engine's message uses the service name


class DeliveryAttempt(models.Model):
    """One step of one send: the durable timer. `scheduled` rows are due at `due_at`; the
    ETA task is the fast path and the sweeper the backstop. `sending` carries a lease so a
    worker killed mid-send does not strand the row. Its owner is a verification or a phone
    factor's code, never both."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"
        FAILED = "failed"
        UNDELIVERED = "undelivered"
        CANCELED = "canceled"

    # scheduled -> scheduled moves a step's timer (a retry, an earlier fallback); sending ->
    # sending is a takeover after the lease ran out; a callback may fail a sent message.
    transitions = Transitions(
        {
            CREATED: {Status.SCHEDULED},
            Status.SCHEDULED: {Status.SCHEDULED, Status.SENDING, Status.CANCELED},
            Status.SENDING: {
                Status.SENDING,
                Status.SCHEDULED,
                Status.SENT,
                Status.FAILED,
                Status.UNDELIVERED,
            },
            Status.SENT: {Status.DELIVERED, Status.FAILED, Status.UNDELIVERED},
        }
    )

    sid = models.CharField(primary_key=True, max_length=34, default=sids.attempt_sid)
    # Both owners are indexed by the unique constraints that lead with them (see Challenge).
    verification = models.ForeignKey(
        Verification,
        on_delete=models.CASCADE,
        related_name="attempts",
        null=True,
        blank=True,
        db_index=False,
    )
    factor_code = models.ForeignKey(
        FactorCode,
        on_delete=models.CASCADE,
        related_name="attempts",
        null=True,
        blank=True,
        db_index=False,
    )
    send_number = models.PositiveSmallIntegerField(default=1)
    step = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=16)
    adapter = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField()
    # End of this step's window: temporary errors are retried only before it.
    deadline = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=128, blank=True, null=True)
    error_code = models.CharField(max_length=32, blank=True, null=True)
    error_message = models.CharField(max_length=255, blank=True, null=True)
    date_sent = models.DateTimeField(null=True, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created", "send_number", "step")
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="scheduled"), name="attempt_due"),
            models.Index(
                fields=["lease_expires_at"], condition=Q(status="sending"), name="attempt_lease"
            ),
            # Only sent attempts have an id to look up: an insert writes nothing here.
            models.Index(
                fields=["provider_message_id"],
                condition=Q(provider_message_id__isnull=False),
                name="attempt_provider_id",
            ),
            # The Attempts API (`challenges.attempt_queries`): its list pages walk this key in
            # order and its summary scans only the rows of the date window, joining each row
            # to its verification (service, account, destination, conversion). A phone
            # factor's code writes nothing here.
            models.Index(
                fields=["date_created", "sid"],
                condition=Q(verification__isnull=False),
                name="attempt_created",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["verification", "send_number", "step"], name="attempt_one_per_step"
            ),
            models.UniqueConstraint(
                fields=["factor_code", "send_number", "step"], name="attempt_code_one_per_step"
            ),
            models.CheckConstraint(
                condition=Q(verification__isnull=False, factor_code__isnull=True)
                | Q(verification__isnull=True, factor_code__isnull=False),
                name="attempt_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.sid
