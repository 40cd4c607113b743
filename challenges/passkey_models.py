"""The WebAuthn half of a passkeys challenge: what `Passkeys/ApproveChallenge` checks an
assertion against. A side table, so the `Challenge` rows of every login (and the TOTP path
that inserts them) carry nothing of it.

One row per `Passkeys/Challenges` call, keyed by the challenge's SID. A challenge for an
identity or a factor also has its `Challenge` row (pending, in the entity's list) from the
start; a usernameless one (discoverable credentials: nobody named yet) has only this row
until a passkey answers it, and its `Challenge` row is then inserted approved for the entity
and factor of that passkey. Twilio's ApproveChallenge names no challenge: the assertion's
`clientDataJSON` carries the WebAuthn challenge, the key this table is found by.

`status` is the single-use guard of both kinds: an answer wins only by moving it from
pending to approved (a compare-and-set), so a replayed assertion, or a second answer racing
the first, finds it approved. Rows are not referenced by a database constraint (challenges
are deleted by the retention sweep in plain SQL); rows over for a day are deleted by the
expiry sweeper (`challenges.domain.passkeys.passkey_challenges_sweep`)."""

from __future__ import annotations

from django.db import models

from verify_platform.lib import sids
from verify_platform.lib.transitions import CREATED, Transitions


class PasskeyChallenge(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"

    transitions = Transitions({CREATED: {Status.PENDING}, Status.PENDING: {Status.APPROVED}})

    sid = models.CharField(primary_key=True, max_length=34, default=sids.challenge_sid)
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    # Null for a usernameless challenge; the entity's identity is rendered from it.
    entity = models.ForeignKey(
        "entities.Entity", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    webauthn_challenge = models.BinaryField(editable=False)
    # The credential ids (base64url) the challenge allows; empty: any passkey of the
    # service (usernameless sign-in).
    allowed_credentials = models.JSONField(default=list, blank=True)
    # The relying party and the user verification as they were when the options were made.
    rp_id = models.CharField(max_length=255)
    origins = models.JSONField(default=list)
    user_verification = models.CharField(max_length=16)
    expires_at = models.DateTimeField()
    date_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="passkey_challenge_age")]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "webauthn_challenge"], name="passkey_challenge_bytes"
            ),
        ]

    def __str__(self) -> str:
        return self.sid
