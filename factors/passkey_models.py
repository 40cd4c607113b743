"""The credential half of a `passkeys` factor: what WebAuthn registration returned. A side
table (one row per passkey factor) that names the factor by string and imports nothing of
`factors.models`."""

from __future__ import annotations

from django.db import models


class PasskeyCredential(models.Model):
    factor = models.OneToOneField(
        "factors.Factor", on_delete=models.CASCADE, primary_key=True, related_name="passkey"
    )
    # Denormalised from the factor: an assertion names only its credential id, looked up
    # within the service.
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    # Empty until the factor is verified (registration checked).
    credential_id = models.CharField(max_length=1400, blank=True, default="")
    public_key = models.BinaryField(default=b"", editable=False)
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True, default="")
    # The registration challenge issued on create, checked once by VerifyFactor (which
    # finds the factor by it: Twilio's VerifyFactor names no factor) and erased by it.
    registration_challenge = models.BinaryField(default=b"", editable=False)
    registration_expires_at = models.DateTimeField(null=True, blank=True)
    # What the registration was made for, resolved at create (request `config` over the
    # Service's settings): `{relying_party: {id, name, origins}, authenticator_attachment,
    # discoverable_credentials, user_verification}`; the factor's `config` shows it.
    config = models.JSONField(default=dict, blank=True)
    # A signature counter that went backwards: a possible cloned key.
    clone_detected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "credential_id"],
                condition=~models.Q(credential_id=""),
                name="passkey_credential_per_service",
            ),
            models.UniqueConstraint(
                fields=["service", "registration_challenge"],
                condition=~models.Q(registration_challenge=b""),
                name="passkey_registration_challenge",
            ),
        ]

    def __str__(self) -> str:
        return f"passkey of {self.factor_id}"
