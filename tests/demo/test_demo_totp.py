"""The demo login site in Chromium: an authenticator app, recovery codes and turning 2-step
verification off, end to end through the official SDK against the live platform.

TOTP codes come from pyotp with the secret the page shows as text. Every code is used once
(the platform never accepts a time step twice), so the journey takes the previous step's
code to enrol, the current one to sign in and the next one to turn 2FA off: three distinct
steps. The test's Service accepts two steps either side (`TotpSkew=2`), so a step boundary
passing between computing a code and the server checking it never fails the journey.
"""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import Page

from factors.models import Factor
from tests.demo.browser import Journey, alerts, shot
from tests.demo.steps import (
    enter_code,
    field_is_described,
    password_step,
    recovery_codes_saved,
    sign_out,
    sign_up,
)

pytestmark = pytest.mark.django_db(transaction=True)


def code_at(secret: str, offset: int) -> str:
    return pyotp.TOTP(secret).at(time.time(), counter_offset=offset)


def test_authenticator_app_recovery_codes_and_turning_off(browser, site, customer):
    customer.sdk.services(customer.service_sid).update(totp_skew=2)
    j = Journey(browser, "totp")
    url = site.url
    sign_up(j, url, "alice")

    def start_app(page: Page) -> dict:
        page.get_by_role("link", name="Add an authenticator app").click()
        shot(j, page, "app-name")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector("svg.qr")
        shot(j, page, "app-qr")
        return {
            "secret": page.inner_text("#totp-secret"),
            "qr_title": page.locator("svg.qr title").text_content(),
            "external": page.evaluate(
                "() => performance.getEntriesByType('resource')"
                ".map(e => e.name).filter(n => !n.startsWith(location.origin))"
            ),
        }

    seen = j.do(start_app)
    secret = seen["secret"]
    assert len(secret) >= 16 and secret.isalnum()
    assert seen["qr_title"] == "QR code"
    assert seen["external"] == []  # nothing fetched from anywhere but the site

    # A wrong code is announced, on the field.
    errors = enter_code(j, "Code", "000000", "Turn on", "app-wrong-code")
    assert any("did not work" in e for e in errors), errors
    described = j.do(lambda page: field_is_described(page, "Code"))
    assert described["invalid"] == "true"
    assert any("did not work" in t for t in described["described_by"])
    assert "alert" in described["alert"]

    errors = enter_code(j, "Code", code_at(secret, -1), "Turn on", "app-confirmed")
    assert errors == []
    codes = recovery_codes_saved(j, url)
    assert len(codes) == 10

    def account_on(page: Page) -> list[str]:
        assert page.inner_text("#twofa-status") == "on"
        shot(j, page, "account-2fa-on")
        return page.locator("ul.factors li").all_inner_texts()

    assert any("Authenticator app" in f for f in j.do(account_on))
    factor = Factor.objects.get(service_id=customer.service_sid, factor_type="totp")
    assert factor.status == "verified"

    # Password, then the authenticator app's code.
    sign_out(j)
    password_step(j, url, "alice", expect="/login/second-step/")

    def choose_app(page: Page) -> None:
        assert page.get_by_role("heading", name="Authenticator app").is_visible()
        page.get_by_role("link", name="Enter a code from my app").click()
        page.wait_for_url("**/login/code/*/")
        shot(j, page, "second-step-app")

    j.do(choose_app)
    assert enter_code(j, "Code", code_at(secret, 0), "Confirm", "signed-in-with-app") == []
    assert j.do(lambda page: page.url) == f"{url}/account/"

    # Password, then a recovery code; the same code never works twice.
    sign_out(j)
    password_step(j, url, "alice", expect="/login/second-step/")
    j.do(lambda page: page.get_by_role("link", name="Use a recovery code").click())
    errors = enter_code(j, "Recovery code", codes[0], "Sign in", "signed-in-with-recovery-code")
    assert errors == []

    def recovery_left(page: Page) -> str:
        assert page.url == f"{url}/account/"
        return page.get_by_role("status").filter(has_text="recovery code").inner_text()

    assert "9 codes are left" in j.do(recovery_left)
    sign_out(j)
    password_step(j, url, "alice", expect="/login/second-step/")
    j.do(lambda page: page.get_by_role("link", name="Use a recovery code").click())
    errors = enter_code(j, "Recovery code", codes[0], "Sign in", "recovery-code-reused")
    assert any("did not work" in e for e in errors)
    errors = enter_code(j, "Recovery code", codes[1], "Sign in", "signed-in-with-code-2")
    assert errors == []

    # Turning 2FA off takes a current code; afterwards the password alone signs in.
    def open_turn_off(page: Page) -> None:
        page.get_by_role("link", name="Turn it off").click()
        shot(j, page, "turn-off")

    j.do(open_turn_off)
    errors = enter_code(j, "Current code or recovery code", "123456", "Turn off", "turn-off-wrong")
    assert any("did not work" in e for e in errors)
    code = code_at(secret, 1)
    errors = enter_code(j, "Current code or recovery code", code, "Turn off", "turned-off")
    assert errors == []
    assert j.do(lambda page: page.inner_text("#twofa-status")) == "off"
    assert not Factor.objects.filter(service_id=customer.service_sid).exists()
    sign_out(j)
    password_step(j, url, "alice", expect="/account/")
    j.close()


def test_sign_in_page_errors_are_announced(browser, site):
    """A wrong password: the error is an alert, and the page still fits a phone."""
    j = Journey(browser, "sign-in-errors")

    def steps(page: Page) -> list[str]:
        page.goto(f"{site.url}/login/")
        page.get_by_label("Username").fill("nobody")
        page.get_by_label("Password", exact=True).fill("wrong password")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
        shot(j, page, "wrong-password")
        return alerts(page)

    errors = j.do(steps)
    assert any("correct username and password" in e for e in errors)
    j.close()
