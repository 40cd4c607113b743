from django.apps import AppConfig


class FactorsConfig(AppConfig):
    name = "factors"
