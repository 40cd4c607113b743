"""Create a tenant; prints exactly one JSON object on stdout, for scripts."""

import json

from django.core.management.base import BaseCommand

from services import domain


class Command(BaseCommand):
    help = 'Create an account and print {"account_sid": ..., "auth_token": ...} as JSON.'

    def add_arguments(self, parser):
        parser.add_argument("--friendly-name", required=True)

    def handle(self, *args, friendly_name: str, **options):
        account, token = domain.account_create(friendly_name=friendly_name)
        self.stdout.write(json.dumps({"account_sid": account.sid, "auth_token": token}))
