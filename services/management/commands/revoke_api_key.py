"""Revoke an API key; it stops authenticating on the next request."""

from django.core.management.base import BaseCommand, CommandError

from services import domain
from services.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key (SK...)."

    def add_arguments(self, parser):
        parser.add_argument("sid")

    def handle(self, *args, sid: str, **options):
        key = ApiKey.objects.filter(pk=sid).first()
        if key is None:
            raise CommandError(f"no API key {sid}")
        if domain.api_key_revoke(api_key=key):
            self.stdout.write(f"revoked {sid}")
        else:
            self.stdout.write(f"{sid} was already revoked")
