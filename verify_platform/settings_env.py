"""Where the settings come from: django-environ's reader, `.env` read once, the project and
`var/` directories, and the public development secrets.

`verify_platform.settings` (Django and Celery) and `verify_platform.settings_verify` (the
VERIFY_* product settings) both import `env` from here, so that `.env` is read a single time
and before either of them reads a variable.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("VERIFY_READ_DOT_ENV", default=False):
    environ.Env.read_env(BASE_DIR / ".env")
VAR_DIR = Path(env.str("VERIFY_VAR_DIR", default=str(BASE_DIR / "var")))

# Development defaults. They are public, so production (DEBUG off) refuses them.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789abcdef"
DEV_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWZlcm5ldC1rZXktMDEyMzQ1Njc="
DEV_CODE_PEPPER = "dev-insecure-code-pepper"
