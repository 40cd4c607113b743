"""The filebased and email adapters beyond the shared contract."""

from __future__ import annotations

import json
import smtplib
import stat
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from channels.adapters.email import EmailAdapter
from channels.adapters.filebased import FileBasedAdapter
from channels.base import (
    ChannelOutcomeUnknownError,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
)
from channels.registry import get_adapter
from tests.channels import mail_backends
from tests.channels.helpers import ATTEMPT_SID, message

# -- filebased -------------------------------------------------------------------------------


def read_all(folder) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_filebased_writes_one_complete_json_document_per_message(tmp_path):
    folder = tmp_path / "outbox"
    adapter = FileBasedAdapter(path=str(folder))
    result = adapter.send(message(status_callback_url="https://x.example/cb"))
    adapter.send(message())  # same attempt again: a second file, the first is kept

    documents = read_all(folder)
    assert len(documents) == 2
    doc = documents[0]
    assert doc["channel"] == "sms"
    assert doc["to"] == "+14155550100"
    assert "123456" in doc["body"]
    assert doc["attempt_sid"] == ATTEMPT_SID
    assert doc["status_callback_url"] == "https://x.example/cb"
    created = datetime.fromisoformat(doc["created"].replace("Z", "+00:00"))
    assert created.tzinfo is not None and created <= datetime.now(UTC)
    assert result.status == DeliveryStatus.SENT
    assert result.detail["path"].endswith(".json")
    # nothing half-written left behind, and codes are private to the owner
    assert [p.name for p in folder.iterdir() if not p.name.endswith(".json")] == []
    assert list(folder.glob(".tmp-*")) == []
    mode = stat.S_IMODE(next(folder.glob("*.json")).stat().st_mode)
    assert mode & 0o077 == 0


def test_filebased_keeps_channel_specific_parts(tmp_path):
    adapter = FileBasedAdapter(path=tmp_path)
    adapter.send(message(channel="call", attempt_sid="VL1"))
    adapter.send(message(channel="email", to="a@example.com", attempt_sid="VL2"))
    call, email = sorted(read_all(tmp_path), key=lambda d: d["attempt_sid"])
    assert call["twiml"].startswith("<?xml")
    assert "1, 2, 3, 4, 5, 6." in call["body"]
    assert email["subject"] == "Your Acme Login verification code"


def test_filebased_folder_from_setting_and_registry_reset(settings, tmp_path):
    settings.VERIFY_CHANNELS = {"sms": {"BACKEND": "filebased", "OPTIONS": {}}}
    settings.VERIFY_FILEBASED_DIR = str(tmp_path / "a")
    get_adapter("sms").send(message())
    settings.VERIFY_FILEBASED_DIR = str(tmp_path / "b")
    get_adapter("sms").send(message())
    assert len(read_all(tmp_path / "a")) == len(read_all(tmp_path / "b")) == 1


def test_filebased_folder_from_environment(settings, tmp_path, monkeypatch):
    settings.VERIFY_FILEBASED_DIR = None
    monkeypatch.setenv("VERIFY_FILEBASED_DIR", str(tmp_path))
    FileBasedAdapter().send(message())
    assert len(read_all(tmp_path)) == 1


def test_filebased_needs_a_folder(settings, tmp_path, monkeypatch):
    settings.VERIFY_FILEBASED_DIR = None
    monkeypatch.delenv("VERIFY_FILEBASED_DIR", raising=False)
    with pytest.raises(ImproperlyConfigured):
        FileBasedAdapter()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ImproperlyConfigured):
        FileBasedAdapter(path=str(a_file))


def test_filebased_write_failure_is_temporary(tmp_path):
    blocker = tmp_path / "blocker"
    adapter = FileBasedAdapter(path=str(blocker / "sub"))
    blocker.write_text("a file where a folder must go")
    with pytest.raises(ChannelTemporaryError):
        adapter.send(message())


# -- email -----------------------------------------------------------------------------------


@pytest.fixture
def scripted_mail(settings):
    settings.EMAIL_BACKEND = "tests.channels.mail_backends.ScriptedBackend"
    mail_backends.failure = None
    mail_backends.sent_count = None
    mail_backends.connections.clear()
    yield mail_backends
    mail_backends.failure = None
    mail_backends.sent_count = None


def test_email_through_django_mail(mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Acme <codes@acme.example>"
    result = EmailAdapter().send(
        message(channel="email", to="user@example.com", locale="es", do_not_share_warning=True)
    )
    (sent,) = mailoutbox
    assert sent.from_email == "Acme <codes@acme.example>"
    assert sent.to == ["user@example.com"]
    assert sent.subject == "Tu código de verificación de Acme Login"
    assert "123456" in sent.body
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html" and "<strong>123456</strong>" in html
    assert sent.extra_headers["Message-ID"] == result.provider_message_id
    assert result.provider_message_id.endswith("@acme.example>")
    assert sent.extra_headers["X-Verify-Attempt"] == ATTEMPT_SID
    assert result.status == DeliveryStatus.SENT


def test_email_options(mailoutbox):
    EmailAdapter(from_email="otp@example.com", html=False).send(
        message(channel="email", to="user@example.com")
    )
    (sent,) = mailoutbox
    assert sent.from_email == "otp@example.com"
    assert sent.alternatives == []


@pytest.mark.parametrize(
    "options",
    [{"from_email": "not an address"}, {"timeout": 0}, {"timeout": "x"}, {"sender": "a@b.c"}],
)
def test_email_bad_options(options):
    with pytest.raises(ImproperlyConfigured):
        EmailAdapter(**options)


def test_email_connection_has_a_timeout(scripted_mail):
    EmailAdapter(timeout=3).send(message(channel="email", to="user@example.com"))
    assert scripted_mail.connections == [{"timeout": 3.0}]


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            smtplib.SMTPRecipientsRefused({"u@example.com": (550, b"no such user")}),
            ChannelPermanentError,
        ),
        (
            smtplib.SMTPRecipientsRefused({"u@example.com": (450, b"mailbox busy")}),
            ChannelTemporaryError,
        ),
        (smtplib.SMTPDataError(554, b"rejected"), ChannelPermanentError),
        (smtplib.SMTPDataError(451, b"try later"), ChannelTemporaryError),
        (smtplib.SMTPSenderRefused(553, b"sender refused", "a@b.c"), ChannelPermanentError),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), ChannelPermanentError),
        (smtplib.SMTPConnectError(421, b"too busy"), ChannelTemporaryError),
        (ConnectionRefusedError(111, "refused"), ChannelTemporaryError),
        (smtplib.SMTPServerDisconnected("gone"), ChannelOutcomeUnknownError),
        (TimeoutError("timed out"), ChannelOutcomeUnknownError),
    ],
)
def test_email_errors_are_mapped(scripted_mail, failure, expected):
    scripted_mail.failure = failure
    with pytest.raises(expected) as caught:
        EmailAdapter().send(message(channel="email", to="user@example.com"))
    assert type(caught.value) is expected


def test_email_nobody_accepted_is_permanent(scripted_mail):
    scripted_mail.sent_count = 0
    with pytest.raises(ChannelPermanentError):
        EmailAdapter().send(message(channel="email", to="user@example.com"))
