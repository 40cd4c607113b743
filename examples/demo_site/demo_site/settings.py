"""Settings of the demo login site: a customer's web application that reaches the Verify
Platform only through the official `twilio` SDK.

Everything comes from DEMO_* environment variables (`make demo` sets them, see README.md):
the platform's base URL, the API key the site authenticates with and the Service it uses.
The site keeps its own users in SQLite under DEMO_DATA_DIR; the platform knows a user only
by an opaque identity (a UUID), never by name, e-mail or password.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DEMO_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# A fresh key per start unless one is given: sessions end with the process, which suits a demo.
SECRET_KEY = os.environ.get("DEMO_SECRET_KEY") or get_random_secret_key()
DEBUG = os.environ.get("DEMO_DEBUG", "") == "true"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

# How the site reaches the platform (twostep/platform.py): DEMO_VERIFY_* variables, else the
# file DEMO_CONFIG names (`make demo` writes it, readable by its owner alone).
_CONFIG = (
    json.loads(Path(os.environ["DEMO_CONFIG"]).read_text()) if "DEMO_CONFIG" in os.environ else {}
)


def _platform(name: str, default: str = "") -> str:
    return os.environ.get(f"DEMO_VERIFY_{name.upper()}") or _CONFIG.get(name, default)


VERIFY_BASE_URL = _platform("base_url", "http://127.0.0.1:8000")
VERIFY_ACCOUNT_SID = _platform("account_sid")
VERIFY_API_KEY_SID = _platform("api_key_sid")
VERIFY_API_KEY_SECRET = _platform("api_key_secret")
VERIFY_SERVICE_SID = _platform("service_sid")
# A password-checked sign-in waits this long for its second step.
SECOND_STEP_SECONDS = int(os.environ.get("DEMO_SECOND_STEP_SECONDS", "300"))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "twostep",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "twostep.middleware.content_security_policy",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "twostep.middleware.PlatformUnavailable",
]

ROOT_URLCONF = "demo_site.urls"
WSGI_APPLICATION = "demo_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "demo-site.sqlite3"}
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "account"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Served by WhiteNoise straight from the app's folder: no collectstatic step for a demo.
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request lines only: no request bodies, codes or secrets are ever logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"twostep": {"level": "INFO"}},
}
