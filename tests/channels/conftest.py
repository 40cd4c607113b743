from __future__ import annotations

import pytest

from tests.channels.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, fake_twilio  # noqa: F401
from tests.channels.helpers import FROM_NUMBER, WHATSAPP_FROM


@pytest.fixture(autouse=True)
def _clean_locmem():
    from channels.adapters import locmem

    locmem.reset()
    yield
    locmem.reset()


@pytest.fixture
def twilio_options(fake_twilio) -> dict:  # noqa: F811  (the imported fixture)
    """Options of a twilio adapter pointed at the local fake server."""
    return {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM_NUMBER,
        "whatsapp_from": WHATSAPP_FROM,
        "base_url": fake_twilio.url,
        "timeout": 5,
    }
