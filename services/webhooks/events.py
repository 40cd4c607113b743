"""The event types a webhook can subscribe to."""

from __future__ import annotations

ALL = "*"

# Twilio's Verify Push types.
TWILIO_EVENT_TYPES = (
    "factor.created",
    "factor.verified",
    "factor.deleted",
    "challenge.approved",
    "challenge.denied",
)
# Extensions: the rest of our transitions.
EXTENSION_EVENT_TYPES = (
    "challenge.expired",
    "verification.approved",
    "verification.canceled",
    "verification.expired",
    "verification.max_attempts_reached",
    "verification.failed",
    "delivery.sent",
    "delivery.delivered",
    "delivery.failed",
    "delivery.fallback",
)
EVENT_TYPES = TWILIO_EVENT_TYPES + EXTENSION_EVENT_TYPES
SUBSCRIBABLE = (ALL, *EVENT_TYPES)
