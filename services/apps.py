from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Accounts and services"

    def ready(self) -> None:
        # Writes the built-in templates into their table after each migrate.
        from services import (
            builtin_templates,  # noqa: F401
            signals,  # noqa: F401 - connects the auth cache's receivers
        )
