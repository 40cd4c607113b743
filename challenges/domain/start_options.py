"""What a verification start asks beyond its destination and code, judged once and kept on
the verification (`Verification.options`) so every send of it (resends, fallback steps, the
voice callback) renders the same message.

The service's voice settings and default template are copied in at start: a change to the
service applies to the next verification, never halfway through one. A plain start (no
option, a service without a default template) keeps `{}` and costs nothing here."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from channels import registry
from channels.locales import locale_for_region
from channels.template_text import BUILTIN_VARIABLES, template_variables
from services import template_queries
from services.models import Service
from verify_platform.lib.errors import InvalidParameter
from verify_platform.lib.phones import calling_region

TEMPLATE_CHANNELS = frozenset({"sms", "call"})


def start_locale(*, locale: str | None, to: str) -> str:
    """The caller's `Locale`, or the language of the number's country (as Twilio picks it;
    the main country of its calling code), or English."""
    if locale:
        return locale
    if "@" in to:
        return "en"
    region = calling_region(to)
    return (locale_for_region(region) if region else None) or "en"


def start_options(
    *,
    service: Service,
    channel: str,
    plan: list[dict[str, Any]],
    locale: str,
    template_sid: str | None = None,
    template_custom_substitutions: dict[str, str] | None = None,
    send_digits: str | None = None,
    channel_configuration: dict[str, str] | None = None,
    device_ip: str | None = None,
    risk_check: str | None = None,
    tags: dict[str, str] | None = None,
    app_hash: str | None = None,
) -> dict[str, Any]:
    """The verification's `options`; raises InvalidParameter (400/60200) for a template the
    account cannot use, variables it leaves without a value, or an option for a channel the
    plan never sends on (`auto` follows the service's fallback plan)."""
    channels = {step["channel"] for step in plan}
    for name, value, needed in (
        ("SendDigits", send_digits, "call"),
        ("AppHash", app_hash, "sms"),
        ("RiskCheck", risk_check, "sms"),
    ):
        if value and needed not in channels:
            raise InvalidParameter(name, f"this verification sends no {needed}")
    options: dict[str, Any] = {}
    template = _template(service, channels, locale, template_sid, template_custom_substitutions)
    if template is not None:
        options["template_sid"] = template
        if template_custom_substitutions:
            options["substitutions"] = template_custom_substitutions
    if "call" in channels:
        options.update(_voice(service, send_digits, explicit=channel == "call"))
    for name, value in (
        ("channel_configuration", channel_configuration),
        ("device_ip", device_ip),
        ("tags", tags),
    ):
        if value:
            options[name] = value
    if risk_check == "disable":
        options["risk_check"] = "disable"
    return options


def _voice(service: Service, send_digits: str | None, *, explicit: bool) -> dict[str, Any]:
    """The service's voice settings for the call steps. A call that waits for a key press
    (DtmfInputRequired, Twilio's default) through a provider that must then call back needs
    `VERIFY_STATUS_CALLBACK_BASE_URL`: a start on the call channel is refused without it (a
    call step of a fallback plan fails on its own, with that reason, and the plan moves on)."""
    voice: dict[str, Any] = {}
    if send_digits:
        voice["send_digits"] = send_digits
    if service.dtmf_input_required:
        if (
            explicit
            and registry.get_adapter("call").key_press_needs_callback
            and not getattr(settings, "VERIFY_STATUS_CALLBACK_BASE_URL", None)
        ):
            raise InvalidParameter(
                "DtmfInputRequired",
                "a call that waits for a key press needs VERIFY_STATUS_CALLBACK_BASE_URL; "
                "set the service's DtmfInputRequired=false to read the code at once",
            )
        voice["dtmf"] = True
    if service.tts_name:
        voice["tts_name"] = service.tts_name
    return voice


def _template(
    service: Service,
    channels: set[str],
    locale: str,
    template_sid: str | None,
    substitutions: dict[str, str] | None,
) -> str | None:
    """The template this start's sms and call steps use: `TemplateSid`, else the service's
    `DefaultTemplateSid` (None: the built-in wording). Every variable of the translation the
    locale selects needs a value, so a send never fails for a missing one."""
    wanted = template_sid or service.default_template_sid
    if not wanted or not channels & TEMPLATE_CHANNELS:
        if substitutions:
            raise InvalidParameter("TemplateCustomSubstitutions", "no template applies")
        return None
    template = template_queries.visible_template(account_id=service.account_id, sid=wanted)
    param = "TemplateSid" if template_sid else "DefaultTemplateSid"
    if template is None:
        raise InvalidParameter(param, "no template with this SID is available to the account")
    if not any(template.supports(channel) for channel in channels & TEMPLATE_CHANNELS):
        if not template_sid:
            return None  # the service's default is for other channels: the built-in wording
        raise InvalidParameter(param, "the template does not support this channel")
    translation = template.translation_for(locale)
    if translation is None:
        raise InvalidParameter(param, f"the template has no approved translation for {locale}")
    needed = template_variables(translation.text) - BUILTIN_VARIABLES
    missing = sorted(needed - set(substitutions or {}))
    if missing:
        raise InvalidParameter("TemplateCustomSubstitutions", f"no value for {', '.join(missing)}")
    return template.sid
