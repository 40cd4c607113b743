"""Push challenges (docs/push-protocol.md): created by the backend, notified to the device,
answered once by the device with a JWT its factor's key signed over the challenge's
signature fields and the new status.

The answer binds itself to one challenge and one factor: the signed fields include the
challenge's and the factor's SIDs and the key is the factor's own, so a payload made for
one challenge (or by one device) never verifies for another. The pending -> approved/denied
move is a compare-and-set under the row lock, so a second answer (the same payload again,
or a concurrent one) is refused with 60322, and an answer after expiry with 60323.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import transaction

from challenges.domain.challenges import (
    challenge_event_payload,
    challenge_expiration,
    challenge_expire_if_due,
    challenge_respond,
)
from challenges.enqueue import push_notify_enqueue_on_commit
from challenges.errors import ChallengeExpired
from challenges.models import Challenge
from factors import push_crypto, push_queries
from factors.errors import FactorNotVerified
from factors.models import Factor, FactorType
from factors.push_models import NotificationPlatform
from services.domain import event_record
from verify_platform.lib.api.fields import datetime_text
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter, VerifyError
from verify_platform.lib.transitions import move

# The fields the device signs, in the order of the `Twilio-Verify-Signature-Fields` header:
# those that identify the challenge and what the user is shown, none that changes while
# it is pending (`status` is the answer itself, `date_updated` moves with metadata).
SIGNATURE_FIELDS = (
    "sid",
    "account_sid",
    "service_sid",
    "entity_sid",
    "identity",
    "factor_sid",
    "date_created",
    "expiration_date",
    "details",
    "hidden_details",
)
SIGNATURE_FIELDS_HEADER = "Twilio-Verify-Signature-Fields"
ANSWERS = (Challenge.Status.APPROVED, Challenge.Status.DENIED)
NOTIFICATION_TTL_DEFAULT = 300
NOTIFICATION_TTL_RANGE = (0, 300)


class ChallengeAlreadyResponded(VerifyError):
    """A push challenge is answered once; Twilio's 60322 for any later answer."""

    status, code = 403, 60322
    default_message = "Challenge already responded"


class NotAPushChallenge(VerifyError):
    status, code = 400, 60200
    default_message = "Notifications are sent for pending push challenges only"


def is_push(challenge: Challenge) -> bool:
    return challenge.factor is not None and challenge.factor.factor_type == FactorType.PUSH


def signed_values(challenge: Challenge) -> dict[str, Any]:
    """The values of `SIGNATURE_FIELDS` exactly as the challenge's JSON shows them (the
    device copies them from the response into its answer)."""
    details: dict[str, Any] = {
        "message": challenge.details_message,
        "fields": challenge.details_fields,
    }
    if challenge.service.push_include_date:
        details["date"] = datetime_text(challenge.date_created)
    return {
        "sid": challenge.sid,
        "account_sid": challenge.service.account_id,
        "service_sid": challenge.service_id,
        "entity_sid": challenge.entity_id,
        "identity": challenge.entity.identity,
        "factor_sid": challenge.factor_id,
        "date_created": datetime_text(challenge.date_created),
        "expiration_date": datetime_text(challenge.expiration_date),
        "details": details,
        "hidden_details": challenge.hidden_details,
    }


def push_challenge_create(
    *,
    factor: Factor,
    details_message: str | None,
    details_fields: list[dict[str, str]] | None = None,
    hidden_details: dict | None = None,
    metadata: dict | None = None,
    expiration_date: datetime | None = None,
    auth_payload: str | None = None,
    now: datetime | None = None,
) -> Challenge:
    """A pending challenge for the device, its notification queued after commit (unless
    the factor's platform is `none`: the app polls)."""
    now = current_time(now)
    if factor.status != Factor.Status.VERIFIED:
        raise FactorNotVerified()
    if auth_payload is not None:
        raise InvalidParameter("AuthPayload", "a push challenge is answered by the device")
    if not details_message:
        raise InvalidParameter("Details.Message", "required for a push challenge")
    expiration_date = challenge_expiration(expiration_date, now)
    binding = push_queries.push_binding_get(factor_id=factor.pk)
    with transaction.atomic():
        challenge = Challenge.objects.create(
            service_id=factor.service_id,
            entity_id=factor.entity_id,
            factor=factor,
            expiration_date=expiration_date,
            details_message=details_message,
            details_fields=details_fields or [],
            hidden_details=hidden_details,
            metadata=metadata,
        )
        if binding is not None and binding.notification_platform != NotificationPlatform.NONE:
            push_notify_enqueue_on_commit(challenge.sid, None)
    challenge.service, challenge.entity = factor.service, factor.entity
    return challenge


def _verified_answer(challenge: Challenge, auth_payload: str) -> str:
    """The status the device signed, once the signature checks out with the challenge's
    factor's key and every signed field is this challenge's."""
    binding = push_queries.push_binding_get(factor_id=challenge.factor_id)
    if binding is None:
        raise InvalidParameter("AuthPayload", "the challenge's factor has no device key")
    try:
        claims = push_crypto.challenge_answer_claims(auth_payload, binding.public_key)
    except push_crypto.PushCryptoError as exc:
        raise InvalidParameter("AuthPayload", str(exc)) from None
    answer = claims.get("status")
    if answer not in ANSWERS:
        raise InvalidParameter("AuthPayload", "the signed status must be approved or denied")
    for name, value in signed_values(challenge).items():
        if name not in claims or claims[name] != value:
            raise InvalidParameter("AuthPayload", f"the signed `{name}` is not this challenge's")
    return answer


def push_challenge_respond(
    *,
    challenge: Challenge,
    auth_payload: str | None = None,
    metadata: dict | None = None,
    now: datetime | None = None,
) -> Challenge:
    """The device's answer: approved or denied exactly once, with its webhook event."""
    if auth_payload is None:
        return challenge_respond(challenge=challenge, metadata=metadata, now=now)
    now = current_time(now)
    answer = _verified_answer(challenge, auth_payload)
    error: VerifyError | None = None
    with transaction.atomic():
        current = Challenge.objects.select_for_update().get(pk=challenge.pk)
        status = current.status_at(now)
        if status == Challenge.Status.EXPIRED:
            challenge_expire_if_due(challenge=current, now=now)  # committed, then refused
            error = ChallengeExpired()
        elif status != Challenge.Status.PENDING or not move(
            Challenge,
            pk=current.pk,
            sources=[Challenge.Status.PENDING],
            target=answer,
            filters={"expiration_date__gt": now},
            date_updated=now,
            date_responded=now,
            **({"metadata": metadata} if metadata is not None else {}),
        ):
            error = ChallengeAlreadyResponded()
        else:
            answered = Challenge.objects.select_related(
                "factor__service", "factor__entity", "service", "entity"
            ).get(pk=current.pk)
            event_record(
                service=answered.service,
                type=f"challenge.{answer}",
                resource_sid=answered.sid,
                payload=challenge_event_payload(answered),
            )
    if error is not None:
        raise error
    return answered


def push_notification_create(
    *, challenge: Challenge, ttl: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Send a pending push challenge's notification again, held by the provider for `ttl`
    seconds (0: one attempt). Nothing is stored: the answer is Twilio's Notification shape."""
    now = current_time(now)
    ttl = NOTIFICATION_TTL_DEFAULT if ttl is None else ttl
    low, high = NOTIFICATION_TTL_RANGE
    if not low <= ttl <= high:
        raise InvalidParameter("Ttl", f"must be {low} to {high} seconds")
    if not is_push(challenge):
        raise NotAPushChallenge()
    status = challenge.status_at(now)
    if status == Challenge.Status.EXPIRED:
        raise ChallengeExpired()
    if status != Challenge.Status.PENDING:
        raise ChallengeAlreadyResponded()
    binding = push_queries.push_binding_get(factor_id=challenge.factor_id)
    if binding is None or binding.notification_platform == NotificationPlatform.NONE:
        raise NotAPushChallenge("The factor's notification platform is none: the app polls")
    push_notify_enqueue_on_commit(challenge.sid, ttl)
    return {
        "sid": "NT" + secrets.token_hex(16),
        "account_sid": challenge.service.account_id,
        "service_sid": challenge.service_id,
        "entity_sid": challenge.entity_id,
        "identity": challenge.entity.identity,
        "challenge_sid": challenge.sid,
        "priority": "high",
        "ttl": ttl,
        "date_created": now,
    }
