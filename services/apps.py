from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Accounts and services"

    def ready(self) -> None:
        from services import signals  # noqa: F401 - connects the auth cache's receivers
