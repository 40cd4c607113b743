"""The production start check: the web process, the Celery worker and beat refuse to start
with DEBUG off on a missing, public or malformed secret.

`manage.py check --deploy` reports the same problems (`verify_platform.checks`), but only a
process that runs it refuses; gunicorn, `celery worker` and `celery beat` started by hand or by
an orchestrator would serve with the public development secrets, or fail on the first request
that needs a key (a 500 per request). So each of them calls `refuse_insecure_start()` before
it serves: gunicorn's `on_starting` hook (gunicorn.conf.py), Celery's `celeryd_init` and
`beat_init` signals (verify_platform.celery). The process then ends with status 1 and one
line on stderr naming the setting and how to generate a value, rather than a traceback an
operator has to read from the bottom.

Development (DEBUG on) and everything that does not serve (manage.py commands, the test
suite) are not stopped here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TextIO

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

# How to generate each secret, printed with the problem.
GENERATE_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
GENERATE_FERNET_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
GENERATE_PEPPER = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"

# Django's own bar for a secret key (`security.W009`): long and not a repeated character.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
# The pepper keys an HMAC-SHA-256: at least as many bytes as the hash (RFC 2104 section 3).
PEPPER_MIN_BYTES = 32


@dataclass(frozen=True)
class SecretProblem:
    setting: str
    problem: str
    generate: str

    def line(self) -> str:
        return f"{self.setting} {self.problem}; generate one with: {self.generate}"


def _secret_key(settings) -> SecretProblem | None:
    from verify_platform import settings as defaults

    try:
        value = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        value = ""
    if not value:
        problem = "is not set"
    elif value == defaults.DEV_SECRET_KEY:
        problem = "is the public development value (or is not set)"
    elif len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < SECRET_KEY_MIN_UNIQUE:
        problem = (
            f"is too weak (at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE} of them different)"
        )
    else:
        return None
    return SecretProblem("SECRET_KEY", problem, GENERATE_SECRET_KEY)


def _encryption_keys(settings) -> SecretProblem | None:
    from verify_platform import settings as defaults

    keys = getattr(settings, "VERIFY_ENCRYPTION_KEYS", None)
    if isinstance(keys, str):
        keys = [keys]
    keys = [k.strip() for k in keys or [] if isinstance(k, str) and k.strip()]
    if not keys:
        problem = "is not set"
    elif defaults.DEV_ENCRYPTION_KEY in keys:
        problem = "holds the public development key (or is not set)"
    else:
        problem = None
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key)
            except (ValueError, TypeError):
                problem = (
                    f"holds a value that is not a Fernet key (key {position} of {len(keys)}; "
                    "keys are comma-separated)"
                )
                break
        if problem is None:
            return None
    return SecretProblem("VERIFY_ENCRYPTION_KEYS", problem, GENERATE_FERNET_KEY)


def _code_pepper(settings) -> SecretProblem | None:
    from verify_platform import settings as defaults

    value = getattr(settings, "VERIFY_CODE_PEPPER", "") or ""
    if not value:
        problem = "is not set"
    elif value == defaults.DEV_CODE_PEPPER:
        problem = "is the public development value (or is not set)"
    elif len(value.encode()) < PEPPER_MIN_BYTES:
        problem = f"is shorter than {PEPPER_MIN_BYTES} bytes"
    else:
        return None
    return SecretProblem("VERIFY_CODE_PEPPER", problem, GENERATE_PEPPER)


def secret_problems(settings=None) -> list[SecretProblem]:
    """Every secret setting that is missing, public (a development default) or malformed.
    Independent of DEBUG: the callers decide when it matters."""
    if settings is None:
        from django.conf import settings
    found = (_secret_key(settings), _encryption_keys(settings), _code_pepper(settings))
    return [problem for problem in found if problem is not None]


def start_problem() -> str | None:
    """The one line a production process stops with, or None when it may start (DEBUG on,
    or every secret in order). A settings module that cannot load is a problem too."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")
    from django.conf import settings

    try:
        if settings.DEBUG:
            return None
        problems = secret_problems(settings)
    except ImproperlyConfigured as exc:
        return f"Refusing to start: {exc}"
    if not problems:
        return None
    line = f"Refusing to start with DEBUG off: {problems[0].line()}"
    if len(problems) > 1:
        line += " (also to fix: " + ", ".join(p.setting for p in problems[1:]) + ")"
    return line


def refuse_insecure_start(stream: TextIO | None = None) -> None:
    """End the process with status 1 and one line on stderr when `start_problem()` finds
    one; return otherwise. SystemExit, not an exception: no traceback, and the servers'
    hooks and Celery's signal dispatch let it through."""
    line = start_problem()
    if line is None:
        return
    # The process's own stderr: beat has replaced `sys.stderr` with a logging proxy by now,
    # which would turn the line into a log record of some other logger.
    stream = stream or sys.__stderr__ or sys.stderr
    stream.write(line.replace("\n", " ") + "\n")
    stream.flush()
    raise SystemExit(1)
