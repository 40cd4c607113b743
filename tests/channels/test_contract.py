"""One contract, every adapter: what the engine may rely on whichever adapter is configured."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from channels.adapters import locmem
from channels.adapters.console import ConsoleAdapter
from channels.adapters.email import EmailAdapter
from channels.adapters.filebased import FileBasedAdapter
from channels.adapters.locmem import LocmemAdapter
from channels.adapters.twilio import TwilioAdapter
from channels.base import (
    BaseChannelAdapter,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    SendResult,
)
from tests.channels.helpers import message


@dataclass
class Case:
    adapter: BaseChannelAdapter
    channels: tuple[str, ...]
    state: Any = None

    def delivered(self) -> list[str]:
        """Every text that reached the destination so far, oldest first."""
        raise NotImplementedError


class ConsoleCase(Case):
    def delivered(self) -> list[str]:
        out = self.state.getvalue()
        return [chunk for chunk in re.split(r"^--- ", out, flags=re.MULTILINE) if chunk.strip()]


class LocmemCase(Case):
    def delivered(self) -> list[str]:
        from channels.templates import render

        return [render(m).body for m in locmem.outbox]


class FileCase(Case):
    def delivered(self) -> list[str]:
        files = sorted(Path(self.state).glob("*.json"))
        return [json.loads(f.read_text())["body"] for f in files]


class EmailCase(Case):
    def delivered(self) -> list[str]:
        return [m.body for m in mail.outbox]


class TwilioCase(Case):
    def delivered(self) -> list[str]:
        texts = []
        for r in self.state.requests:
            texts.append(r.value("Body") if r.resource == "Messages" else r.value("Twiml"))
        return texts


ALL = ("sms", "whatsapp", "call", "email")


def build(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Case:
    if kind == "console":
        stream = io.StringIO()
        return ConsoleCase(ConsoleAdapter(stream=stream), ALL, stream)
    if kind == "locmem":
        return LocmemCase(LocmemAdapter(), ALL)
    if kind == "filebased":
        return FileCase(FileBasedAdapter(path=str(tmp_path / "out")), ALL, tmp_path / "out")
    if kind == "email":
        return EmailCase(EmailAdapter(from_email="codes@example.com"), ("email",))
    fake = request.getfixturevalue("fake_twilio")
    options = request.getfixturevalue("twilio_options")
    return TwilioCase(TwilioAdapter(**options), ("sms", "whatsapp", "call"), fake)


KINDS = ["console", "locmem", "filebased", "email", "twilio"]


def to_for(channel: str) -> str:
    return "user@example.com" if channel == "email" else "+14155550100"


@pytest.mark.parametrize("kind", KINDS)
def test_send_delivers_the_code_on_every_supported_channel(kind, tmp_path, request, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    case = build(kind, tmp_path, request)
    for n, channel in enumerate(case.channels):
        code = f"90817{n}"
        result = case.adapter.send(
            message(channel=channel, to=to_for(channel), code=code, attempt_sid=f"VL{n:032x}")
        )
        assert isinstance(result, SendResult)
        assert result.status in set(DeliveryStatus)
        assert result.status not in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED)
        assert isinstance(result.provider_message_id, str) and result.provider_message_id
        delivered = case.delivered()
        assert len(delivered) == n + 1
        # Voice reads digits one by one; every other channel carries the code verbatim.
        expected = ", ".join(code) if channel == "call" else code
        assert expected in delivered[-1]
        assert "Acme Login" in delivered[-1]


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_options_are_refused_at_construction(kind, tmp_path, request):
    case = build(kind, tmp_path, request)
    with pytest.raises(ImproperlyConfigured):
        type(case.adapter)(**{**case.adapter.options, "no_such_option": 1})


@pytest.mark.parametrize("kind", KINDS)
def test_errors_are_one_of_the_two_contract_errors(kind, tmp_path, request, settings):
    """A channel an adapter cannot serve, or an address it cannot use, is a permanent error:
    the engine moves on instead of retrying forever."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    case = build(kind, tmp_path, request)
    unsupported = [c for c in ALL if c not in case.channels]
    for channel in unsupported:
        with pytest.raises(ChannelPermanentError):
            case.adapter.send(message(channel=channel, to=to_for(channel)))
    if kind == "email":
        with pytest.raises(ChannelPermanentError):
            case.adapter.send(message(channel="email", to="+14155550100"))
        with pytest.raises(ChannelPermanentError):  # an address is not enough
            case.adapter.send(message(channel="sms", to="user@example.com"))
        assert mail.outbox == []
    if kind == "locmem":
        locmem.script_failures("sms", [ChannelTemporaryError("boom")])
        with pytest.raises(ChannelTemporaryError):
            case.adapter.send(message())
        assert case.adapter.send(message()).status == DeliveryStatus.SENT
    if kind in ("console", "locmem", "filebased"):
        assert unsupported == []


def test_message_repr_hides_the_code():
    assert "987654" not in repr(message(code="987654"))
