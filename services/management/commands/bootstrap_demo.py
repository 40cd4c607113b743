"""Create, once, the demo account, service and operator login that `make run` prints.

Secrets are stored only as digests, so the first run writes them to a file readable by the
owner alone; later runs print them from that file. It refuses to run without DEBUG: a demo
account whose token is printed on every start has no place on a production database.
"""

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from services import domain
from services.models import Account, Service


class Command(BaseCommand):
    help = "Create (once) and print demo credentials for local development."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--credentials-file", default=str(Path(settings.VAR_DIR) / "demo-credentials.json")
        )

    def handle(self, *args, base_url: str, credentials_file: str, **options):
        if not settings.DEBUG:
            raise CommandError(
                "bootstrap_demo is for development (make run sets DEBUG=true): it creates an "
                "account whose credentials it prints on every start."
            )
        path = Path(credentials_file)
        creds = json.loads(path.read_text()) if path.exists() else None
        if creds is None or not Account.objects.filter(pk=creds["account_sid"]).exists():
            creds = self._create()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(creds, fh, indent=2)
        self.stdout.write(self._banner(creds, base_url))

    def _create(self) -> dict:
        account, token = domain.account_create(friendly_name="Demo")
        service = domain.service_create(account=account, friendly_name="Demo Service")
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        user = user_model.objects.filter(username="operator").first()
        if user is None:
            user_model.objects.create_superuser("operator", "operator@localhost", password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        return {
            "account_sid": account.sid,
            "auth_token": token,
            "service_sid": service.sid,
            "operator_username": "operator",
            "operator_password": password,
        }

    def _database(self) -> str:
        """Where the data lives: the embedded development server (scripts/devdb.py) or the
        PostgreSQL that DATABASE_URL names."""
        db = settings.DATABASES["default"]
        host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
        if host == str(settings.DEV_DATABASE_SOCKET_DIR):
            return (
                f"embedded PostgreSQL in {settings.DEV_DATABASE_DIR}   "
                "(psql: .venv/bin/python scripts/devdb.py psql)"
            )
        return f"PostgreSQL, database {db['NAME']} on {host or 'localhost'}"

    def _webhooks(self) -> str:
        """Whether webhooks may call this machine: `make run` allows it for local receivers,
        which production refuses by default, so the banner says which applies."""
        if settings.VERIFY_WEBHOOKS.get("ALLOW_PRIVATE_ADDRESSES"):
            return (
                "may call loopback and private addresses (VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES"
                "=true, set by make run for receivers on this machine)"
            )
        return "public addresses only (VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES is off)"

    def _banner(self, creds: dict, base_url: str) -> str:
        service = Service.objects.filter(pk=creds["service_sid"]).first()
        return "\n".join(
            [
                "",
                "Verify Platform is starting (development mode: embedded PostgreSQL, "
                "console channel).",
                f"  Base URL        {base_url}   (API docs: {base_url}/docs)",
                f"  Database        {self._database()}",
                f"  Account SID     {creds['account_sid']}",
                f"  Auth token      {creds['auth_token']}",
                f"  Service SID     {creds['service_sid']}" + ("" if service else "   (deleted)"),
                f"  Operator login  {base_url}/admin  "
                f"{creds['operator_username']} / {creds['operator_password']}",
                f"  Webhooks        {self._webhooks()}",
                "",
                "Try it:",
                f"  curl -u {creds['account_sid']}:{creds['auth_token']} "
                f"{base_url}/v2/Services/{creds['service_sid']}",
                "",
            ]
        )
