"""Factors: what an Entity proves itself with (an authenticator app, a set of recovery codes;
phone channels later), and the single-use recovery codes themselves."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

# The side tables of push and passkey factors (each names `factors.Factor` by string and
# imports nothing of this module); imported here so Django registers them with the app.
from factors.passkey_models import PasskeyCredential  # noqa: F401
from factors.push_models import NotificationPlatform, PushBinding  # noqa: F401
from verify_platform.lib import sids
from verify_platform.lib.transitions import CREATED, Transitions


class FactorType(models.TextChoices):
    """`sms`, `whatsapp` and `voice` are phone factors (an extension): a code sent by the OTP
    engine to the bound number proves possession. `push` keeps its key on a device
    (`push_models`), `passkeys` a WebAuthn credential (`passkey_models`)."""

    TOTP = "totp"
    RECOVERY_CODES = "recovery_codes"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    VOICE = "voice"
    PUSH = "push"
    PASSKEYS = "passkeys"


# The engine's channel for each phone factor type.
PHONE_FACTOR_CHANNELS: dict[str, str] = {
    FactorType.SMS: "sms",
    FactorType.WHATSAPP: "whatsapp",
    FactorType.VOICE: "call",
}


class TotpAlgorithm(models.TextChoices):
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"


class Factor(models.Model):
    class Status(models.TextChoices):
        UNVERIFIED = "unverified"
        VERIFIED = "verified"

    # Recovery codes need no proof of possession: they are created verified. An unverified
    # factor never verified within `VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS` is deleted by the
    # expiry sweeper (`factors_expire_unverified`): Twilio's factor has only these two
    # statuses, so expiry is a deletion (its challenges stay), not an edge of this table.
    transitions = Transitions(
        {
            CREATED: {Status.UNVERIFIED, Status.VERIFIED},
            Status.UNVERIFIED: {Status.VERIFIED},
        }
    )

    sid = models.CharField(primary_key=True, max_length=34, default=sids.factor_sid)
    # The service is denormalised from the entity so that tenant-scoped reads need no join
    # through entities and the throttle/replay columns live on one row.
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    entity = models.ForeignKey("entities.Entity", on_delete=models.CASCADE, related_name="factors")
    factor_type = models.CharField(max_length=32, choices=FactorType.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNVERIFIED)
    friendly_name = models.CharField(max_length=64)
    # Key-ring ciphertext of the base32 seed; empty for factors without a seed.
    secret_encrypted = models.TextField(blank=True, default="", editable=False)
    # Phone factors: the E.164 number under the key ring (it reaches the engine only when a
    # code is sent), and the masked form every read after creation shows.
    phone_number_encrypted = models.TextField(blank=True, default="", editable=False)
    phone_number_masked = models.CharField(max_length=32, blank=True, default="", editable=False)
    # Resolved at creation (factor > service > default) so a later change to the service
    # never silently changes the codes an enrolled authenticator produces.
    alg = models.CharField(max_length=8, choices=TotpAlgorithm.choices, default=TotpAlgorithm.SHA1)
    code_length = models.PositiveSmallIntegerField(default=6)
    time_step = models.PositiveSmallIntegerField(default=30)
    skew = models.PositiveSmallIntegerField(default=1)
    # Replay protection: a code is accepted only for a step above this one, and only by the
    # caller whose conditional UPDATE moves it forward.
    last_accepted_step = models.BigIntegerField(null=True, blank=True, editable=False)
    # Throttling shared by every session and process (RFC 4226 7.3): consecutive failures,
    # the earliest time of the next check, and a lock only an operator lifts.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    next_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    locked = models.BooleanField(default=False, editable=False)
    metadata = models.JSONField(null=True, blank=True)
    date_last_used = models.DateTimeField(null=True, blank=True, editable=False)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created",)
        indexes = [
            models.Index(fields=["entity", "date_created", "sid"]),
            models.Index(fields=["service", "date_created"]),
            # The expiry sweeper's scan: only enrolments in progress, a small index.
            models.Index(
                fields=["date_created"],
                name="factor_unverified_age",
                condition=Q(status="unverified"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(code_length__gte=3, code_length__lte=8), name="factor_code_length"
            ),
            models.CheckConstraint(
                condition=Q(time_step__gte=20, time_step__lte=60), name="factor_time_step"
            ),
            models.CheckConstraint(condition=Q(skew__gte=0, skew__lte=2), name="factor_skew"),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"


class RecoveryCode(models.Model):
    """One single-use recovery code, kept only as a salted keyed hash."""

    factor = models.ForeignKey(Factor, on_delete=models.CASCADE, related_name="recovery_codes")
    salt = models.CharField(max_length=32, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    date_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["factor", "date_used"])]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of {self.factor_id}"
