"""Writing, checking and opening push provider credentials (`services.push_credentials`).

A key is parsed before it is stored, so a wrong file is refused when an operator pastes it,
not when the first notification fails in the worker. The plaintext key leaves this module
only through `push_credential_for_send`, which the worker calls just before signing.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from channels.push import ApnCredential, FcmCredential
from services.push_credentials import PushCredential
from verify_platform.lib import crypto
from verify_platform.lib.errors import InvalidParameter

# The Service field each credential type may be named in.
SERVICE_FIELDS = {
    "push_apn_credential_sid": ("Push.ApnCredentialSid", PushCredential.Type.APN),
    "push_fcm_credential_sid": ("Push.FcmCredentialSid", PushCredential.Type.FCM),
}
_FCM_KEYS = ("project_id", "private_key_id", "private_key", "client_email", "token_uri")


class CredentialError(ValueError):
    """A key or service-account file that cannot be used; the message says why."""


def _private_key(pem: str, kind: type) -> Any:
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CredentialError("the private key is not an unencrypted PEM key") from exc
    if not isinstance(key, kind):
        raise CredentialError("the private key is of the wrong kind")
    return key


def apn_fields(*, key_id: str, team_id: str, topic: str, private_key: str) -> dict[str, str]:
    """The columns of an APNs credential: an ES256 (P-256) .p8 key with its IDs."""
    key = _private_key(private_key, ec.EllipticCurvePrivateKey)
    if not isinstance(key.curve, ec.SECP256R1):
        raise CredentialError("an APNs key is a P-256 (ES256) key")
    if not (key_id.strip() and team_id.strip() and topic.strip()):
        raise CredentialError("an APNs credential needs its Key ID, Team ID and bundle ID")
    return {"key_id": key_id.strip(), "team_id": team_id.strip(), "topic": topic.strip()}


def fcm_fields(service_account_json: str) -> tuple[dict[str, str], str]:
    """The columns of an FCM credential and its private key, from the service account's JSON
    file (the one Firebase's console downloads)."""
    try:
        info = json.loads(service_account_json)
    except ValueError as exc:
        raise CredentialError("the service account is not a JSON document") from exc
    if not isinstance(info, dict) or info.get("type", "service_account") != "service_account":
        raise CredentialError("the JSON is not a service account key file")
    missing = [k for k in _FCM_KEYS if not isinstance(info.get(k), str) or not info[k]]
    if missing:
        raise CredentialError(f"the service account lacks {', '.join(missing)}")
    _private_key(info["private_key"], rsa.RSAPrivateKey)
    if not info["token_uri"].startswith(("https://", "http://")):
        raise CredentialError("the service account's token_uri is not a URL")
    fields = {
        "key_id": info["private_key_id"],
        "project_id": info["project_id"],
        "client_email": info["client_email"],
        "token_uri": info["token_uri"],
    }
    return fields, info["private_key"]


def push_credential_create_apn(
    *,
    account_id: str,
    key_id: str,
    team_id: str,
    topic: str,
    private_key: str,
    sandbox: bool = False,
    friendly_name: str = "",
) -> PushCredential:
    fields = apn_fields(key_id=key_id, team_id=team_id, topic=topic, private_key=private_key)
    return PushCredential.objects.create(
        account_id=account_id,
        type=PushCredential.Type.APN,
        friendly_name=friendly_name,
        sandbox=sandbox,
        secret_encrypted=crypto.encrypt(private_key.strip()),
        **fields,
    )


def push_credential_create_fcm(
    *, account_id: str, service_account_json: str, friendly_name: str = ""
) -> PushCredential:
    fields, private_key = fcm_fields(service_account_json)
    return PushCredential.objects.create(
        account_id=account_id,
        type=PushCredential.Type.FCM,
        friendly_name=friendly_name,
        secret_encrypted=crypto.encrypt(private_key.strip()),
        **fields,
    )


def push_credential_seal(credential: PushCredential, private_key: str) -> None:
    """Put a (new) private key on an unsaved or changed credential, encrypted; the caller
    saves it. For the admin's form, which validated the key with the fields above."""
    credential.secret_encrypted = crypto.encrypt(private_key.strip())


def service_push_credentials_check(account_id: str, fields: dict[str, Any]) -> None:
    """`Push.ApnCredentialSid` / `Push.FcmCredentialSid` must name a credential of the
    service's own account and of the right type: a wrong SID would otherwise surface only as
    notifications that never leave. One query, only when a request sets either field."""
    wanted = {name: fields[name] for name in SERVICE_FIELDS if fields.get(name)}
    if not wanted:
        return
    found = dict(
        PushCredential.objects.filter(account_id=account_id, sid__in=wanted.values()).values_list(
            "sid", "type"
        )
    )
    for name, sid in wanted.items():
        param, kind = SERVICE_FIELDS[name]
        if sid not in found:
            raise InvalidParameter(param, "no push credential with this SID belongs to the account")
        if found[sid] != kind:
            raise InvalidParameter(param, f"the credential {sid} is not an {kind} credential")


def push_credential_for_send(
    *, account_id: str, sid: str | None, type: str
) -> tuple[ApnCredential | FcmCredential, str] | None:
    """The account's credential `sid` of `type`, opened as the adapter takes it, with its
    default APNs topic (the bundle id); None when there is none (the service names none, or
    it was deleted since)."""
    if not sid:
        return None
    row = PushCredential.objects.filter(account_id=account_id, sid=sid, type=type).first()
    if row is None:
        return None
    private_key = crypto.decrypt(row.secret_encrypted)
    if row.type == PushCredential.Type.APN:
        return ApnCredential(
            sid=row.sid,
            key_id=row.key_id,
            team_id=row.team_id,
            private_key=private_key,
            sandbox=row.sandbox,
        ), row.topic
    return FcmCredential(
        sid=row.sid,
        project_id=row.project_id,
        client_email=row.client_email,
        private_key_id=row.key_id,
        private_key=private_key,
        token_uri=row.token_uri,
    ), row.topic
