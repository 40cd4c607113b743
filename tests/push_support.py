"""Push provider credentials and push factors for tests, wired to the fakes of
`tests/push_fakes.py`.

    apn = apn_credential(account, apns)       # a PushCredential (CR...) whose key `apns` knows
    fcm = fcm_credential(account, fcm_fake)   # its token_uri is the fake's token endpoint
    wire_service(service, apn=apn, fcm=fcm)   # Push.ApnCredentialSid / FcmCredentialSid
    point_settings(settings, apns=apns, fcm=fcm_fake)   # this process sends to the fakes
    os.environ.update(worker_env(apns=apns, fcm=fcm_fake))  # a worker started after this too
    factor = push_factor(service, "alice", platform="apn", token="ab12...")  # ORM, verified
    challenge = push_challenge(factor, message="Approve login?")             # ORM, pending

The keys are made with `cryptography` for each call; the fakes check signatures with their
public halves. `APP_ID` is the bundle ID the APN credential and push factors use (the
`apns-topic` the fake accepts).
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.push_fakes import FakeAPNs, FakeFCM

APP_ID = "com.example.verifypush"
PKCS8 = dict(
    encoding=serialization.Encoding.PEM,
    format=serialization.PrivateFormat.PKCS8,
    encryption_algorithm=serialization.NoEncryption(),
)


def apn_key() -> tuple[str, Any]:
    """A fresh .p8-style key: (PEM text, private key object)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(**PKCS8).decode(), key


def service_account_json(
    *, project_id: str, token_uri: str, key: rsa.RSAPrivateKey, key_id: str
) -> str:
    """A service-account key file as Firebase's console downloads it."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": key_id,
            "private_key": key.private_bytes(**PKCS8).decode(),
            "client_email": f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": token_uri,
        }
    )


def apn_credential(account, apns: FakeAPNs | None = None, *, sandbox: bool = False, topic=APP_ID):
    """An APN credential of `account`; its key is registered with `apns` when given."""
    from services.push_credential_domain import push_credential_create_apn

    pem, key = apn_key()
    key_id, team_id = "ABC123DEFG", "TEAM123456"
    if apns is not None:
        apns.register_key(key_id=key_id, team_id=team_id, public_key=key.public_key(), topic=topic)
    return push_credential_create_apn(
        account_id=account.pk,
        key_id=key_id,
        team_id=team_id,
        topic=topic,
        private_key=pem,
        sandbox=sandbox,
        friendly_name="iOS app",
    )


def fcm_credential(account, fcm: FakeFCM | None = None, *, project_id: str = "verify-push-test"):
    """An FCM credential of `account`; its service account is registered with `fcm` (and its
    token URI is the fake's) when given."""
    from services.push_credential_domain import push_credential_create_fcm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = "k" + base64.b16encode(key.public_key().public_numbers().n.to_bytes(256)[:8]).decode()
    token_uri = fcm.token_uri if fcm else "https://oauth2.googleapis.com/token"
    info = service_account_json(project_id=project_id, token_uri=token_uri, key=key, key_id=key_id)
    if fcm is not None:
        fcm.register_service_account(
            client_email=json.loads(info)["client_email"],
            private_key_id=key_id,
            public_key=key.public_key(),
            project_id=project_id,
        )
    return push_credential_create_fcm(
        account_id=account.pk, service_account_json=info, friendly_name="Android app"
    )


def wire_service(service, *, apn=None, fcm=None):
    """Name the credentials on the service, through the domain (so its checks run)."""
    from services import domain

    fields = {}
    if apn is not None:
        fields["push_apn_credential_sid"] = apn.sid
    if fcm is not None:
        fields["push_fcm_credential_sid"] = fcm.sid
    return domain.service_update(service=service, **fields)


def _urls(apns: FakeAPNs | None, fcm: FakeFCM | None) -> dict[str, str]:
    urls = {}
    if apns is not None:
        urls.update(APNS_URL=apns.url, APNS_SANDBOX_URL=apns.url)
    if fcm is not None:
        urls["FCM_URL"] = fcm.url
    return urls


def point_settings(settings, *, apns: FakeAPNs | None = None, fcm: FakeFCM | None = None) -> None:
    """Point this process's push adapters at the fakes (pytest-django's `settings`), with
    retries that wait no longer than a test should."""
    settings.VERIFY_PUSH = {
        **settings.VERIFY_PUSH,
        **_urls(apns, fcm),
        "RETRY_BASE_SECONDS": 0.2,
        "RETRY_MAX_SECONDS": 1.0,
    }


def worker_env(*, apns: FakeAPNs | None = None, fcm: FakeFCM | None = None) -> dict[str, str]:
    """The environment that points a worker subprocess (tests/worker.py) at the fakes."""
    names = {"APNS_URL": "VERIFY_APNS_URL", "APNS_SANDBOX_URL": "VERIFY_APNS_SANDBOX_URL"}
    names["FCM_URL"] = "VERIFY_FCM_URL"
    env = {names[k]: v for k, v in _urls(apns, fcm).items()}
    env.update(VERIFY_PUSH_RETRY_BASE_SECONDS="0.2", VERIFY_PUSH_RETRY_MAX_SECONDS="1")
    return env


def push_factor(service, identity: str, *, platform: str, token: str, app_id: str = APP_ID):
    """A verified push factor with its binding, written with the ORM (no API, no device)."""
    from entities.models import Entity
    from factors.models import Factor, FactorType
    from factors.push_models import PushBinding

    entity, _ = Entity.objects.get_or_create(service=service, identity=identity)
    factor = Factor.objects.create(
        service=service,
        entity=entity,
        factor_type=FactorType.PUSH,
        status=Factor.Status.VERIFIED,
        friendly_name="Phone",
    )
    device_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = device_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    PushBinding.objects.create(
        factor=factor,
        public_key=base64.b64encode(der).decode(),
        app_id=app_id,
        notification_platform=platform,
        notification_token=token,
    )
    return factor


def push_challenge(factor, *, message: str = "Approve login?", seconds: int = 300, **fields):
    """A pending challenge on `factor`, written with the ORM (`fields`: details_fields,
    hidden_details, metadata, ...)."""
    from challenges.models import Challenge
    from verify_platform.lib.clock import current_time

    return Challenge.objects.create(
        service_id=factor.service_id,
        entity_id=factor.entity_id,
        factor=factor,
        expiration_date=current_time() + timedelta(seconds=seconds),
        details_message=message,
        **fields,
    )
