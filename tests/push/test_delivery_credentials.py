"""Push provider credentials: encrypted at rest and rotated with the key ring, checked when
stored, write-only in the admin, and a Service may name only its own account's credential of
the right type in `Push.ApnCredentialSid` / `Push.FcmCredentialSid`."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.db import connection

from services.push_credential_domain import (
    CredentialError,
    push_credential_create_apn,
    push_credential_create_fcm,
)
from services.push_credentials import PushCredential
from tests.helpers import form
from tests.push_support import APP_ID, PKCS8, apn_credential, apn_key, fcm_credential
from verify_platform.lib import crypto


def _stored_secret(sid: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM services_pushcredential WHERE sid = %s", [sid])
        return cursor.fetchone()[0]


def _key_body(pem: str) -> str:
    return "".join(pem.strip().splitlines()[1:-1])


def test_the_private_key_is_encrypted_at_rest(tenant):
    pem, _ = apn_key()
    credential = push_credential_create_apn(
        account_id=tenant.sid, key_id="K1", team_id="T1", topic=APP_ID, private_key=pem
    )
    stored = _stored_secret(credential.sid)
    assert credential.sid.startswith("CR") and len(credential.sid) == 34
    assert "PRIVATE KEY" not in stored and _key_body(pem)[:40] not in stored
    assert crypto.decrypt(stored) == pem.strip()


def test_an_fcm_service_account_keeps_only_its_key_secret(tenant):
    credential = fcm_credential(tenant.account)
    stored = _stored_secret(credential.sid)
    assert "PRIVATE KEY" not in stored and crypto.decrypt(stored).startswith("-----BEGIN")
    assert credential.project_id == "verify-push-test"
    assert credential.client_email.endswith(".iam.gserviceaccount.com")


def test_key_rotation_re_encrypts_push_credentials(tenant, settings):
    credential = apn_credential(tenant.account)
    pem = crypto.decrypt(_stored_secret(credential.sid))
    new_key = Fernet.generate_key().decode()
    settings.VERIFY_ENCRYPTION_KEYS = [new_key, *settings.VERIFY_ENCRYPTION_KEYS]
    call_command("rotate_encryption_keys")
    settings.VERIFY_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert crypto.decrypt(_stored_secret(credential.sid)) == pem


@pytest.mark.parametrize(
    "fields",
    [
        {"private_key": "not a key"},
        {"private_key": "rsa"},  # an RSA key where APNs wants P-256
        {"team_id": ""},
    ],
)
def test_an_unusable_apn_key_is_refused(tenant, fields):
    pem, _ = apn_key()
    args = {"key_id": "K1", "team_id": "T1", "topic": APP_ID, "private_key": pem, **fields}
    if args["private_key"] == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        args["private_key"] = key.private_bytes(**PKCS8).decode()
    with pytest.raises(CredentialError):
        push_credential_create_apn(account_id=tenant.sid, **args)
    assert not PushCredential.objects.exists()


def test_an_incomplete_service_account_is_refused(tenant):
    with pytest.raises(CredentialError, match="private_key"):
        push_credential_create_fcm(
            account_id=tenant.sid,
            service_account_json=json.dumps({"type": "service_account", "project_id": "p"}),
        )


# --- the Service's Push.*CredentialSid -----------------------------------------------------


def _update(api, service_sid: str, data: dict):
    return form(api, f"/v2/Services/{service_sid}", data)


def test_a_service_names_its_own_credentials_of_the_right_type(api, service, tenant):
    apn, fcm = apn_credential(tenant.account), fcm_credential(tenant.account)
    response = _update(
        api, service.sid, {"Push.ApnCredentialSid": apn.sid, "Push.FcmCredentialSid": fcm.sid}
    )
    assert response.status_code == 200, response.content
    assert response.json()["push"]["apn_credential_sid"] == apn.sid
    assert response.json()["push"]["fcm_credential_sid"] == fcm.sid


@pytest.mark.parametrize(
    ("param", "kind"), [("Push.ApnCredentialSid", "fcm"), ("Push.FcmCredentialSid", "apn")]
)
def test_a_credential_of_the_other_type_is_refused(api, service, tenant, param, kind):
    credential = fcm_credential(tenant.account) if kind == "fcm" else apn_credential(tenant.account)
    response = _update(api, service.sid, {param: credential.sid})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 60200 and param in body["message"] and "credential" in body["message"]


def test_another_accounts_or_an_unknown_credential_is_refused(api, service, other_tenant):
    theirs = apn_credential(other_tenant.account)
    for sid in (theirs.sid, "CR" + "0" * 32):
        response = _update(api, service.sid, {"Push.ApnCredentialSid": sid})
        assert response.status_code == 400 and "Push.ApnCredentialSid" in response.json()["message"]
    created = form(
        api, "/v2/Services", {"FriendlyName": "New", "Push.ApnCredentialSid": theirs.sid}
    )
    assert created.status_code == 400 and "Push.ApnCredentialSid" in created.json()["message"]


# --- the admin --------------------------------------------------------------------------------


def test_the_admin_adds_a_credential_and_never_shows_its_key(admin_client, tenant):
    pem, _ = apn_key()
    response = admin_client.post(
        "/admin/services/pushcredential/add/",
        {
            "account": tenant.sid,
            "friendly_name": "iOS",
            "type": "apn",
            "key_id": "ABC123DEFG",
            "team_id": "TEAM123456",
            "topic": APP_ID,
            "secret": pem,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    credential = PushCredential.objects.get()
    assert crypto.decrypt(credential.secret_encrypted) == pem.strip()
    page = admin_client.get(f"/admin/services/pushcredential/{credential.sid}/change/")
    assert page.status_code == 200
    assert _key_body(pem)[:40] not in page.content.decode()
    assert credential.secret_encrypted not in page.content.decode()
    # A change without a key keeps the stored one.
    admin_client.post(
        f"/admin/services/pushcredential/{credential.sid}/change/",
        {
            "friendly_name": "iOS app",
            "key_id": "ABC123DEFG",
            "team_id": "TEAM123456",
            "topic": APP_ID,
            "secret": "",
        },
    )
    credential.refresh_from_db()
    assert credential.friendly_name == "iOS app"
    assert crypto.decrypt(credential.secret_encrypted) == pem.strip()


def test_the_admin_refuses_a_wrong_key(admin_client, tenant):
    response = admin_client.post(
        "/admin/services/pushcredential/add/",
        {"account": tenant.sid, "type": "fcm", "secret": "{}"},
    )
    assert response.status_code == 200 and "service account" in response.content.decode()
    assert not PushCredential.objects.exists()
