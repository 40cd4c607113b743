"""System checks: every configured adapter is built at start-up (so a wrong option fails
`manage.py check`, the web server and the worker, not the first login), and `check --deploy`
refuses adapters that do not deliver anything (console, locmem) in production, and so the
Django mail backends that deliver nothing (console, locmem, dummy) behind the email adapter:
with them an e-mail code is printed to a log or dropped, and the user never gets it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.utils.module_loading import import_string

from channels.base import Channel
from channels.registry import get_adapter, resolve_backend
from channels.status import get_delivery_status_handler, get_voice_code_handler

TAG = "verify_channels"
NON_DELIVERING = (
    "channels.adapters.console.ConsoleAdapter",
    "channels.adapters.locmem.LocmemAdapter",
)
NON_DELIVERING_MAIL = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
)
FILE_MAIL = "django.core.mail.backends.filebased.EmailBackend"


def _config_errors(channel: str, config: Any) -> list[Error]:
    if not isinstance(config, dict) or not isinstance(config.get("BACKEND"), str):
        return [
            Error(
                f"VERIFY_CHANNELS[{channel!r}] must be a dict with a BACKEND string.",
                id="verify_channels.E001",
            )
        ]
    if not isinstance(config.get("OPTIONS", {}), dict):
        return [
            Error(
                f"VERIFY_CHANNELS[{channel!r}]['OPTIONS'] must be a dict.",
                id="verify_channels.E001",
            )
        ]
    return []


@register(TAG)
def channel_adapters(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    channels = getattr(settings, "VERIFY_CHANNELS", None)
    if not isinstance(channels, dict):
        return [Error("VERIFY_CHANNELS must be a dict.", id="verify_channels.E001")]
    problems: list[Error | Warning] = []
    for channel in Channel:
        if channel not in channels:
            problems.append(
                Warning(
                    f"No adapter is configured for channel {channel.value!r}; verifications "
                    "on it will fail.",
                    id="verify_channels.W001",
                )
            )
    for channel, config in channels.items():
        found = _config_errors(channel, config)
        if found:
            problems += found
            continue
        try:
            adapter = get_adapter(channel)
        except Exception as exc:  # report, do not crash the check framework
            problems.append(
                Error(
                    f"Channel {channel!r}: adapter {config['BACKEND']!r} cannot be built: {exc}",
                    id="verify_channels.E002",
                )
            )
            continue
        channel_problem = getattr(adapter, "channel_problem", None)
        problem = channel_problem(channel) if callable(channel_problem) else None
        if problem:
            # A warning, not an error: a deployment may leave a channel without a sender;
            # sends on it then fail permanently and the fallback plan moves on.
            problems.append(Warning(f"Channel {channel!r}: {problem}", id="verify_channels.W003"))
        if (
            channel == "call"
            and adapter.key_press_needs_callback
            and not getattr(settings, "VERIFY_STATUS_CALLBACK_BASE_URL", None)
        ):
            problems.append(
                Warning(
                    "Channel 'call': without VERIFY_STATUS_CALLBACK_BASE_URL a call cannot wait "
                    "for a key press, so call starts of services with DtmfInputRequired "
                    "(Twilio's default) are refused.",
                    hint="Set VERIFY_STATUS_CALLBACK_BASE_URL, or DtmfInputRequired=false on "
                    "the services that call.",
                    id="verify_channels.W004",
                )
            )
        if (
            adapter.name == "twilio"
            and not getattr(adapter, "auth_token", None)
            and getattr(settings, "VERIFY_STATUS_CALLBACK_BASE_URL", None)
        ):
            problems.append(
                Warning(
                    f"Channel {channel!r}: the twilio adapter has no auth_token, so its status "
                    "callbacks cannot be verified and will be refused.",
                    hint="Set TWILIO_AUTH_TOKEN even when sending with an API key.",
                    id="verify_channels.W002",
                )
            )
    for load in (get_delivery_status_handler, get_voice_code_handler):
        try:
            load()
        except ImproperlyConfigured as exc:
            problems.append(Error(str(exc), id="verify_channels.E004"))
    return problems + _allowed_from_problems()


def _allowed_from_problems() -> list[Error]:
    """VERIFY_EMAIL_ALLOWED_FROM: e-mail addresses and `@domain` entries only, so a typo
    does not silently allow nothing (or, worse, look like it allows something)."""
    allowed = getattr(settings, "VERIFY_EMAIL_ALLOWED_FROM", None) or []
    if not isinstance(allowed, list | tuple):
        return [Error("VERIFY_EMAIL_ALLOWED_FROM must be a list.", id="verify_channels.E005")]
    bad = []
    for entry in allowed:
        try:
            text = str(entry).strip()
            validate_email(f"x{text}" if text.startswith("@") else text)
        except ValidationError:
            bad.append(repr(entry)[:80])
    if bad:
        return [
            Error(
                f"VERIFY_EMAIL_ALLOWED_FROM has entries that are neither an e-mail address nor "
                f"@domain: {', '.join(bad)}.",
                id="verify_channels.E005",
            )
        ]
    return []


def _backend_class(backend: str) -> type | None:
    try:
        return import_string(resolve_backend(backend))
    except ImportError:
        return None  # reported by channel_adapters


@register(TAG, deploy=True)
def production_adapters(app_configs: Any, **kwargs: Any) -> list[Error | Warning]:
    channels = getattr(settings, "VERIFY_CHANNELS", None)
    if not isinstance(channels, dict):
        return []
    refused = tuple(import_string(path) for path in NON_DELIVERING)
    from channels.adapters.email import EmailAdapter
    from channels.adapters.filebased import FileBasedAdapter

    problems: list[Error | Warning] = []
    for channel, config in channels.items():
        if not isinstance(config, dict) or not isinstance(config.get("BACKEND"), str):
            continue
        cls = _backend_class(config["BACKEND"])
        if isinstance(cls, type) and issubclass(cls, refused):
            problems.append(
                Error(
                    f"Channel {channel!r} uses the {cls.__name__}, which delivers nothing.",
                    hint="Set VERIFY_CHANNEL_ADAPTER (or VERIFY_CHANNEL_<CHANNEL>) to twilio, "
                    "email or your own adapter.",
                    id="verify_channels.E010",
                )
            )
        elif isinstance(cls, type) and issubclass(cls, FileBasedAdapter):
            problems.append(
                Warning(
                    f"Channel {channel!r} writes codes to files instead of delivering them.",
                    id="verify_channels.W010",
                )
            )
        elif isinstance(cls, type) and issubclass(cls, EmailAdapter):
            problems += _mail_backend_problems(channel, config)
    return problems


def _mail_backend_problems(channel: str, config: dict) -> list[Error | Warning]:
    """The Django mail backend behind an email adapter: its own `backend` option, else
    EMAIL_BACKEND (set from EMAIL_URL)."""
    options = config.get("OPTIONS") or {}
    path = options.get("backend") or getattr(settings, "EMAIL_BACKEND", "")
    try:
        backend = import_string(path)
    except ImportError:
        return [
            Error(
                f"Channel {channel!r}: mail backend {path!r} cannot be imported.",
                id="verify_channels.E011",
            )
        ]
    # The file backend is a console backend that writes to files: asked first.
    if isinstance(backend, type) and issubclass(backend, import_string(FILE_MAIL)):
        return [
            Warning(
                f"Channel {channel!r} writes e-mails to files instead of sending them.",
                id="verify_channels.W011",
            )
        ]
    refused = tuple(import_string(p) for p in NON_DELIVERING_MAIL)
    if isinstance(backend, type) and issubclass(backend, refused):
        return [
            Error(
                f"Channel {channel!r} sends e-mail through {path}, which delivers nothing "
                "(EMAIL_URL is unset, empty or a console, locmem or dummy URL).",
                hint="Set EMAIL_URL to your mail server, e.g. "
                "smtp+tls://user:password@smtp.example.com:587.",
                id="verify_channels.E011",
            )
        ]
    return []
