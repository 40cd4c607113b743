from django.apps import AppConfig


class VerifyPlatformConfig(AppConfig):
    name = "verify_platform"
    verbose_name = "Verify Platform"

    def ready(self) -> None:
        from verify_platform import checks  # noqa: F401  (registers the system checks)
