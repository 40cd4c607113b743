"""The message a send hands its adapter: the code and the wording the start chose
(`Verification.options`: template, PSD2 transaction, voice options, e-mail sender), and the
Messaging Service the destination's country sends from.

What costs a query is read only when it applies: the template's translation when the start
chose one, the Messaging Service only for an SMS through an adapter that sends from one
(`BaseChannelAdapter.uses_messaging_service`). A plain start reads nothing more."""

from __future__ import annotations

import logging

from challenges.domain.engine import Owner, destination_of
from challenges.models import LIFETIME_SECONDS, DeliveryAttempt, FactorCode, Verification
from channels import registry
from channels.base import OutboundMessage
from channels.status import default_status_callback_url
from services import messaging_queries, template_queries
from services.models import Service
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.phones import region_of

logger = logging.getLogger("challenges.delivery")


def message_for(owner: Owner, *, attempt_sid: str, channel: str) -> OutboundMessage:
    """What to send for one attempt of `owner` (a Verification or a FactorCode) on
    `channel`. `owner.service` carries the service's name, account and warning flag."""
    service = owner.service
    to = destination_of(owner)
    options = owner.options if isinstance(owner, Verification) else {}
    voice = channel == "call"
    return OutboundMessage(
        channel=channel,
        to=to,
        code=crypto.decrypt(owner.code_sealed),
        service_name=getattr(owner, "custom_friendly_name", None) or service.friendly_name,
        attempt_sid=attempt_sid,
        locale=owner.locale,
        lifetime_minutes=LIFETIME_SECONDS // 60,
        do_not_share_warning=service.do_not_share_warning_enabled,
        app_hash=owner.app_hash,
        status_callback_url=default_status_callback_url(attempt_sid),
        template_text=_template_text(service.account_id, options, owner.locale, channel),
        substitutions=options.get("substitutions", {}),
        amount=getattr(owner, "amount", None),
        payee=getattr(owner, "payee", None),
        send_digits=options.get("send_digits") if voice else None,
        dtmf_input_required=bool(options.get("dtmf")) if voice else False,
        tts_voice=options.get("tts_name") if voice else None,
        messaging_service_sid=_messaging_service(service, channel, to),
        whatsapp_from=service.whatsapp_from if channel == "whatsapp" else None,
        channel_configuration=options.get("channel_configuration", {})
        if channel == "email"
        else {},
    )


def _template_text(account_id: str, options: dict, locale: str, channel: str) -> str | None:
    """The approved translation of the start's template for `locale`. A template withdrawn
    since the start (deleted, translation no longer approved) falls back to the built-in
    wording: the user still gets the code, and the operator a warning in the log."""
    sid = options.get("template_sid")
    if not sid or channel not in ("sms", "call"):
        return None
    template = template_queries.visible_template(account_id=account_id, sid=sid)
    if template is not None and not template.supports(channel):
        return None  # a step on a channel the template is not for: the built-in wording
    translation = template.translation_for(locale) if template is not None else None
    if translation is None:
        logger.warning("template %s has no approved translation for %s any more", sid, locale)
        return None
    return translation.text


def _messaging_service(service: Service, channel: str, to: str) -> str | None:
    """WhatsApp: the Service's own WhatsApp Messaging Service. SMS: the one configured for
    the destination's country, read only for an adapter that sends through one."""
    if channel == "whatsapp":
        return service.whatsapp_msg_service_sid or None
    if channel != "sms" or not registry.get_adapter(channel).uses_messaging_service:
        return None
    return messaging_queries.messaging_service_for(service_id=service.sid, region=region_of(to))


def message_for_attempt(attempt_sid: str) -> OutboundMessage | None:
    """The message of a call attempt whose verification (or factor code) is still pending and
    unexpired, for the voice callback that reads the code after the callee pressed a key;
    None otherwise (the code is then never spoken)."""
    attempt = (
        DeliveryAttempt.objects.select_related("verification__service", "factor_code__service")
        .filter(sid=attempt_sid, channel="call")
        .first()
    )
    if attempt is None:
        return None
    owner: Verification | FactorCode | None = attempt.verification or attempt.factor_code
    if owner is None or owner.status != "pending" or owner.expires_at <= current_time():
        return None
    return message_for(owner, attempt_sid=attempt.sid, channel="call")
