"""The credential's side of an approved passkey assertion (its signature counter and the
factor's last use), for `challenges.domain.passkeys`, inside its transaction: lock the
credential first, then either record a possible clone or move the counter forward."""

from __future__ import annotations

from datetime import datetime

from factors.models import Factor, PasskeyCredential


def passkey_credential_lock(*, factor_id: str) -> PasskeyCredential:
    """The credential row, locked until the caller's transaction ends: concurrent assertions
    of one passkey compare their counters one after the other."""
    return PasskeyCredential.objects.select_for_update().get(pk=factor_id)


def passkey_clone_record(*, factor_id: str, now: datetime) -> None:
    """A valid signature with a counter that did not move forward: the key may have been
    copied. Recorded, and the passkey refused from then on (until registered again)."""
    PasskeyCredential.objects.filter(pk=factor_id).update(clone_detected_at=now)


def passkey_counter_advance(*, factor_id: str, sign_count: int, now: datetime) -> None:
    """The new counter, and the factor's `date_last_used` and `metadata.date_last_approved`
    (what Twilio's passkeys factor metadata carries)."""
    PasskeyCredential.objects.filter(pk=factor_id).update(sign_count=sign_count)
    factor = Factor.objects.only("metadata").get(pk=factor_id)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    Factor.objects.filter(pk=factor_id).update(
        metadata={**(factor.metadata or {}), "date_last_approved": stamp},
        date_last_used=now,
        date_updated=now,
    )
