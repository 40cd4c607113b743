"""Passkey steps on the demo site, with Chromium's virtual authenticator (DevTools' WebAuthn
domain: a CTAP2 platform authenticator with resident keys and user verification)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, Route

from tests.demo.browser import Journey, shot

VERIFY_URL = "**/passkeys/sign-in/verify/"


def add_passkey(j: Journey, site_url: str) -> None:
    def steps(page: Page) -> None:
        page.goto(f"{site_url}/account/")
        page.get_by_role("link", name="Add a passkey").click()
        page.get_by_label("Name for this passkey").fill("Test laptop")
        shot(j, page, "passkey-add")
        page.get_by_role("button", name="Create a passkey").click()
        page.wait_for_url(f"{site_url}/account/recovery-codes/")

    j.do(steps)


def credentials(j: Journey) -> list[dict[str, Any]]:
    """What the virtual authenticator holds (with each credential's signCount)."""
    found = j.cdp_send("WebAuthn.getCredentials", {"authenticatorId": j.authenticator})
    return found["credentials"]


def put_back(j: Journey, credential: dict[str, Any]) -> None:
    """Replace the authenticator's copy of the credential with `credential` (a snapshot with
    an older signCount: what a cloned key would present)."""
    ids = {"authenticatorId": j.authenticator}
    j.cdp_send("WebAuthn.removeCredential", {**ids, "credentialId": credential["credentialId"]})
    j.cdp_send("WebAuthn.addCredential", {**ids, "credential": credential})


def passkey_sign_in(j: Journey, site_url: str, name: str, *, button: str) -> str:
    """Press the passkey button; the JSON the page posted to the site (the assertion)."""

    def steps(page: Page) -> str:
        if not page.url.startswith(f"{site_url}/login/"):
            page.goto(f"{site_url}/login/")
        with page.expect_request(VERIFY_URL) as sent:
            page.get_by_role("button", name=button).click()
        page.wait_for_url(f"{site_url}/account/")
        shot(j, page, name)
        return sent.value.post_data or ""

    return j.do(steps)


def refused_sign_in(j: Journey, site_url: str, name: str, *, replace: str | None = None) -> str:
    """A usernameless sign-in the site must refuse; `replace` swaps the page's assertion for
    another (a replay). The alert the page shows."""

    def steps(page: Page) -> str:
        page.goto(f"{site_url}/login/")
        if replace is not None:
            page.route(VERIFY_URL, lambda route: route.continue_(post_data=replace))
        page.get_by_role("button", name="Sign in with a passkey").click()
        alert = page.locator(".passkey-error")
        alert.wait_for(state="visible")
        if replace is not None:
            page.unroute(VERIFY_URL)
        shot(j, page, name)
        return alert.inner_text()

    return j.do(steps)


class HeldAnswer:
    """A passkey sign-in whose answer is held back on its way to the site, so the test can
    change the world (let the challenge expire) before it arrives."""

    def __init__(self, j: Journey, site_url: str) -> None:
        self.j, self.site_url = j, site_url
        self.routes: list[Route] = []
        j.do(self._start)

    def _start(self, page: Page) -> None:
        page.goto(f"{self.site_url}/login/")
        page.route(VERIFY_URL, self._hold)
        with page.expect_request(VERIFY_URL):
            page.get_by_role("button", name="Sign in with a passkey").click()
        for _ in range(200):  # the route handler runs as Playwright's loop turns; bounded
            if self.routes:
                return
            page.wait_for_timeout(25)
        raise AssertionError("the sign-in's answer was never intercepted")

    def _hold(self, route: Route) -> None:
        self.routes.append(route)  # answered later, by release()

    def release(self, name: str) -> str:
        def steps(page: Page) -> str:
            self.routes[0].continue_()
            alert = page.locator(".passkey-error")
            alert.wait_for(state="visible")
            page.unroute(VERIFY_URL)
            shot(self.j, page, name)
            return alert.inner_text()

        return self.j.do(steps)
