"""`challenges.domain.voice.spoken_message`, the engine's VERIFY_VOICE_CODE_HANDLER: it hands
the voice callback a message only for a call that waited for a key press."""

from __future__ import annotations

import pytest

from challenges.domain import voice
from channels.status import get_voice_code_handler
from tests.channels.helpers import ATTEMPT_SID, message


@pytest.fixture
def built(monkeypatch):
    """What the engine's `message_for_attempt` returns, per attempt."""
    answers: dict = {}
    monkeypatch.setattr(voice, "message_for_attempt", lambda sid: answers.get(sid))
    return answers


def test_a_call_waiting_for_a_key_is_read(built):
    built[ATTEMPT_SID] = message(channel="call", dtmf_input_required=True)
    assert voice.spoken_message(attempt_sid=ATTEMPT_SID) is built[ATTEMPT_SID]


def test_a_call_that_read_its_code_at_once_is_not_read_again(built):
    built[ATTEMPT_SID] = message(channel="call", dtmf_input_required=False)
    assert voice.spoken_message(attempt_sid=ATTEMPT_SID) is None


def test_an_attempt_no_longer_pending_is_not_read(built):
    assert voice.spoken_message(attempt_sid=ATTEMPT_SID) is None


def test_the_setting_names_it(settings):
    settings.VERIFY_VOICE_CODE_HANDLER = "challenges.domain.voice.spoken_message"
    assert get_voice_code_handler() is voice.spoken_message
