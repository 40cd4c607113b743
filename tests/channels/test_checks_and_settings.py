"""Start-up checks over the adapter configuration, and the environment-driven settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

from channels.adapters.console import ConsoleAdapter
from channels.checks import TAG
from tests.channels.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.channels.helpers import FROM_NUMBER

ROOT = Path(__file__).resolve().parents[2]
TWILIO = {
    "BACKEND": "twilio",
    "OPTIONS": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM_NUMBER},
}
CHANNELS = ("sms", "whatsapp", "call", "email")


class SubclassedConsole(ConsoleAdapter):
    """A renamed console adapter is still one."""


def ids(deploy: bool = False) -> list[str]:
    return sorted(m.id for m in run_checks(tags=[TAG], include_deployment_checks=deploy))


def everywhere(config: dict) -> dict:
    return {channel: config for channel in CHANNELS}


def test_a_good_configuration_passes(settings):
    settings.VERIFY_CHANNELS = {
        "sms": TWILIO,
        "call": TWILIO,
        "whatsapp": {**TWILIO, "OPTIONS": {**TWILIO["OPTIONS"], "whatsapp_from": FROM_NUMBER}},
        "email": {"BACKEND": "email", "OPTIONS": {"from_email": "otp@example.com"}},
    }
    settings.VERIFY_DELIVERY_STATUS_HANDLER = "tests.channels.handlers.record"
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com"
    # pytest-django sends mail to locmem, which the deploy check refuses behind e-mail.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert ids(deploy=True) == []


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ({"sms": {"BACKEND": "no.such.Adapter"}}, "verify_channels.E002"),
        (
            {"sms": {"BACKEND": "twilio", "OPTIONS": {"account_sid": "nope"}}},
            "verify_channels.E002",
        ),
        ({"sms": {"BACKEND": "locmem", "OPTIONS": {"colour": "blue"}}}, "verify_channels.E002"),
        ({"sms": "console"}, "verify_channels.E001"),
        ({"sms": {"BACKEND": "console", "OPTIONS": []}}, "verify_channels.E001"),
        ({"whatsapp": TWILIO}, "verify_channels.W003"),  # twilio without a WhatsApp sender
        ({"email": TWILIO}, "verify_channels.W003"),  # twilio cannot send email
        ({"sms": {"BACKEND": "email", "OPTIONS": {}}}, "verify_channels.W003"),
    ],
)
def test_bad_configurations_are_reported(settings, channels, expected):
    settings.VERIFY_CHANNELS = {**everywhere({"BACKEND": "locmem", "OPTIONS": {}}), **channels}
    assert expected in ids()


def test_missing_channel_is_a_warning(settings):
    settings.VERIFY_CHANNELS = {"sms": {"BACKEND": "locmem", "OPTIONS": {}}}
    assert ids().count("verify_channels.W001") == 3


def test_unimportable_status_handler_is_an_error(settings):
    settings.VERIFY_CHANNELS = everywhere({"BACKEND": "locmem", "OPTIONS": {}})
    settings.VERIFY_DELIVERY_STATUS_HANDLER = "no.such.handler"
    assert ids() == ["verify_channels.E004"]


def test_twilio_without_auth_token_warns_when_callbacks_are_expected(settings):
    options = {k: v for k, v in TWILIO["OPTIONS"].items() if k != "auth_token"}
    options.update(api_key="SK" + "1" * 32, api_secret="secret")
    settings.VERIFY_CHANNELS = {"sms": {"BACKEND": "twilio", "OPTIONS": options}}
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = None
    assert "verify_channels.W002" not in ids()
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com"
    assert "verify_channels.W002" in ids()


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("console", ["verify_channels.E010"] * 4),
        ("locmem", ["verify_channels.E010"] * 4),
        ("channels.adapters.locmem.LocmemAdapter", ["verify_channels.E010"] * 4),
        ("tests.channels.test_checks_and_settings.SubclassedConsole", ["verify_channels.E010"] * 4),
        ("filebased", ["verify_channels.W010"] * 4),
    ],
)
def test_deploy_check_refuses_adapters_that_deliver_nothing(settings, tmp_path, backend, expected):
    settings.VERIFY_FILEBASED_DIR = str(tmp_path)
    settings.VERIFY_CHANNELS = everywhere({"BACKEND": backend, "OPTIONS": {}})
    assert ids(deploy=False) == []
    assert ids(deploy=True) == expected


def test_deploy_check_is_part_of_manage_check_deploy(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.VERIFY_CHANNELS = everywhere({"BACKEND": "console", "OPTIONS": {}})
    with pytest.raises(SystemCheckError, match=r"verify_channels\.E010"):
        call_command("check", "--deploy", "--tag", TAG)


# -- settings from the environment -----------------------------------------------------------


def channels_from_env(**env: str) -> dict:
    """VERIFY_CHANNELS as a fresh process computes it from `env` (settings read the
    environment once, at import)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "VERIFY_"))}
    code = "import json, verify_platform.settings as s; print(json.dumps(s.VERIFY_CHANNELS))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(out.stdout)


def test_settings_from_environment():
    default = channels_from_env()
    assert {c["BACKEND"] for c in default.values()} == {"console"}
    assert set(default) == set(CHANNELS)

    configured = channels_from_env(
        VERIFY_CHANNEL_ADAPTER="twilio",
        VERIFY_CHANNEL_WHATSAPP="locmem",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_MESSAGING_SERVICE_SID="MG" + "2" * 32,
        TWILIO_API_BASE_URL="http://127.0.0.1:9",
        VERIFY_EMAIL_FROM="otp@example.com",
    )
    assert configured["sms"]["BACKEND"] == configured["call"]["BACKEND"] == "twilio"
    assert configured["sms"]["OPTIONS"] == {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM_NUMBER,
        "messaging_service_sid": "MG" + "2" * 32,
        "base_url": "http://127.0.0.1:9",
        "timeout": 10.0,
    }
    assert configured["whatsapp"] == {"BACKEND": "locmem", "OPTIONS": {}}
    # Twilio sends no email: that channel falls to Django's mail framework.
    assert configured["email"] == {"BACKEND": "email", "OPTIONS": {"from_email": "otp@example.com"}}


def test_a_twilio_call_channel_without_a_callback_url_warns_about_key_presses(settings):
    settings.VERIFY_CHANNELS = {**everywhere({"BACKEND": "locmem", "OPTIONS": {}}), "call": TWILIO}
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = None
    assert "verify_channels.W004" in ids()
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com"
    assert "verify_channels.W004" not in ids()
    settings.VERIFY_CHANNELS = everywhere({"BACKEND": "locmem", "OPTIONS": {}})
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = None
    assert "verify_channels.W004" not in ids()  # a development adapter waits for nothing
