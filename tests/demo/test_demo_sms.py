"""The demo login site in Chromium with text messages: turning on SMS codes, signing in with
one and turning 2-step verification off with one. A real Celery worker sends the codes with
the file outbox channel (tests/file_adapter.py); the test reads each code from its file."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from factors.models import Factor
from tests.demo.browser import Journey, alerts, shot
from tests.demo.steps import enter_code, password_step, recovery_codes_saved, sign_out, sign_up
from tests.worker import messages, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
NUMBER = "+447911123456"


class Inbox:
    """The phone: each new message's code, once."""

    def __init__(self, folder) -> None:
        self.folder = folder
        self.seen = {m["attempt_sid"] for m in messages(folder)}

    def next_code(self) -> str:
        def fresh():
            new = [m for m in messages(self.folder) if m["attempt_sid"] not in self.seen]
            return new[0] if new else None

        message = wait_for(fresh, timeout=20, what="a text message")
        self.seen.add(message["attempt_sid"])
        assert message["to"] == NUMBER and message["channel"] == "sms"
        return message["code"]


def test_text_message_sign_in_and_turning_off(browser, site, customer, worker, outbox):
    phone = Inbox(outbox)
    j = Journey(browser, "sms")
    url = site.url
    sign_up(j, url, "bob")

    def add_phone(page: Page) -> list[str]:
        page.get_by_role("link", name="Add a phone number (SMS)").click()
        page.get_by_label("Mobile number").fill("07911 123456")
        page.get_by_role("button", name="Text me a code").click()
        page.wait_for_load_state()
        shot(j, page, "phone-invalid")
        return alerts(page)

    assert any("country code" in e for e in j.do(add_phone))
    j.do(lambda page: page.get_by_label("Mobile number").fill(NUMBER))
    assert enter_code(j, "Mobile number", NUMBER, "Text me a code", "phone-code-sent") == []
    assert j.do(lambda page: page.url) == f"{url}/account/sms/confirm/"
    assert enter_code(j, "Code", phone.next_code(), "Turn on", "phone-confirmed") == []
    codes = recovery_codes_saved(j, url)
    assert len(codes) == 10
    factor = Factor.objects.get(service_id=customer.service_sid, factor_type="sms")
    assert factor.status == "verified"

    def account(page: Page) -> str:
        shot(j, page, "account-sms-on")
        return page.locator("ul.factors").inner_text()

    listed = j.do(account)
    assert "Text message (SMS)" in listed
    assert NUMBER not in listed  # the platform shows the number masked

    sign_out(j)
    password_step(j, url, "bob", expect="/login/second-step/")

    def text_me(page: Page) -> None:
        page.get_by_role("button", name="Text me a code").click()
        page.wait_for_url("**/login/code/*/")
        shot(j, page, "second-step-sms")

    j.do(text_me)
    assert enter_code(j, "Code", phone.next_code(), "Confirm", "signed-in-with-sms") == []
    assert j.do(lambda page: page.url) == f"{url}/account/"

    def turn_off_start(page: Page) -> None:
        page.get_by_role("link", name="Turn it off").click()
        page.get_by_role("button", name="Text me a code").click()
        page.get_by_role("status").filter(has_text="We sent a code").wait_for()
        shot(j, page, "turn-off-sms")

    j.do(turn_off_start)
    label = "Current code or recovery code"
    assert enter_code(j, label, phone.next_code(), "Turn off", "turned-off") == []
    assert j.do(lambda page: page.inner_text("#twofa-status")) == "off"
    assert not Factor.objects.filter(service_id=customer.service_sid).exists()
    j.close()
