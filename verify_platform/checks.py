"""System checks. The deploy ones (`manage.py check --deploy`) refuse to run production on
development defaults: DEBUG or the public development secrets. Channel adapters have their
own checks in `channels/checks.py` (the console and locmem adapters are refused there)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from verify_platform.lib import crypto


@register(Tags.security, deploy=True)
def production_secrets(app_configs, **kwargs) -> list[Error]:
    from verify_platform import settings as defaults

    problems = []
    if settings.DEBUG:
        problems.append(Error("DEBUG must be off in production.", id="verify.E001"))
    if settings.SECRET_KEY == defaults.DEV_SECRET_KEY:
        problems.append(Error("SECRET_KEY is the public development key.", id="verify.E002"))
    if defaults.DEV_ENCRYPTION_KEY in settings.VERIFY_ENCRYPTION_KEYS:
        problems.append(
            Error(
                "VERIFY_ENCRYPTION_KEYS contains the public development key.",
                hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'",
                id="verify.E003",
            )
        )
    if settings.VERIFY_CODE_PEPPER == defaults.DEV_CODE_PEPPER:
        problems.append(
            Error("VERIFY_CODE_PEPPER is the public development value.", id="verify.E004")
        )
    return problems


@register()
def encryption_keys(app_configs, **kwargs) -> list[Error]:
    try:
        crypto.key_ring()
    except Exception as exc:  # report, do not crash the check framework
        return [Error(str(exc), id="verify.E010")]
    return []
