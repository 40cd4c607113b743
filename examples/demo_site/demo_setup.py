#!/usr/bin/env python3
"""Prepare the platform for the demo site, as its operator and its customer would.

    .venv/bin/python examples/demo_site/demo_setup.py --platform-url http://127.0.0.1:8000 \
        --origin http://localhost:8100 --config var/demo-site/config.json

Run by `make demo` once the platform answers. It uses the demo account that `make run`
creates (var/demo-credentials.json), gives the site an API key of its own (the platform's
`create_api_key` command, the operator's tool; kept in --config, readable by the owner only)
and, through the official SDK, creates or updates the Service the site uses: TOTP issuer
"Acme", passkeys for relying party `localhost` at the site's origin. Codes go through the
platform's configured channel (the console channel of `make run`: codes appear in its log).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
WAIT_SECONDS = 60.0
RELYING_PARTY_ID = "localhost"


def service_settings(origin: str) -> dict[str, str]:
    """The Service a demo site at `origin` needs (keyword arguments of the SDK's create)."""
    return {
        "friendly_name": "Acme demo",
        "totp_issuer": "Acme",
        "passkeys_relying_party_id": RELYING_PARTY_ID,
        "passkeys_relying_party_name": "Acme demo",
        "passkeys_relying_party_origins": origin,
        "passkeys_authenticator_attachment": "any",
        "passkeys_discoverable_credentials": "required",
        "passkeys_user_verification": "required",
    }


def sdk(base_url: str, username: str, password: str, account_sid: str | None = None) -> Any:
    from twilio.rest import Client

    client = Client(username, password, account_sid)
    client.edge = client.region = None
    client.verify.base_url = base_url
    return client.verify.v2


def wait_for(url: str) -> None:
    """Bounded: the platform's liveness endpoint answers, or we give up."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 - our own URL
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"[demo] the platform at {url} did not answer") from None
            time.sleep(0.5)


def api_key(account_sid: str) -> dict[str, str]:
    """A new API key for the site, through the operator's command."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "create_api_key", "--account", account_sid,
         "--friendly-name", "demo site"],
        cwd=ROOT, check=True, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "verify_platform.settings"},
    ).stdout  # fmt: skip
    key = json.loads(out)
    return {"api_key_sid": key["sid"], "api_key_secret": key["secret"]}


def ensure_service(verify: Any, sid: str | None, origin: str) -> str:
    wanted = service_settings(origin)
    if sid:
        from twilio.base.exceptions import TwilioRestException

        try:
            return verify.services(sid).update(**wanted).sid
        except TwilioRestException as error:
            if error.status not in (401, 404):
                raise
    return verify.services.create(**wanted).sid


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--platform-url", required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--credentials", type=Path, default=ROOT / "var" / "demo-credentials.json")
    args = parser.parse_args()
    wait_for(args.platform_url)
    account = json.loads(args.credentials.read_text())
    config = json.loads(args.config.read_text()) if args.config.exists() else {}
    if config.get("account_sid") != account["account_sid"]:
        config = {"account_sid": account["account_sid"]}
    from twilio.base.exceptions import TwilioRestException

    for _ in range(2):  # a key revoked since the last run is replaced once
        if "api_key_sid" not in config:
            config.update(api_key(account["account_sid"]))
        verify = sdk(
            args.platform_url,
            config["api_key_sid"],
            config["api_key_secret"],
            config["account_sid"],
        )
        try:
            config["service_sid"] = ensure_service(verify, config.get("service_sid"), args.origin)
            break
        except TwilioRestException as error:
            if error.status != 401:
                raise
            config.pop("api_key_sid", None)
    config["base_url"] = args.platform_url
    args.config.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(config, fh, indent=2)
    print(f"[demo] Service {config['service_sid']} ready for {args.origin}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
