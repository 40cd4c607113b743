"""The demo's one app: sign-up, sign-in and the second step."""

from django.apps import AppConfig


class TwostepConfig(AppConfig):
    name = "twostep"
    default_auto_field = "django.db.models.BigAutoField"
