from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "challenges"

    def ready(self) -> None:
        # Phone factors (in `factors`, below this app) reach the OTP engine through this port.
        from challenges.domain import phone
        from factors import phone as factor_phone

        factor_phone.register(phone)
