"""The demo login site in Chromium with passkeys: enrolment, sign-in without typing a name,
a passkey as the second step, and the answers the platform must refuse (a wrong origin, a
replayed assertion, an expired challenge, another tenant's passkey, a cloned key's counter).

Chromium's virtual authenticator (DevTools WebAuthn domain) plays the user's device; the site
reaches the platform only through the official SDK's Passkeys calls.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone
from playwright.sync_api import Page
from twilio.base.exceptions import TwilioRestException
from twilio.rest.verify.v2.service.approve_challenge import ApproveChallengeList
from twilio.rest.verify.v2.service.new_challenge import NewChallengeList

from challenges.models import Challenge
from challenges.passkey_models import PasskeyChallenge
from factors.models import Factor, PasskeyCredential
from tests.demo.browser import Journey, shot
from tests.demo.conftest import customer_for, start_site
from tests.demo.passkey_steps import (
    HeldAnswer,
    add_passkey,
    credentials,
    passkey_sign_in,
    put_back,
    refused_sign_in,
)
from tests.demo.steps import enter_code, password_step, recovery_codes_saved, sign_out, sign_up

pytestmark = pytest.mark.django_db(transaction=True)


def signed_out(j: Journey, site_url: str) -> bool:
    """Whether the browser is still signed out (the account page sends it to sign in)."""

    def steps(page: Page) -> bool:
        page.goto(f"{site_url}/account/")
        return page.url.startswith(f"{site_url}/login/")

    return j.do(steps)


def test_passkey_enrolment_and_sign_in(browser, site, customer):
    j = Journey(browser, "passkeys", passkeys=True)
    url = site.url
    sign_up(j, url, "carol")
    add_passkey(j, url)
    assert len(recovery_codes_saved(j, url)) == 10
    factor = Factor.objects.get(service_id=customer.service_sid, factor_type="passkeys")
    assert factor.status == "verified"
    [held] = credentials(j)
    assert held["isResidentCredential"] and held["rpId"] == "localhost"

    def account(page: Page) -> str:
        shot(j, page, "account-passkey-on")
        return page.locator("ul.factors").inner_text()

    assert "Passkey" in j.do(account)

    # Without a name: the browser offers the passkey, the platform says whose it is.
    sign_out(j)

    def sign_in_page(page: Page) -> None:
        page.goto(f"{url}/login/")
        shot(j, page, "sign-in")

    j.do(sign_in_page)
    body = json.loads(
        passkey_sign_in(j, url, "signed-in-usernameless", button="Sign in with a passkey")
    )
    assert body["response"]["userHandle"]  # a discoverable credential names its user
    approved = Challenge.objects.get(service_id=customer.service_sid, factor=factor)
    assert approved.status == "approved"

    # A second method: the second step then offers both, passkey first.
    def add_app(page: Page) -> str:
        page.get_by_role("link", name="Add an authenticator app").click()
        page.get_by_role("button", name="Continue").click()
        return page.inner_text("#totp-secret")

    secret = j.do(add_app)
    code = pyotp.TOTP(secret).now()
    assert enter_code(j, "Code", code, "Turn on", "app-added") == []
    assert j.do(lambda page: page.url) == f"{url}/account/"  # recovery codes exist already

    # Password, then the passkey, chosen as the second step.
    sign_out(j)
    password_step(j, url, "carol", expect="/login/second-step/")
    choices = j.do(lambda page: page.locator("ul.choices h2").all_inner_texts())
    assert choices == ["Passkey", "Authenticator app"]
    passkey_sign_in(j, url, "signed-in-second-step", button="Use my passkey")
    assert Challenge.objects.filter(factor=factor, status="approved").count() == 2
    j.close()


def test_passkey_answers_the_platform_refuses(browser, live_server, site, customer, tmp_path):
    j = Journey(browser, "passkey-refusals", passkeys=True)
    url = site.url
    sign_up(j, url, "dave")
    add_passkey(j, url)
    recovery_codes_saved(j, url)
    factor = Factor.objects.get(service_id=customer.service_sid, factor_type="passkeys")
    [snapshot] = credentials(j)  # the key as it was at registration
    sign_out(j)
    answer = passkey_sign_in(j, url, "signed-in", button="Sign in with a passkey")
    sign_out(j)
    service = customer.sdk.services(customer.service_sid)

    # A replayed assertion: sent again by the page in place of a fresh one, and again
    # straight to the platform through the SDK.
    alert = refused_sign_in(j, url, "replayed-assertion", replace=answer)
    assert "not accepted" in alert and "60322" in alert
    request = ApproveChallengeList.ApprovePasskeysChallengeRequest(json.loads(answer))
    with pytest.raises(TwilioRestException) as replayed:
        service.approve_challenge.update(request)
    assert (replayed.value.status, replayed.value.code) == (403, 60322)
    assert signed_out(j, url)

    # The site served on an origin the Service does not list.
    service.update(passkeys_relying_party_origins="http://localhost:1")
    alert = refused_sign_in(j, url, "wrong-origin")
    assert "not accepted" in alert and "60324" in alert
    service.update(passkeys_relying_party_origins=customer.origin)
    assert signed_out(j, url)

    # An answer that arrives after its challenge expired.
    held = HeldAnswer(j, url)
    past = timezone.now() - timedelta(seconds=1)
    assert PasskeyChallenge.objects.filter(
        service_id=customer.service_sid, status="pending"
    ).update(expires_at=past)
    alert = held.release("expired-challenge")
    assert "not accepted" in alert and "60323" in alert
    assert signed_out(j, url)

    # Another tenant's site (same relying party, `localhost`): the browser offers this
    # tenant's passkey, and the other tenant's platform account knows nothing of it.
    other = customer_for(live_server.url, "Other tenant")
    other_site = start_site(live_server.url, other, tmp_path / "other-site")
    try:
        alert = refused_sign_in(j, other_site.url, "another-tenants-passkey")
    finally:
        other_site.stop()
    assert "not accepted" in alert and "60324" in alert
    other_service = other.sdk.services(other.service_sid)
    request = NewChallengeList.CreatePasskeysChallengeRequest({"factor_sid": factor.sid})
    with pytest.raises(TwilioRestException) as foreign:
        other_service.new_challenge().create(request)
    assert (foreign.value.status, foreign.value.code) == (404, 20404)

    # A cloned key: the registration-time copy (an older signature counter) signs in after
    # the real one has moved on.
    [current] = credentials(j)
    assert current["signCount"] > snapshot["signCount"]
    put_back(j, snapshot)
    alert = refused_sign_in(j, url, "cloned-counter")
    assert "not accepted" in alert
    assert PasskeyCredential.objects.get(factor=factor).clone_detected_at is not None
    assert signed_out(j, url)
    j.close()
