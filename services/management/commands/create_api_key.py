"""Create an API key for an account; prints exactly one JSON object on stdout."""

import json

from django.core.management.base import BaseCommand, CommandError

from services import domain
from services.models import Account


class Command(BaseCommand):
    help = 'Create an API key and print {"sid": "SK...", "secret": ...} as JSON.'

    def add_arguments(self, parser):
        parser.add_argument("--account", required=True, help="The account SID (AC...)")
        parser.add_argument("--friendly-name", default="")

    def handle(self, *args, account: str, friendly_name: str, **options):
        owner = Account.objects.filter(pk=account).first()
        if owner is None:
            raise CommandError(f"no account {account}")
        key, secret = domain.api_key_create(account=owner, friendly_name=friendly_name)
        self.stdout.write(json.dumps({"sid": key.sid, "secret": secret}))
