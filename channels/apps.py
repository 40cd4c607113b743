from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"
    label = "verify_channels"
    verbose_name = "Channels"
