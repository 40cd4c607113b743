from django.apps import AppConfig


class LimitsConfig(AppConfig):
    name = "limits"
    verbose_name = "Rate limits and abuse protection"

    def ready(self) -> None:
        from limits import checks  # noqa: F401  (registers the deploy check)
