"""The notification of a push challenge: what the worker sends, to whom, and what it does
with the provider's answer. Called by `challenges.push_tasks.push_notify_task`.

Only what Twilio's Verify SDKs read leaves the platform: the `type` marker, the challenge
and factor SIDs, and the alert text (`Details.Message`). The challenge's fields, hidden
details and metadata never go to a provider: the app fetches the challenge itself, over the
authenticated API, once the user opens the notification.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from challenges.models import Challenge
from channels.push import (
    PushMessage,
    PushOutcome,
    PushResult,
    adapter_for,
    mask_token,
)
from factors.domain.push_tokens import push_token_mark_invalid
from factors.models import FactorType
from factors.push_models import NotificationPlatform, PushBinding
from services.push_credential_domain import push_credential_for_send
from verify_platform.lib import metrics
from verify_platform.lib.clock import current_time

logger = logging.getLogger("challenges.push")

# The `type` Twilio's Android and iOS SDKs (and their sample apps) look for.
CHALLENGE_TYPE = "verify_push_challenge"


@dataclass(frozen=True)
class PushAttempt:
    """What one run of the task did. `retry` asks the task to try again later; `outcome` is
    the adapter's outcome, or why nothing was sent (`skipped:<why>`)."""

    outcome: str
    retry: bool = False
    retry_after: float | None = None


def _skipped(why: str, challenge_sid: str) -> PushAttempt:
    logger.info("push of challenge %s: not sent (%s)", challenge_sid, why)
    return PushAttempt(f"skipped:{why}")


def notification_data(challenge: Challenge, platform: str) -> dict[str, str]:
    """The app's payload. Android's SDK reads the alert text from the data (`message`); on
    iOS it is the alert itself, so the data carries only the SIDs and the marker."""
    data = {
        "type": CHALLENGE_TYPE,
        "challenge_sid": challenge.sid,
        "factor_sid": challenge.factor_id,
    }
    if platform == NotificationPlatform.FCM:
        data["message"] = challenge.details_message or ""
    return data


def _ttl(challenge: Challenge, ttl: int | None, now: datetime) -> int:
    """The provider's hold time: the caller's `Ttl`, never past the challenge's end."""
    left = max(int((challenge.expiration_date - now).total_seconds()), 0)
    return left if ttl is None else max(min(int(ttl), left), 0)


def push_notify(*, challenge_sid: str, ttl: int | None, last_try: bool = False) -> PushAttempt:
    """Send the notification of a pending push challenge through its factor's platform.

    Does nothing for a challenge that is gone, answered or expired, a factor without a
    notification target (`none`, no token, a token a provider called gone) and a service
    without a credential for the platform. A temporary failure asks for a retry unless
    `last_try`; a token the provider calls gone is recorded on the factor."""
    now = current_time()
    challenge = (
        Challenge.objects.select_related("service", "factor__push_binding")
        .filter(sid=challenge_sid, factor__factor_type=FactorType.PUSH)
        .first()
    )
    if challenge is None:
        return _skipped("no push challenge", challenge_sid)
    if challenge.status != Challenge.Status.PENDING or challenge.expiration_date <= now:
        return _skipped("challenge not pending", challenge_sid)
    binding = getattr(challenge.factor, "push_binding", None)
    if binding is None or binding.notification_platform == NotificationPlatform.NONE:
        return _skipped("the app polls", challenge_sid)
    if not binding.notification_token:
        return _skipped("no notification token", challenge_sid)
    if binding.notification_token_invalid_at is not None:
        return _skipped("token marked invalid", challenge_sid)
    platform = binding.notification_platform
    service = challenge.service
    found = push_credential_for_send(
        account_id=service.account_id,
        sid=(
            service.push_apn_credential_sid
            if platform == NotificationPlatform.APN
            else service.push_fcm_credential_sid
        ),
        type=platform,
    )
    if found is None:
        logger.warning(
            "push of challenge %s: service %s has no %s credential",
            challenge.sid,
            service.sid,
            platform,
        )
        return _skipped(f"no {platform} credential", challenge_sid)
    credential, default_topic = found
    message = PushMessage(
        platform=platform,
        token=binding.notification_token,
        topic=binding.app_id or default_topic,
        body=challenge.details_message or "",
        data=notification_data(challenge, platform),
        ttl=_ttl(challenge, ttl, now),
        credential=credential,
    )
    result = adapter_for(platform).send(message)
    return _record(challenge, binding, platform, result, last_try=last_try)


def _record(
    challenge: Challenge, binding: PushBinding, platform: str, result: PushResult, *, last_try: bool
) -> PushAttempt:
    token = mask_token(binding.notification_token)
    where = f"push of challenge {challenge.sid} via {platform} to {token}"
    if result.outcome == PushOutcome.DELIVERED:
        logger.info("%s: delivered (%s)", where, result.provider_id)
        metrics.delivery_attempted(channel="push", adapter=platform, outcome="sent")
    elif result.outcome == PushOutcome.TEMPORARY and not last_try:
        logger.warning("%s: temporary failure (%s), will retry", where, result.reason)
        metrics.delivery_attempted(channel="push", adapter=platform, outcome="retry")
        return PushAttempt(result.outcome, retry=True, retry_after=result.retry_after)
    elif result.outcome == PushOutcome.TOKEN_GONE:
        marked = push_token_mark_invalid(
            factor_sid=binding.factor_id, token=binding.notification_token, reason=result.reason
        )
        logger.warning("%s: token gone (%s)%s", where, result.reason, " marked" if marked else "")
        metrics.delivery_attempted(channel="push", adapter=platform, outcome="failed")
    else:
        logger.error("%s: failed (%s: %s)", where, result.outcome, result.reason)
        metrics.delivery_attempted(channel="push", adapter=platform, outcome="failed")
    return PushAttempt(result.outcome)


def retry_delay(retries: int, retry_after: float | None) -> float:
    """Seconds before the next try: BASE doubling per try up to MAX, or the provider's
    Retry-After when it is longer (still capped at MAX)."""
    conf = settings.VERIFY_PUSH
    base, cap = float(conf["RETRY_BASE_SECONDS"]), float(conf["RETRY_MAX_SECONDS"])
    delay = min(base * (2 ** min(retries, 16)), cap)
    return min(max(delay, retry_after or 0.0), cap)
