"""The voice callback of a call that waits for a key press: signed like a status callback, it
reads the code only after a key press and only for a message the engine still hands out."""

from __future__ import annotations

import dataclasses
import logging
import xml.etree.ElementTree as ET
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from channels.base import OutboundMessage
from channels.locales import TEXTS
from channels.templates import render
from tests.channels.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.channels.helpers import ATTEMPT_SID, FROM_NUMBER, message

PATH = "/channels/twilio/voice"
FORM = "application/x-www-form-urlencoded"
CALL_SID = "CA" + "f6" * 16
asked: list[str] = []
answers: dict[str, OutboundMessage | None] = {}


def spoken(*, attempt_sid: str) -> OutboundMessage | None:
    asked.append(attempt_sid)
    return answers.get(attempt_sid)


def broken(*, attempt_sid: str) -> OutboundMessage | None:
    raise RuntimeError("handler bug")


@pytest.fixture(autouse=True)
def _configured(settings):
    settings.VERIFY_CHANNELS = {
        "call": {
            "BACKEND": "twilio",
            "OPTIONS": {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": FROM_NUMBER,
            },
        },
    }
    settings.VERIFY_VOICE_CODE_HANDLER = spoken
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = None
    asked.clear()
    answers.clear()
    answers[ATTEMPT_SID] = message(
        channel="call", code="908172", locale="de", dtmf_input_required=True
    )
    yield
    asked.clear()
    answers.clear()


def press(
    digits: str | None = "1",
    *,
    query: dict[str, str] | None = None,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
):
    params = {"AccountSid": ACCOUNT_SID, "CallSid": CALL_SID, "CallStatus": "in-progress"}
    if digits is not None:
        params["Digits"] = digits
    query_string = urlencode(query if query is not None else {"attempt": ATTEMPT_SID})
    url = signed_url or f"http://testserver{PATH}?{query_string}"
    signature = RequestValidator(token).compute_signature(url, params)
    return Client().post(
        f"{PATH}?{query_string}",
        urlencode(params),
        content_type=FORM,
        headers={"X-Twilio-Signature": signature},
    )


def spoken_texts(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    return [e.text or "" for e in root.iter("Say")]


def hangs_up(response) -> bool:
    return ET.fromstring(response.content).find("Hangup") is not None


def test_a_key_press_reads_the_code():
    response = press("5")
    said = spoken_texts(response)
    assert said.count("9, 0, 8, 1, 7, 2.") == 2
    assert TEXTS["de"].voice_intro.format(service="Acme Login") in said
    assert ET.fromstring(response.content).find("Gather") is None  # no second prompt
    assert asked == [ATTEMPT_SID]


def test_no_key_says_goodbye_without_asking_the_engine():
    response = press(None, query={"attempt": ATTEMPT_SID, "locale": "de"})
    assert spoken_texts(response) == [TEXTS["de"].voice_goodbye]
    assert hangs_up(response)
    assert asked == []


def test_an_ended_attempt_says_goodbye():
    answers[ATTEMPT_SID] = None
    response = press("1")
    assert spoken_texts(response) == [TEXTS["en"].voice_goodbye]
    assert b"9, 0, 8" not in response.content
    assert asked == [ATTEMPT_SID]


@pytest.mark.parametrize(
    "other",
    [
        {"channel": "sms"},
        {"attempt_sid": "VL" + "9" * 32},
    ],
)
def test_a_message_for_something_else_is_not_read(other):
    answers[ATTEMPT_SID] = dataclasses.replace(answers[ATTEMPT_SID], **other)
    response = press("1")
    assert b"9, 0, 8" not in response.content
    assert hangs_up(response)


def test_bad_signature_is_refused():
    response = press("1", token="not-the-token")
    assert response.status_code == 403
    assert response.json()["code"] == 20403
    assert asked == []


def test_signature_over_the_public_base_url(settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com"
    public = f"https://verify.example.com{PATH}?attempt={ATTEMPT_SID}"
    assert b"9, 0, 8" in press("1", signed_url=public).content
    status_path = f"https://verify.example.com/channels/twilio/status?attempt={ATTEMPT_SID}"
    assert press("1", signed_url=status_path).status_code == 403


def test_the_gather_action_is_a_url_this_endpoint_accepts(settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com"
    rendered = render(answers[ATTEMPT_SID])
    action = ET.fromstring(rendered.twiml).find("Gather").get("action")
    parts = urlsplit(action)
    assert parts.path == PATH
    query = dict(pair.split("=", 1) for pair in parts.query.split("&"))
    assert query == {"attempt": ATTEMPT_SID, "locale": "de"}
    said = spoken_texts(press("1", query=query, signed_url=action))
    assert said.count("9, 0, 8, 1, 7, 2.") == 2


def test_a_failing_handler_says_goodbye(settings, caplog):
    settings.VERIFY_VOICE_CODE_HANDLER = broken
    with caplog.at_level(logging.ERROR, logger="channels.views"):
        response = press("1")
    assert spoken_texts(response) == [TEXTS["en"].voice_goodbye]
    assert "voice code handler failed" in caplog.text


def test_no_handler_says_goodbye(settings):
    settings.VERIFY_VOICE_CODE_HANDLER = None
    response = press("1")
    assert spoken_texts(response) == [TEXTS["en"].voice_goodbye]


def test_handler_by_dotted_path(settings):
    settings.VERIFY_VOICE_CODE_HANDLER = "tests.channels.test_voice_callback.spoken"
    assert b"9, 0, 8" in press("1").content


@pytest.mark.parametrize("attempt", ["", "VL/../x", "V" * 80])
def test_bad_attempt_is_refused(attempt):
    response = press("1", query={"attempt": attempt})
    assert response.status_code == 400
    assert asked == []


def test_only_post():
    assert Client().get(f"{PATH}?attempt={ATTEMPT_SID}").status_code == 405
