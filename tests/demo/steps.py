"""End-user steps on the demo site, as a person would take them: find the field by its
label, press the button by its name. Each step leaves a screenshot (browser.shot)."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.demo.browser import Journey, alerts, shot

PASSWORD = "correct horse battery staple 7"


def sign_up(j: Journey, site_url: str, username: str) -> None:
    def steps(page: Page) -> None:
        page.goto(f"{site_url}/")
        shot(j, page, "home")
        page.get_by_role("link", name="Create an account").click()
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        shot(j, page, "sign-up")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"{site_url}/account/")
        assert page.inner_text("#twofa-status") == "off"
        shot(j, page, "account-2fa-off")

    j.do(steps)


def sign_out(j: Journey) -> None:
    def steps(page: Page) -> None:
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("status").filter(has_text="You are signed out").wait_for()

    j.do(steps)


def password_step(j: Journey, site_url: str, username: str, *, expect: str) -> None:
    """The password form; `expect` is the path the site goes to next."""

    def steps(page: Page) -> None:
        page.goto(f"{site_url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        shot(j, page, "sign-in-password")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{site_url}{expect}")
        shot(j, page, "after-password")

    j.do(steps)


def enter_code(j: Journey, label: str, code: str, button: str, name: str) -> list[str]:
    """Fill one code field and submit; the page's alerts afterwards."""

    def steps(page: Page) -> list[str]:
        page.get_by_label(label).fill(code)
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state()
        shot(j, page, name)
        return alerts(page)

    return j.do(steps)


def field_is_described(page: Page, label: str) -> dict:
    """How a screen reader meets an invalid field: aria-invalid, and the ids of its error and
    help text, resolved to their text."""
    field = page.get_by_label(label)
    ids = (field.get_attribute("aria-describedby") or "").split()
    texts = [page.locator(f"#{i}").inner_text() for i in ids]
    return {
        "invalid": field.get_attribute("aria-invalid"),
        "described_by": texts,
        "alert": [page.locator(f"#{i}").get_attribute("role") for i in ids],
    }


def recovery_codes_saved(j: Journey, site_url: str) -> list[str]:
    """The codes page after the first second step: read the codes, download them as a text
    file (it must hold the same codes), and move on; the page never shows them again."""

    def steps(page: Page) -> list[str]:
        page.wait_for_url(f"{site_url}/account/recovery-codes/")
        codes = page.locator("#recovery-codes code").all_inner_texts()
        shot(j, page, "recovery-codes")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download as a text file").click()
        saved = download.value
        assert saved.suggested_filename == "recovery-codes.txt"
        text = open(saved.path()).read()  # noqa: SIM115
        assert all(code in text for code in codes)
        page.get_by_role("link", name="I've saved them").click()
        page.wait_for_url(f"{site_url}/account/")
        page.goto(f"{site_url}/account/recovery-codes/")
        again = page.locator("#recovery-codes").count()
        page.goto(f"{site_url}/account/")
        assert again == 0, "recovery codes were shown a second time"
        return codes

    return j.do(steps)
