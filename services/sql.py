"""The services app's hand-written SQL: the outbox (an event and its webhook deliveries).

An event is stored with one statement that also inserts a delivery for every enabled webhook
of its service that subscribes to its type, so a change pays one round trip for its event
whether or not the service has webhooks, and the webhooks are read under the same snapshot
as the change (a webhook enabled a moment before is never missed). Changes written as one
statement (`challenges/sql.py`) end with the same CTEs, chained to their own first step.

The subscription rule (`SUBSCRIBED`) exists only here. Parameters are named: `event_*` for
the event's values and `outbox_now` for the moment the deliveries are due (the one clock's
current time, not the caller's `now`, which tests and replays may fix in the past or future).
"""

from __future__ import annotations

# The columns each insert writes, in order; a test compares them with the models, so a column
# added to Event or WebhookDelivery fails the suite until it is written here too.
EVENT_COLUMNS = (
    "sid",
    "account_id",
    "service_id",
    "type",
    "resource_sid",
    "payload",
    "date_created",
)
DELIVERY_COLUMNS = (
    "webhook_id",
    "event_id",
    "resource_sid",
    "status",
    "attempts",
    "next_attempt_at",
    "lease_expires_at",
    "window_started_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "last_latency_ms",
    "last_response_body",
    "date_created",
    "date_updated",
    "date_completed",
)

# A webhook `w` receives event `e`: enabled, of the event's service, subscribed to its type
# or to every type ("*", `services.webhooks.events.ALL`).
SUBSCRIBED = """w.service_id = e.service_id AND w.status = 'enabled'
        AND (w.event_types @> '["*"]'::jsonb OR w.event_types @> jsonb_build_array(e.type))"""


def outbox_ctes(source: str) -> str:
    """The CTEs `outbox_event` (one event row for each row of `source`, a CTE that yields one
    row exactly when the change won) and `outbox_deliveries` (one row per subscribed webhook)."""
    return f"""
outbox_event AS (
    INSERT INTO services_event ({", ".join(EVENT_COLUMNS)})
    SELECT %(event_sid)s, %(event_account)s, %(event_service)s, %(event_type)s,
           %(event_resource)s, %(event_payload)s, %(outbox_now)s
    FROM {source}
    RETURNING sid, service_id, type, resource_sid
),
outbox_deliveries AS (
    INSERT INTO services_webhookdelivery ({", ".join(DELIVERY_COLUMNS)})
    SELECT w.sid, e.sid, e.resource_sid, %(delivery_status)s, 0, %(outbox_now)s, NULL,
           %(outbox_now)s, NULL, NULL, '', NULL, '', %(outbox_now)s, %(outbox_now)s, NULL
    FROM outbox_event e JOIN services_webhook w ON {SUBSCRIBED}
    RETURNING id
)"""  # noqa: S608 (table and column names of ours; every value is a parameter)


# What a statement ending in the outbox returns last: the new deliveries' ids (perhaps none).
OUTBOX_DELIVERY_IDS = "ARRAY(SELECT id FROM outbox_deliveries)"

# An event on its own (inside the transaction of its change): one row, the deliveries' ids.
EVENT_RECORD = f"""
WITH always AS (SELECT 1),{outbox_ctes("always")}
SELECT {OUTBOX_DELIVERY_IDS}
"""

# Every column of a Service, in the order `SERVICE_GET` selects them (a test holds the list to
# the model).
SERVICE_COLUMNS = (
    "sid",
    "account_id",
    "friendly_name",
    "code_length",
    "lookup_enabled",
    "skip_sms_to_landlines",
    "dtmf_input_required",
    "tts_name",
    "psd2_enabled",
    "do_not_share_warning_enabled",
    "custom_code_enabled",
    "verify_event_subscription_enabled",
    "push_include_date",
    "push_apn_credential_sid",
    "push_fcm_credential_sid",
    "totp_issuer",
    "totp_time_step",
    "totp_code_length",
    "totp_skew",
    "default_template_sid",
    "whatsapp_msg_service_sid",
    "whatsapp_from",
    "passkeys_relying_party_id",
    "passkeys_relying_party_name",
    "passkeys_relying_party_origins",
    "passkeys_authenticator_attachment",
    "passkeys_discoverable_credentials",
    "passkeys_user_verification",
    "fallback",
    "date_created",
    "date_updated",
)

# The tenant's service by SID: read by every request under /v2/Services/{sid}/ (a start, a
# check, ...). The ORM compiled this one-table read on every request, at a fifth of a
# verification start's CPU.
SERVICE_GET = f"""
SELECT {", ".join(f'"{column}"' for column in SERVICE_COLUMNS)}
FROM services_service WHERE account_id = %(account)s AND sid = %(sid)s
"""  # noqa: S608 (names of ours; every value is a parameter)
