"""Create the data the scenarios load and write what the load generators need as JSON.

Run with DJANGO_SETTINGS_MODULE=bench.settings against the benchmark database.
"""

from __future__ import annotations

import json
import sys

import django


def main(out_path: str) -> None:
    django.setup()
    from services import domain

    account, token = domain.account_create(friendly_name="Bench")
    service = domain.service_create(account=account, friendly_name="Bench Service")
    with open(out_path, "w") as fh:
        json.dump({"account_sid": account.sid, "auth_token": token, "service_sid": service.sid}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
