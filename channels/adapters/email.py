"""Email codes through Django's mail framework (whatever EMAIL_BACKEND is configured).

Built on `EmailMultiAlternatives` rather than the `send_mail` shortcut so the message carries
its own Message-ID (returned as the provider id) and an HTML part. SMTP answers are mapped the
way mail servers mean them: a 5xx reply is permanent, a 4xx reply or a network failure is
temporary.
"""

from __future__ import annotations

import smtplib
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
from channels.templates import render_email

DEFAULT_TIMEOUT = 10.0


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
        message_id = make_msgid(domain=_domain(self.from_email))
        email = EmailMultiAlternatives(
            subject=rendered.subject or "",
            body=rendered.body,
            from_email=self.from_email,
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
            detail={"from": self.from_email},
        )


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
