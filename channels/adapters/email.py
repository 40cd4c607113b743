"""Email codes through Django's mail framework (whatever EMAIL_BACKEND is configured).

Built on `EmailMultiAlternatives` rather than the `send_mail` shortcut so the message carries
its own Message-ID (returned as the provider id) and an HTML part. SMTP answers are mapped the
way mail servers mean them: a 5xx reply is permanent, a 4xx reply or a network failure is
temporary.

A verification may choose its sender (ChannelConfiguration `from` and `from_name`): the
address only when `VERIFY_EMAIL_ALLOWED_FROM` allows it (`from_allowed`, which the API asks
at start), the display name cleaned to one header-safe line. `template_id` and
`substitutions` name an external template engine, which this adapter does not have; the API
refuses `template_id`, and `substitutions` without it change nothing.
"""

from __future__ import annotations

import logging
import smtplib
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.core.validators import validate_email

from channels.base import (
    BaseChannelAdapter,
    Channel,
    ChannelOutcomeUnknownError,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
)
from channels.templates import clean_value, render_email

DEFAULT_TIMEOUT = 10.0
FROM_NAME_MAX = 64

logger = logging.getLogger(__name__)


def from_allowed(address: object) -> bool:
    """Whether a verification may send from `address`: a plain e-mail address listed in
    `VERIFY_EMAIL_ALLOWED_FROM`, itself or by its domain (an `@example.com` entry). The list
    is empty by default, and then no address is allowed: a sender is the deployment's
    reputation, so which ones callers may use is the operator's decision."""
    if not isinstance(address, str) or len(address) > 254:
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    allowed = getattr(settings, "VERIFY_EMAIL_ALLOWED_FROM", None) or ()
    if isinstance(allowed, str):
        allowed = (allowed,)
    lowered = address.lower()
    domain = "@" + lowered.rsplit("@", 1)[1]
    return any(str(entry).strip().lower() in (lowered, domain) for entry in allowed)


def clean_from_name(value: object) -> str:
    """A display name fit for a From header: one line without control characters (so no
    header can be added through it), no encoded-word markers, bounded."""
    name = " ".join(clean_value(value if isinstance(value, str) else "").split())
    while "=?" in name:
        name = name.replace("=?", "")
    return name[:FROM_NAME_MAX].strip()


class EmailAdapter(BaseChannelAdapter):
    name = "email"
    option_names = frozenset({"from_email", "backend", "timeout", "html"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.from_email = options.get("from_email") or settings.DEFAULT_FROM_EMAIL
        try:
            validate_email(_address_part(self.from_email))
        except (ValidationError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"email channel adapter: from_email {self.from_email!r} is not an address"
            ) from exc
        self.backend = options.get("backend") or None
        self.timeout = _positive_number(options.get("timeout"), DEFAULT_TIMEOUT, "timeout")
        self.html = bool(options.get("html", True))

    def channel_problem(self, channel: str) -> str | None:
        """Read by the system check: this adapter serves the email channel only."""
        return None if channel == Channel.EMAIL else f"the email adapter does not send {channel!r}"

    def send(self, message: OutboundMessage) -> SendResult:
        problem = self.channel_problem(message.channel)
        if problem:
            raise ChannelPermanentError(problem)
        try:
            validate_email(message.to)
        except ValidationError as exc:
            raise ChannelPermanentError(f"not an email address: {message.to!r}") from exc
        rendered = render_email(message)
        sender = self.sender(message)
        message_id = make_msgid(domain=_domain(sender))
        email = EmailMultiAlternatives(
            subject=rendered.subject or "",
            body=rendered.body,
            from_email=sender,
            to=[message.to],
            headers={"Message-ID": message_id, "X-Verify-Attempt": message.attempt_sid},
            connection=get_connection(self.backend, timeout=self.timeout),
        )
        if self.html and rendered.html:
            email.attach_alternative(rendered.html, "text/html")
        try:
            sent = email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(400 <= int(code) < 500 for code in codes):
                raise ChannelTemporaryError(str(exc), code=codes[0]) from exc
            raise ChannelPermanentError(str(exc), code=codes[0] if codes else None) from exc
        except smtplib.SMTPAuthenticationError as exc:
            # Wrong credentials will not fix themselves within a verification's lifetime.
            raise ChannelPermanentError(str(exc), code=exc.smtp_code) from exc
        except smtplib.SMTPResponseException as exc:
            error = ChannelPermanentError if exc.smtp_code >= 500 else ChannelTemporaryError
            raise error(str(exc), code=exc.smtp_code) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise ChannelOutcomeUnknownError(str(exc)) from exc
        except (BadHeaderError, ValueError, UnicodeError) as exc:
            raise ChannelPermanentError(f"message refused: {exc}") from exc
        except TimeoutError as exc:
            raise ChannelOutcomeUnknownError(f"mail server timed out: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelTemporaryError(f"mail server unavailable: {exc}") from exc
        if not sent:
            raise ChannelPermanentError("the mail backend accepted no recipient")
        return SendResult(
            status=DeliveryStatus.SENT,
            provider_message_id=message_id,
            detail={"from": sender},
        )

    def sender(self, message: OutboundMessage) -> str:
        """The From of `message`: the configured sender unless the verification chose an
        allowed address or a display name (ChannelConfiguration `from`, `from_name`)."""
        config = message.channel_configuration
        if not config:
            return self.from_email
        name, address = parseaddr(self.from_email)
        requested = config.get("from")
        if requested and from_allowed(requested):
            address = requested
        elif requested:
            logger.warning(
                "email from %r is not in VERIFY_EMAIL_ALLOWED_FROM: not used", str(requested)[:80]
            )
        name = clean_from_name(config.get("from_name")) or name
        return formataddr((name, address)) if name else address


def _address_part(value: object) -> str:
    """`Name <a@b>` -> `a@b`."""
    text = str(value or "")
    if "<" in text and text.endswith(">"):
        return text.rsplit("<", 1)[1][:-1]
    return text


def _domain(from_email: str) -> str:
    return _address_part(from_email).rsplit("@", 1)[-1] or "localhost"


def _positive_number(value: object, default: float, name: str) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = -1.0
    if not 0 < number <= 300:
        raise ImproperlyConfigured(f"channel adapter option {name} must be 0 < x <= 300")
    return number
