"""Chromium for the demo-site journeys: one browser per test module, in a thread of its own.

Playwright's synchronous API runs an event loop in the thread that uses it, and Django refuses
database calls from such a thread; the journeys also need the test's thread between two
browser steps (to read a code the worker wrote, or to make a challenge expire). So one thread
owns the browser and runs the steps it is handed, one at a time, and the test's thread waits
for each. Debian's `chromium` is driven through `executable_path`: nothing is downloaded.
"""

from __future__ import annotations

import queue
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent.parent
OUTPUT = ROOT / "test-output" / "demo"
PHONE = {"width": 375, "height": 812}
STEP_SECONDS = 60


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed: apt-get install chromium (CI installs it)"
    return path


class BrowserThread:
    """A Chromium owned by one thread; `run(fn)` calls fn(browser) there and returns its
    value (or raises what it raised)."""

    def __init__(self) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.started = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, name="demo-browser", daemon=True)
        self.thread.start()
        assert self.started.wait(60), "chromium did not start"
        if self.failure is not None:
            raise self.failure

    def _serve(self) -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium())
                self.started.set()
                try:
                    while (job := self.jobs.get()) is not None:
                        fn, box = job
                        try:
                            box["value"] = fn(browser)
                        except BaseException as error:  # handed to the test's thread
                            box["error"] = error
                        box["done"].set()
                finally:
                    browser.close()
        except BaseException as error:
            self.failure = error
            self.started.set()

    def run(self, fn: Callable[[Browser], Any]) -> Any:
        box: dict[str, Any] = {"done": threading.Event()}
        self.jobs.put((fn, box))
        assert box["done"].wait(STEP_SECONDS), "a browser step did not finish in time"
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=30)


class Journey:
    """One end user: a fresh browser context (its own cookies and, with `passkeys`, its own
    virtual authenticator) on a phone-sized screen, and a folder for its screenshots."""

    def __init__(self, browser: BrowserThread, name: str, *, passkeys: bool = False) -> None:
        self.browser, self.name = browser, name
        self.folder = OUTPUT / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.shots = 0
        self.authenticator: str | None = None
        self.context: BrowserContext
        self.page: Page
        self.cdp: Any = None
        browser.run(lambda b: self._open(b, passkeys))

    def _open(self, browser: Browser, passkeys: bool) -> None:
        self.context = browser.new_context(viewport=PHONE, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        if passkeys:
            self.cdp = self.context.new_cdp_session(self.page)
            self.cdp.send("WebAuthn.enable", {"enableUI": False})
            options = {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
            added = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
            self.authenticator = added["authenticatorId"]

    def do(self, fn: Callable[[Page], Any]) -> Any:
        """Run browser steps on this user's page, in the browser's thread."""
        return self.browser.run(lambda _browser: fn(self.page))

    def cdp_send(self, method: str, params: dict) -> Any:
        return self.browser.run(lambda _browser: self.cdp.send(method, params))

    def close(self) -> None:
        self.browser.run(lambda _browser: self.context.close())


def shot(journey: Journey, page: Page, name: str) -> None:
    """A screenshot of the step, and the phone-width check: nothing wider than the screen."""
    journey.shots += 1
    path = journey.folder / f"{journey.shots:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width}px wide on a 375px screen"


def alerts(page: Page) -> list[str]:
    """What the page announces as errors (visible role=alert elements)."""
    found = page.locator("[role=alert]")
    texts = [found.nth(i).inner_text() for i in range(found.count()) if found.nth(i).is_visible()]
    return [re.sub(r"\s+", " ", t).strip() for t in texts]
