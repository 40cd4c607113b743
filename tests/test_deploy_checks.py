"""The production checks in process: which secrets the start check and `check --deploy`
refuse (one function, `verify_platform.startup.secret_problems`), the mail backends refused
behind the email channel, the health probes answered whatever the Host header, and the
database password given apart from DATABASE_URL."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from verify_platform import settings as defaults
from verify_platform import startup
from verify_platform.checks import production_secrets

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = Fernet.generate_key().decode()
GOOD = {
    "SECRET_KEY": "k3y-" + "abcdefghij" * 5,
    "VERIFY_ENCRYPTION_KEYS": [GOOD_KEY],
    "VERIFY_CODE_PEPPER": "p" * 31 + "q",
}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    for name, value in GOOD.items():
        setattr(settings, name, value)
    return settings


def problems() -> dict[str, str]:
    return {p.setting: p.problem for p in startup.secret_problems()}


def test_good_secrets_pass(production):
    assert problems() == {}
    assert production_secrets(None) == []
    assert startup.start_problem() is None


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("SECRET_KEY", "", "is not set"),
        ("SECRET_KEY", defaults.DEV_SECRET_KEY, "public development value"),
        ("SECRET_KEY", "x" * 60, "too weak"),
        ("SECRET_KEY", "abcdefghij" * 4, "too weak"),
        ("VERIFY_ENCRYPTION_KEYS", [], "is not set"),
        ("VERIFY_ENCRYPTION_KEYS", ["  "], "is not set"),
        ("VERIFY_ENCRYPTION_KEYS", [GOOD_KEY, defaults.DEV_ENCRYPTION_KEY], "public development"),
        ("VERIFY_ENCRYPTION_KEYS", ["abc"], "not a Fernet key (key 1 of 1"),
        ("VERIFY_ENCRYPTION_KEYS", [GOOD_KEY, "abc"], "not a Fernet key (key 2 of 2"),
        ("VERIFY_CODE_PEPPER", "", "is not set"),
        ("VERIFY_CODE_PEPPER", defaults.DEV_CODE_PEPPER, "public development value"),
        ("VERIFY_CODE_PEPPER", "p" * 31, "shorter than 32 bytes"),
    ],
)
def test_each_missing_public_or_malformed_secret_is_refused(production, setting, value, problem):
    setattr(production, setting, value)
    found = problems()
    assert list(found) == [setting] and problem in found[setting]
    [error] = production_secrets(None)
    assert error.id == {"SECRET_KEY": "verify.E002", "VERIFY_ENCRYPTION_KEYS": "verify.E003",
                        "VERIFY_CODE_PEPPER": "verify.E004"}[setting]  # fmt: skip
    assert "python -c" in error.hint
    line = startup.start_problem()
    assert line.startswith(f"Refusing to start with DEBUG off: {setting} ") and "\n" not in line


def test_the_pepper_is_measured_in_bytes(production):
    production.VERIFY_CODE_PEPPER = "é" * 16  # 16 characters, 32 bytes
    assert problems() == {}


def test_development_is_not_stopped(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = defaults.DEV_SECRET_KEY
    settings.VERIFY_CODE_PEPPER = ""
    assert startup.start_problem() is None
    startup.refuse_insecure_start()  # returns


def test_refusal_is_one_line_and_exit_status_1(production):
    production.SECRET_KEY = defaults.DEV_SECRET_KEY
    production.VERIFY_CODE_PEPPER = "short"
    stream = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        startup.refuse_insecure_start(stream)
    assert exit_info.value.code == 1
    [line] = stream.getvalue().splitlines()
    assert line.startswith("Refusing to start with DEBUG off: SECRET_KEY is the public")
    assert line.endswith("(also to fix: VERIFY_CODE_PEPPER)")


# --- mail backends behind the email channel -------------------------------------------------

EMAIL_CHANNELS = {
    "sms": {"BACKEND": "locmem", "OPTIONS": {}},
    "email": {"BACKEND": "email", "OPTIONS": {}},
}


def mail_problems(settings, email_backend: str, **options) -> list[tuple[str, str]]:
    from channels.checks import production_adapters

    email = {"BACKEND": "email", "OPTIONS": options}
    settings.VERIFY_CHANNELS = {**EMAIL_CHANNELS, "email": email}
    settings.EMAIL_BACKEND = email_backend
    found = production_adapters(None)
    return [(p.id, p.msg) for p in found if "e-mail" in p.msg]


@pytest.mark.parametrize("kind", ["console", "locmem", "dummy"])
def test_mail_backends_that_deliver_nothing_are_refused(settings, kind):
    found = mail_problems(settings, f"django.core.mail.backends.{kind}.EmailBackend")
    assert [i for i, _ in found] == ["verify_channels.E011"]


def test_file_mail_is_a_warning_and_smtp_passes(settings):
    found = mail_problems(settings, "django.core.mail.backends.filebased.EmailBackend")
    assert [i for i, _ in found] == ["verify_channels.W011"]
    assert mail_problems(settings, "django.core.mail.backends.smtp.EmailBackend") == []
    # The adapter's own backend option wins over EMAIL_BACKEND.
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    console = "django.core.mail.backends.console.EmailBackend"
    assert mail_problems(settings, console, backend=smtp) == []


def test_no_email_channel_no_mail_check(settings):
    from channels.checks import production_adapters

    settings.VERIFY_CHANNELS = {"sms": {"BACKEND": "twilio", "OPTIONS": {}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert not [p for p in production_adapters(None) if p.id == "verify_channels.E011"]


# --- health probes whatever the Host header -------------------------------------------------


@pytest.mark.django_db
def test_probes_answer_an_address_allowed_hosts_does_not_hold(client, settings):
    settings.ALLOWED_HOSTS = ["verify.example.com"]
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").json() == {"status": "ok"}
    ready = client.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    # Everything else is still validated.
    assert client.get("/v2/Services", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.post("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 405


# --- the database password apart from the URL -----------------------------------------------


def test_database_password_may_hold_url_delimiters():
    password = "p@ss:w/rd#50%x?"
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://verify@postgres:5432/verify",
        "DATABASE_PASSWORD": password,
        "DJANGO_SETTINGS_MODULE": "verify_platform.settings",
    }
    code = (
        "from django.conf import settings; d = settings.DATABASES['default']; "
        "print(d['USER'], d['HOST'], d['PORT'], d['NAME'], d['PASSWORD'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    assert out == ["verify", "postgres", "5432", "verify", password]
