"""Webhook settings are merged once per settings change, and a change applies at once."""

from __future__ import annotations

from django.test import override_settings

from services.webhooks import conf


class CountingSettings(dict):
    """A VERIFY_WEBHOOKS that counts how often it is merged (read whole)."""

    merges = 0

    def __iter__(self):  # a dict subclass with its own iterator is merged through keys()
        return super().__iter__()

    def keys(self):
        type(self).merges += 1
        return super().keys()


def test_settings_are_merged_once_per_change():
    CountingSettings.merges = 0
    with override_settings(VERIFY_WEBHOOKS=CountingSettings(READ_TIMEOUT=2.5)):
        for _ in range(100):
            assert conf.get("READ_TIMEOUT") == 2.5
            assert conf.get("CONNECT_TIMEOUT") == conf.DEFAULTS["CONNECT_TIMEOUT"]
        assert CountingSettings.merges == 1
        with override_settings(VERIFY_WEBHOOKS=CountingSettings(READ_TIMEOUT=7.0)):
            assert conf.get("READ_TIMEOUT") == 7.0
        assert conf.get("READ_TIMEOUT") == 2.5
        assert CountingSettings.merges == 3
    assert conf.get("READ_TIMEOUT") != 2.5


def test_pytest_django_settings_fixture_applies_at_once(settings):
    settings.VERIFY_WEBHOOKS = {"LEASE_SECONDS": 5.0}
    assert conf.get("LEASE_SECONDS") == 5.0
    settings.VERIFY_WEBHOOKS = {"LEASE_SECONDS": 6.0}
    assert conf.get("LEASE_SECONDS") == 6.0
