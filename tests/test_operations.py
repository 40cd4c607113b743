"""Health probes, the OpenAPI contract, the request log and the operator commands."""

from __future__ import annotations

import itertools
import json
import logging

import pytest
from django.core.management import CommandError, call_command

from services.models import Account, ApiKey
from services.queries import account_authenticate
from tests.helpers import form

pytestmark = pytest.mark.django_db


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_real_database_and_broker(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": True, "broker": True}


def test_readyz_reports_a_dead_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broker": False}


def test_openapi_schema_speaks_twilio_parameter_names(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/v2/Services" in schema["paths"]
    assert "/v2/Services/{service_sid}/Entities/{identity}" in schema["paths"]
    create = schema["paths"]["/v2/Services"]["post"]
    content = create["requestBody"]["content"]
    assert list(content) == ["application/x-www-form-urlencoded"]
    ref = content["application/x-www-form-urlencoded"]["schema"]["$ref"].split("/")[-1]
    props = schema["components"]["schemas"][ref]["properties"]
    assert {"FriendlyName", "CodeLength", "Totp.TimeStep", "Totp.Skew"} <= set(props)
    assert props["Totp.TimeStep"]["minimum"] == 20 and props["Totp.TimeStep"]["maximum"] == 60


def test_interactive_docs_are_served_without_external_assets(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html


def test_request_log_has_one_line_without_secrets(api, tenant, caplog):
    with caplog.at_level(logging.INFO, logger="verify_platform.requests"):
        form(api, "/v2/Services", {"FriendlyName": "Logged"})
    lines = [r.getMessage() for r in caplog.records if r.name == "verify_platform.requests"]
    assert len(lines) == 1
    line = lines[0]
    for part in (
        "request_id=",
        f"account={tenant.sid}",
        "method=POST",
        "path=/v2/Services",
        "status=201",
        "latency_ms=",
    ):
        assert part in line
    assert tenant.auth_token not in line and "Logged" not in line


def test_create_account_prints_only_json(capsys):
    call_command("create_account", "--friendly-name", "Scripted")
    out = capsys.readouterr().out
    data = json.loads(out)  # the whole of stdout is one JSON object
    assert set(data) == {"account_sid", "auth_token"}
    assert account_authenticate(username=data["account_sid"], password=data["auth_token"])
    account = Account.objects.get(pk=data["account_sid"])
    assert data["auth_token"] not in (account.auth_token_digest, account.auth_token_encrypted)


def test_create_and_revoke_api_key(tenant, capsys):
    call_command("create_api_key", "--account", tenant.sid, "--friendly-name", "deploy")
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"sid", "secret"} and data["sid"].startswith("SK")
    assert account_authenticate(username=data["sid"], password=data["secret"]) == tenant.account
    call_command("revoke_api_key", data["sid"])
    assert ApiKey.objects.get(pk=data["sid"]).status == "revoked"
    assert account_authenticate(username=data["sid"], password=data["secret"]) is None


def test_rotate_encryption_keys(tenant, settings, capsys):
    from cryptography.fernet import Fernet

    from verify_platform.lib import crypto

    old_keys = list(settings.VERIFY_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.VERIFY_ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("rotate_encryption_keys")
    assert "1 re-encrypted" in capsys.readouterr().out or Account.objects.count() > 1
    settings.VERIFY_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    account = Account.objects.get(pk=tenant.sid)
    assert crypto.decrypt(account.auth_token_encrypted) == tenant.auth_token


def test_sids_are_random_not_sequential(api):
    sids = [form(api, "/v2/Services", {"FriendlyName": f"s{i}"}).json()["sid"] for i in range(5)]
    numbers = [int(s[2:], 16) for s in sids]
    assert len(set(sids)) == 5
    assert all(abs(b - a) > 2**64 for a, b in itertools.pairwise(numbers))


def test_deploy_checks_refuse_development_defaults(settings):
    from verify_platform import settings as defaults
    from verify_platform.checks import production_secrets

    settings.DEBUG = True
    settings.SECRET_KEY = defaults.DEV_SECRET_KEY
    settings.VERIFY_ENCRYPTION_KEYS = [defaults.DEV_ENCRYPTION_KEY]
    settings.VERIFY_CODE_PEPPER = defaults.DEV_CODE_PEPPER
    ids = {e.id for e in production_secrets(None)}
    assert {"verify.E001", "verify.E002", "verify.E003", "verify.E004"} <= ids

    settings.DEBUG = False
    settings.SECRET_KEY = "k3y-" + "abcdefghij" * 5
    settings.VERIFY_ENCRYPTION_KEYS = ["Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="]
    settings.VERIFY_CODE_PEPPER = "a-real-pepper-of-at-least-32-bytes"
    assert production_secrets(None) == []


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_bootstrap_demo_refuses_without_debug(tmp_path, settings):
    settings.DEBUG = False
    creds = tmp_path / "demo.json"
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("bootstrap_demo", "--credentials-file", str(creds))
    assert not creds.exists()
    assert not Account.objects.filter(friendly_name="Demo").exists()


def test_bootstrap_demo_creates_once_and_prints_credentials(tmp_path, capsys, settings):
    settings.DEBUG = True
    creds = tmp_path / "demo.json"
    call_command("bootstrap_demo", "--credentials-file", str(creds))
    first = capsys.readouterr().out
    data = json.loads(creds.read_text())
    assert oct(creds.stat().st_mode & 0o777) == "0o600"
    for value in (
        data["account_sid"],
        data["auth_token"],
        data["service_sid"],
        data["operator_password"],
        "http://127.0.0.1:8000",
    ):
        assert value in first
    assert account_authenticate(username=data["account_sid"], password=data["auth_token"])

    call_command("bootstrap_demo", "--credentials-file", str(creds))
    assert data["auth_token"] in capsys.readouterr().out
    assert Account.objects.filter(friendly_name="Demo").count() == 1


def test_env_example_documents_every_variable_the_settings_read():
    """Every settings module is scanned: settings.py (Django, Celery), settings_env.py (the
    reader and .env) and settings_verify.py (the VERIFY_* product settings)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    modules = sorted((root / "verify_platform").glob("settings*.py"))
    source = "\n".join(path.read_text() for path in modules)
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (root / ".env.example").read_text(), re.M)
    )
    # One variable each module reads: the pattern and the glob found them all.
    assert {"SECRET_KEY", "VERIFY_READ_DOT_ENV", "VERIFY_WEBHOOK_CONNECT_TIMEOUT"} <= read
    missing = read - documented
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_settings_holds_every_product_setting():
    """Django reads settings from verify_platform.settings only: a VERIFY_* setting defined in
    settings_verify.py but not imported there would silently fall back to the code's
    default."""
    from verify_platform import settings, settings_verify

    names = {name for name in vars(settings_verify) if name.isupper()}
    assert "VERIFY_WEBHOOKS" in names
    missing = {n for n in names if getattr(settings, n, None) is not getattr(settings_verify, n)}
    assert not missing, f"verify_platform/settings.py does not import {sorted(missing)}"
