"""System checks. The deploy ones (`manage.py check --deploy`) refuse to run production on
development defaults: DEBUG, or a missing, public or malformed secret. The secrets are judged
by `verify_platform.startup.secret_problems`, the same function with which gunicorn, the
Celery worker and beat refuse to start, so the two can never disagree. Channel adapters and
the mail backend have their own checks in `channels/checks.py` (adapters and mail backends
that deliver nothing are refused there)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from verify_platform.lib import crypto
from verify_platform.startup import secret_problems

# The check id of each secret setting (kept from before the start check existed).
SECRET_CHECK_IDS = {
    "SECRET_KEY": "verify.E002",
    "VERIFY_ENCRYPTION_KEYS": "verify.E003",
    "VERIFY_CODE_PEPPER": "verify.E004",
}


@register(Tags.security, deploy=True)
def production_secrets(app_configs, **kwargs) -> list[Error]:
    problems = []
    if settings.DEBUG:
        problems.append(Error("DEBUG must be off in production.", id="verify.E001"))
    for found in secret_problems(settings):
        problems.append(
            Error(
                f"{found.setting} {found.problem}.",
                hint=f"Generate one with: {found.generate}",
                id=SECRET_CHECK_IDS[found.setting],
            )
        )
    return problems


@register()
def encryption_keys(app_configs, **kwargs) -> list[Error]:
    try:
        crypto.key_ring()
    except Exception as exc:  # report, do not crash the check framework
        return [Error(str(exc), id="verify.E010")]
    return []
