"""The VERIFY_* settings of the product: the engine's secrets, channels, retention, webhooks,
limits, the authentication cache and metrics.

`verify_platform.settings` imports each of them by name, so that Django sees them as settings;
this module holds them apart from Django's and Celery's own settings to keep both readable.
Every value has an embedded default for `make run`; production overrides them through the
environment (`.env.example` lists every variable).
"""

from verify_platform.settings_env import DEV_CODE_PEPPER, DEV_ENCRYPTION_KEY, VAR_DIR, env

# --- Secrets of the verification engine -----------------------------------------------------
# A Fernet key ring: the first key encrypts, every key decrypts (rotation without downtime).
VERIFY_ENCRYPTION_KEYS = env.list("VERIFY_ENCRYPTION_KEYS", default=[DEV_ENCRYPTION_KEY])
# The server-side key of the HMAC under which one-time and recovery codes are stored.
VERIFY_CODE_PEPPER = env.str("VERIFY_CODE_PEPPER", default=DEV_CODE_PEPPER)

# --- Channels (channels app) ----------------------------------------------------------------
# Shaped like Django's STORAGES: VERIFY_CHANNELS = {channel: {"BACKEND": ..., "OPTIONS": ...}}.
# VERIFY_CHANNEL_ADAPTER (console, locmem, filebased, email, twilio or a dotted path) serves
# every channel; VERIFY_CHANNEL_SMS / _WHATSAPP / _CALL / _EMAIL override one channel. Twilio
# cannot send email, so with VERIFY_CHANNEL_ADAPTER=twilio the email channel uses Django mail.
VERIFY_CHANNEL_ADAPTER = env.str("VERIFY_CHANNEL_ADAPTER", default="console")
VERIFY_FILEBASED_DIR = env.str("VERIFY_FILEBASED_DIR", default=str(VAR_DIR / "outbox"))
# Public origin providers reach us on (e.g. https://verify.example.com); with it the engine
# asks for delivery callbacks at <base>/channels/twilio/status?attempt=<sid>. Empty: none.
VERIFY_STATUS_CALLBACK_BASE_URL = env.str("VERIFY_STATUS_CALLBACK_BASE_URL", default="") or None
# Dotted path of the engine's callable taking (attempt_sid=, provider_message_id=, status=,
# error_code=); unset: callbacks are verified, acknowledged and ignored.
VERIFY_DELIVERY_STATUS_HANDLER = (
    env.str("VERIFY_DELIVERY_STATUS_HANDLER", default="challenges.domain.delivery_status_record")
    or None
)
VERIFY_EMAIL_FROM = env.str("VERIFY_EMAIL_FROM", default="")
VERIFY_TWILIO_OPTIONS = {
    "account_sid": env.str("TWILIO_ACCOUNT_SID", default=""),
    "auth_token": env.str("TWILIO_AUTH_TOKEN", default=""),
    "api_key": env.str("TWILIO_API_KEY", default=""),
    "api_secret": env.str("TWILIO_API_SECRET", default=""),
    "from_number": env.str("TWILIO_FROM_NUMBER", default=""),
    "call_from": env.str("TWILIO_CALL_FROM", default=""),
    "whatsapp_from": env.str("TWILIO_WHATSAPP_FROM", default=""),
    "messaging_service_sid": env.str("TWILIO_MESSAGING_SERVICE_SID", default=""),
    "whatsapp_content_sid": env.str("TWILIO_WHATSAPP_CONTENT_SID", default=""),
    "base_url": env.str("TWILIO_API_BASE_URL", default=""),
    "timeout": env.float("TWILIO_TIMEOUT", default=10.0),
}
VERIFY_TWILIO_OPTIONS = {k: v for k, v in VERIFY_TWILIO_OPTIONS.items() if v not in ("", None)}


def _channel_config(channel: str) -> dict:
    backend = env.str(f"VERIFY_CHANNEL_{channel.upper()}", default="")
    if not backend:
        backend = VERIFY_CHANNEL_ADAPTER
        if channel == "email" and backend == "twilio":
            backend = "email"
    options: dict = {}
    if backend == "twilio":
        options = dict(VERIFY_TWILIO_OPTIONS)
    elif backend == "email" and VERIFY_EMAIL_FROM:
        options = {"from_email": VERIFY_EMAIL_FROM}
    return {"BACKEND": backend, "OPTIONS": options}


VERIFY_CHANNELS = {
    channel: _channel_config(channel) for channel in ("sms", "whatsapp", "call", "email")
}
# --- end of Channels ---------------------------------------------------------------------
# How long a worker owns an attempt it is sending; after that the sweeper may take it over
# (a worker killed mid-send). Longer than any adapter's timeout.
VERIFY_DELIVERY_LEASE_SECONDS = env.int("VERIFY_DELIVERY_LEASE_SECONDS", default=60)

# --- Unverified factors (factors app) -------------------------------------------------------
# An enrolment (an unverified factor) not completed within this many seconds is deleted by
# the challenge-expire-sweep beat task (CELERY_BEAT_SCHEDULE, settings.py), with a
# `factor.deleted` event; 0 keeps unverified factors forever.
VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS = env.int(
    "VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS", default=24 * 3600
)
# --- Data retention (challenges/domain/retention.py, services/retention.py) -----------------
# Days each kind of row is kept after it was created (webhook deliveries: after they
# finished); 0 keeps it forever. Rows in use (a pending verification or challenge, a send
# or a webhook delivery still due) are never deleted. A row goes with its owner: attempts
# with their verification or code, a phone code with its challenge, deliveries with their
# event. An ended verification's To is masked (+1******0100) after REDACT_DESTINATIONS_DAYS
# (0: never): by default with its deletion, because the Attempts API derives an attempt's
# country from the To it shows; lower it to keep numbers in clear for less time than the rows.
# The retention-sweep beat tasks (CELERY_BEAT_SCHEDULE, settings.py) delete BATCH_SIZE rows
# per statement, at most MAX_BATCHES per kind and run.
VERIFY_RETENTION = {
    "EVENTS_DAYS": env.int("VERIFY_RETENTION_EVENTS_DAYS", default=90),
    "CHALLENGES_DAYS": env.int("VERIFY_RETENTION_CHALLENGES_DAYS", default=90),
    "VERIFICATIONS_DAYS": env.int("VERIFY_RETENTION_VERIFICATIONS_DAYS", default=30),
    "ATTEMPTS_DAYS": env.int("VERIFY_RETENTION_ATTEMPTS_DAYS", default=30),
    "WEBHOOK_DELIVERIES_DAYS": env.int("VERIFY_RETENTION_WEBHOOK_DELIVERIES_DAYS", default=30),
    "FACTOR_CODES_DAYS": env.int("VERIFY_RETENTION_FACTOR_CODES_DAYS", default=7),
    "REDACT_DESTINATIONS_DAYS": env.int("VERIFY_RETENTION_REDACT_DESTINATIONS_DAYS", default=30),
    "BATCH_SIZE": env.int("VERIFY_RETENTION_BATCH_SIZE", default=1000),
    "MAX_BATCHES": env.int("VERIFY_RETENTION_MAX_BATCHES", default=100),
}

# --- Webhooks -------------------------------------------------------------------------------
# Read at call time (never at import), so tests and the worker they start can shrink the
# schedule through the environment or override_settings.
VERIFY_WEBHOOKS = {
    # Every call to a tenant's endpoint is bounded: (connect, read) seconds.
    "CONNECT_TIMEOUT": env.float("VERIFY_WEBHOOK_CONNECT_TIMEOUT", default=3.05),
    "READ_TIMEOUT": env.float("VERIFY_WEBHOOK_READ_TIMEOUT", default=10.0),
    # ... and the whole call at most this long (the read timeout bounds each read only).
    "TOTAL_TIMEOUT": env.float("VERIFY_WEBHOOK_TOTAL_TIMEOUT", default=30.0),
    # Capped exponential backoff with jitter: base * 2**(attempt-1), at most MAX, retried
    # until WINDOW seconds have passed since the first attempt.
    "RETRY_BASE_SECONDS": env.float("VERIFY_WEBHOOK_RETRY_BASE_SECONDS", default=5.0),
    "RETRY_MAX_SECONDS": env.float("VERIFY_WEBHOOK_RETRY_MAX_SECONDS", default=3600.0),
    "RETRY_WINDOW_SECONDS": env.float("VERIFY_WEBHOOK_RETRY_WINDOW_SECONDS", default=86400.0),
    # An endpoint is switched off after this many consecutive failed attempts spanning at
    # least this long.
    "DISABLE_AFTER_FAILURES": env.int("VERIFY_WEBHOOK_DISABLE_AFTER_FAILURES", default=10),
    "DISABLE_AFTER_SECONDS": env.float("VERIFY_WEBHOOK_DISABLE_AFTER_SECONDS", default=86400.0),
    # A claimed attempt not recorded within this time (worker died) is retried.
    "LEASE_SECONDS": env.float("VERIFY_WEBHOOK_LEASE_SECONDS", default=60.0),
    # The sweeper re-enqueues deliveries overdue by more than this (their fast path was lost).
    "SWEEP_GRACE_SECONDS": env.float("VERIFY_WEBHOOK_SWEEP_GRACE_SECONDS", default=30.0),
    "SWEEP_BATCH": env.int("VERIFY_WEBHOOK_SWEEP_BATCH", default=500),
    "RESPONSE_BODY_LIMIT": 1024,
    "USER_AGENT": "VerifyPlatform-Webhooks/1.0",
    # Tenants choose the URLs: loopback, private and metadata addresses are refused (when a
    # URL is stored and when it is called) unless the operator says otherwise here. DEBUG
    # never implies it: a DEBUG instance reachable by tenants would be an open SSRF.
    "ALLOW_PRIVATE_ADDRESSES": env.bool("VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False),
}

# --- Limits (limits app) --------------------------------------------------------------------
# The counters live in CACHES["default"] (settings.py): Redis with REDIS_URL, else LocMem.
# Sends (verification starts) allowed per account and per service per minute and per hour,
# against SMS pumping (ASVS 5.0 2.4.1); 0 switches one off. Over budget: 429 (20429).
VERIFY_SEND_BUDGETS = {
    "ACCOUNT_PER_MINUTE": env.int("VERIFY_ACCOUNT_SENDS_PER_MINUTE", default=300),
    "ACCOUNT_PER_HOUR": env.int("VERIFY_ACCOUNT_SENDS_PER_HOUR", default=5000),
    "SERVICE_PER_MINUTE": env.int("VERIFY_SERVICE_SENDS_PER_MINUTE", default=120),
    "SERVICE_PER_HOUR": env.int("VERIFY_SERVICE_SENDS_PER_HOUR", default=2000),
    # Per account and `DeviceIp` (counted only for starts that name one).
    "DEVICE_IP_PER_MINUTE": env.int("VERIFY_DEVICE_IP_SENDS_PER_MINUTE", default=10),
    "DEVICE_IP_PER_HOUR": env.int("VERIFY_DEVICE_IP_SENDS_PER_HOUR", default=60),
}
# Failed authentications per client address per minute before the answer is 429 (20429)
# instead of 401 (SECURITY R16); 0 switches it off. Behind a reverse proxy, list its
# addresses or networks in VERIFY_TRUSTED_PROXIES so X-Forwarded-For names the client;
# without that every client would share the proxy's count.
VERIFY_AUTH_FAILURES_PER_MINUTE = env.int("VERIFY_AUTH_FAILURES_PER_MINUTE", default=30)
VERIFY_TRUSTED_PROXIES = env.list("VERIFY_TRUSTED_PROXIES", default=[])
# Geo permissions: the countries (ISO 3166 alpha-2) codes may be sent to by SMS, WhatsApp or
# voice; empty allows every country. Anything else is refused with 403 (60605).
VERIFY_ALLOWED_COUNTRIES = env.list("VERIFY_ALLOWED_COUNTRIES", default=[])
# Twilio's programmable Service Rate Limits: caps on what a tenant may configure.
VERIFY_RATE_LIMITS = {
    "MAX_PER_SERVICE": env.int("VERIFY_MAX_RATE_LIMITS_PER_SERVICE", default=10),
    "MAX_BUCKETS_PER_RATE_LIMIT": env.int("VERIFY_MAX_BUCKETS_PER_RATE_LIMIT", default=5),
}
# Consecutive failed checks to one destination, across verifications (NIST SP 800-63B):
# after FREE_FAILURES, starts and checks wait BASE_DELAY_SECONDS doubling per failure up to
# MAX_DELAY_SECONDS; at BLOCK_AFTER_FAILURES (at most 100) the destination is blocked until
# an operator clears it in the admin. A correct code resets the count.
VERIFY_DESTINATION_THROTTLE = {
    "FREE_FAILURES": env.int("VERIFY_DESTINATION_FREE_FAILURES", default=10),
    "BASE_DELAY_SECONDS": env.int("VERIFY_DESTINATION_BASE_DELAY_SECONDS", default=30),
    "MAX_DELAY_SECONDS": env.int("VERIFY_DESTINATION_MAX_DELAY_SECONDS", default=3600),
    "BLOCK_AFTER_FAILURES": env.int("VERIFY_DESTINATION_BLOCK_AFTER_FAILURES", default=100),
}

# --- Authentication cache (services/auth_cache.py) ------------------------------------------
# What authenticates a credential (its secret's digest, the account's plain fields) is kept
# in the shared cache (CACHES["default"], Redis) so a request needs no database read. Every
# change deletes its entries at once and after commit; an entry a failed delete missed is
# used at most this many seconds after its read. 0 switches the cache off; it is always off
# without REDIS_URL (a per-process cache would not hear another process's revocation).
VERIFY_AUTH_CACHE_SECONDS = env.int("VERIFY_AUTH_CACHE_SECONDS", default=60)

# --- Metrics (verify_platform/metrics, verify_platform/lib/metrics.py) ----------------------
# /metrics answers clients from these addresses or networks (CIDR; the client address as
# VERIFY_TRUSTED_PROXIES lets it be known), or any client with `Authorization: Bearer
# <VERIFY_METRICS_TOKEN>`; everyone else gets the ordinary 404. Under gunicorn set
# PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes a per-run one when it is not set).
VERIFY_METRICS = {
    "ALLOWED_NETWORKS": env.list(
        "VERIFY_METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]
    ),
    "TOKEN": env.str("VERIFY_METRICS_TOKEN", default=""),
    # The Celery worker's own endpoint (task latency, queue lengths, what tasks count): a
    # port, 0 (the default) for none; the address it listens on.
    "WORKER_PORT": env.int("VERIFY_METRICS_WORKER_PORT", default=0),
    "WORKER_ADDRESS": env.str("VERIFY_METRICS_WORKER_ADDRESS", default="127.0.0.1"),
    # Seconds a scrape waits for the broker (queue lengths) or the database (webhook backlog).
    "BROKER_TIMEOUT": env.float("VERIFY_METRICS_BROKER_TIMEOUT", default=1.0),
}

# Called when a callee presses a key on a call that waits for one (DtmfInputRequired):
# handler(attempt_sid=...) -> OutboundMessage | None.
VERIFY_VOICE_CODE_HANDLER = (
    env.str("VERIFY_VOICE_CODE_HANDLER", default="challenges.domain.voice.spoken_message") or None
)
# Addresses (or @domain entries) a verification may send e-mail from (ChannelConfiguration
# "from"); empty: the configured sender only.
VERIFY_EMAIL_ALLOWED_FROM = env.list("VERIFY_EMAIL_ALLOWED_FROM", default=[])

# Push notifications of push challenges (`channels/push/`): the provider hosts (tests point
# them at local fakes; a credential with Sandbox uses the APNs sandbox host), the time one
# request may take, and the retries of a temporary failure (5xx, 429, timeouts): a delay from
# BASE doubling up to MAX seconds, at most MAX_RETRIES times, never past the challenge's end.
VERIFY_PUSH = {
    "APNS_URL": env.str("VERIFY_APNS_URL", default="https://api.push.apple.com"),
    "APNS_SANDBOX_URL": env.str(
        "VERIFY_APNS_SANDBOX_URL", default="https://api.sandbox.push.apple.com"
    ),
    "FCM_URL": env.str("VERIFY_FCM_URL", default="https://fcm.googleapis.com"),
    "TIMEOUT": env.float("VERIFY_PUSH_TIMEOUT", default=10.0),
    "RETRY_BASE_SECONDS": env.float("VERIFY_PUSH_RETRY_BASE_SECONDS", default=2.0),
    "RETRY_MAX_SECONDS": env.float("VERIFY_PUSH_RETRY_MAX_SECONDS", default=60.0),
    "MAX_RETRIES": env.int("VERIFY_PUSH_MAX_RETRIES", default=5),
}
