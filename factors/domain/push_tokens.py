"""What the notification providers tell about a push factor's device token.

A token the provider calls gone (APNs 410 or BadDeviceToken, FCM UNREGISTERED) is marked on
the factor's `PushBinding`; the notification task sends nothing to a marked token, and the
app's next factor update with a new token clears the mark (the factor's own update)."""

from __future__ import annotations

from factors.push_models import PushBinding
from verify_platform.lib.clock import current_time

REASON_MAX = 64  # PushBinding.notification_token_invalid_reason


def push_token_mark_invalid(*, factor_sid: str, token: str, reason: str) -> bool:
    """Mark the factor's token invalid, if it is still `token` and not marked yet: one
    conditional UPDATE, so a new token the app sent meanwhile is never marked for the old
    one's failure. True when this call marked it."""
    return bool(
        PushBinding.objects.filter(
            factor_id=factor_sid,
            notification_token=token,
            notification_token_invalid_at__isnull=True,
        ).update(
            notification_token_invalid_at=current_time(),
            notification_token_invalid_reason=(reason or "invalid")[:REASON_MAX],
        )
    )
