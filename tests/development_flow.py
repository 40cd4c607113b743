"""A login flow on `make run`'s database, run by tests/test_development_database.py under
scripts/devdb.py in a process of its own: the embedded PostgreSQL it started, migrated from
nothing, reached through the settings' default DATABASE_URL (the one exported to the command
is dropped first, so the default itself is what connects). Prints one JSON object."""

from __future__ import annotations

import base64
import json
import os
import sys
from urllib.parse import urlencode

import django


def main() -> None:
    exported = os.environ.pop("DATABASE_URL", None)
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from factors import totp
    from services import domain
    from services.models import WebhookDelivery
    from services.webhooks.domain import webhook_create

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('data_directory'), current_database()")
        data_directory, database = cursor.fetchone()
    out: dict[str, object] = {
        "database": [
            exported == settings.DEV_DATABASE_URL,
            data_directory == str(settings.DEV_DATABASE_DIR),
            database,
        ]
    }
    account, token = domain.account_create(friendly_name="Dev")
    service = domain.service_create(
        account=account, friendly_name="Dev Service", custom_code_enabled=True
    )
    basic = base64.b64encode(f"{account.sid}:{token}".encode()).decode()
    client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Basic {basic}")

    def post(path: str, data: dict):
        return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded")

    base = f"/v2/Services/{service.sid}"
    out["service"] = client.get(base).status_code
    factor = post(
        f"{base}/Entities/dev-user-0001/Factors", {"FactorType": "totp", "FriendlyName": "a"}
    )
    sid, secret = factor.json()["sid"], factor.json()["binding"]["secret"]
    now = timezone.now()
    step = totp.step_at(now, 30)
    verified = post(
        f"{base}/Entities/dev-user-0001/Factors/{sid}",
        {"AuthPayload": totp.code_at_step(secret, step - 1)},
    )
    # The approval stores the event's webhook delivery in the same transaction.
    webhook_create(
        service=service,
        friendly_name="Dev receiver",
        event_types=["challenge.approved"],
        webhook_url="https://backend.example.com/hook",
    )
    challenge = {"FactorSid": sid, "AuthPayload": totp.code_at_step(secret, step)}
    first = post(f"{base}/Entities/dev-user-0001/Challenges", challenge)
    out["deliveries"] = list(
        WebhookDelivery.objects.values_list("event__type", "resource_sid")
    ) == [("challenge.approved", first.json()["sid"])]
    replay = post(f"{base}/Entities/dev-user-0001/Challenges", challenge)
    out["factor"] = verified.json()["status"]
    out["challenge"], out["replay"] = first.json()["status"], replay.json()["status"]
    start = {"To": "+14155550123", "Channel": "sms", "CustomCode": "424242"}
    created = post(f"{base}/Verifications", start)
    resent = post(f"{base}/Verifications", start)
    out["verification"] = [created.status_code, resent.json()["sid"] == created.json()["sid"]]
    wrong = post(f"{base}/VerificationCheck", {"To": start["To"], "Code": "000000"})
    right = post(f"{base}/VerificationCheck", {"To": start["To"], "Code": "424242"})
    out["checks"] = [wrong.json()["status"], right.json()["status"]]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
