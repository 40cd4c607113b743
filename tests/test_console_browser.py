"""The operator console in a real browser: Debian's Chromium, driven by Playwright (the
`playwright` package's driver only; the browser is the system's, never downloaded).

A live server with seeded data; an operator logs in, opens the dashboard and checks that each
chart drew its data, checks that the list pages fit a 1280 px screen, sends a webhook a test
event, edits a Fallback plan with the steps form and visits `/`. Each step leaves a screenshot
in `test-output/console-browser/` at the repository's root (ignored by git; CI can keep it).

Without Chromium this test fails: CI installs it (`apt-get install chromium`).

Playwright's synchronous API runs an event loop in the thread that uses it, and Django refuses
database calls from a thread with a running loop, so the browser runs in a thread of its own
and the database is read here, before and after.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, sync_playwright

from services.models import Service, WebhookDelivery
from services.webhooks.domain import TEST_EVENT_TYPE
from tests.test_console_dashboard import (
    SEEDED_CHANNELS,
    SEEDED_COUNTRIES,
    SEEDED_DAYS,
    THROTTLED_TO,
    seed,
)
from verify_platform import dashboard

OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "console-browser"
PASSWORD = "console-test-password-1"
WIDTH = 1280
LIST_PAGES = (
    "challenges/verification",
    "challenges/challenge",
    "services/event",
    "services/webhook",
    "services/webhookdelivery",
    "services/service",
    "limits/destinationthrottle",
    "factors/factor",
)

pytestmark = pytest.mark.django_db(transaction=True)


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed: apt-get install chromium (CI installs it)"
    return path


def in_browser(steps: Callable[[Page], Any]) -> Any:
    """Run `steps` with a fresh page in a thread of its own; re-raise what it raised."""
    outcome: dict[str, Any] = {}
    executable = chromium()

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable)
                try:
                    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
                    page.set_default_timeout(15_000)
                    outcome["value"] = steps(page)
                finally:
                    browser.close()
        except BaseException as error:  # handed to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="browser", daemon=True)
    thread.start()
    thread.join(timeout=110)
    assert not thread.is_alive(), "the browser steps did not finish in time"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def chart_marks(page: Page, chart_id: str, selector: str = "rect.bar") -> list[dict]:
    """What one chart drew: each mark's data attributes and its rendered size and fill."""
    return page.eval_on_selector_all(
        f"svg#{chart_id} {selector}",
        """marks => marks.map(m => {
            const box = m.getBoundingClientRect();
            return {label: m.dataset.label, series: m.dataset.series || "",
                    value: m.dataset.value, width: box.width, height: box.height,
                    fill: getComputedStyle(m).fill};
        })""",
    )


def test_console_in_chromium(live_server, tenant):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    seeded = seed(tenant.account)
    get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)
    base = live_server.url

    def steps(page: Page) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        page.goto(f"{base}/admin/")
        page.fill("#id_username", "ops")
        page.fill("#id_password", PASSWORD)
        shot(page, "01-login")
        page.click("input[type=submit]")
        page.wait_for_selector("svg#chart-by-day")
        seen["title"] = page.title()
        seen["header"] = page.inner_text("#site-name")
        seen["view_site"] = page.get_attribute("#user-tools a[href='/']", "href")
        for chart in ("chart-by-day", "chart-by-channel", "chart-by-country"):
            seen[chart] = chart_marks(page, chart)
        seen["chart-fallback"] = chart_marks(page, "chart-fallback")
        seen["chart-latency"] = chart_marks(page, "chart-latency")
        seen["points"] = chart_marks(page, "chart-by-day", "circle.point")
        seen["labels"] = page.eval_on_selector_all(
            "svg.chart text.label", "nodes => nodes.map(n => n.textContent)"
        )
        seen["lists"] = (
            page.inner_text("#panel-webhooks")
            + page.inner_text("#panel-throttles")
            + page.inner_text("#panel-factors")
        )
        shot(page, "02-dashboard")

        seen["overflow"] = {}
        for path in LIST_PAGES:
            page.goto(f"{base}/admin/{path}/")
            seen["overflow"][path] = page.evaluate(
                """() => {
                    const results = document.querySelector('#changelist .results');
                    return {page: document.documentElement.scrollWidth,
                            table: results ? results.scrollWidth - results.clientWidth : 0};
                }"""
            )
            shot(page, f"03-list-{path.replace('/', '-')}")

        page.goto(f"{base}/admin/services/webhook/{seeded.webhook.sid}/change/")
        page.click("#send-test-event")
        page.wait_for_selector(".messagelist .success")
        seen["test_message"] = page.inner_text(".messagelist .success")
        seen["delivery_rows"] = page.locator("tr.delivery").count()
        shot(page, "04-webhook-test-event")

        page.goto(f"{base}/admin/services/service/{seeded.service.sid}/change/")
        page.select_option("#id_fallback-0-channel", "whatsapp")
        page.fill("#id_fallback-0-timeout", "30")
        page.select_option("#id_fallback-1-channel", "sms")
        page.fill("#id_fallback-1-timeout", "45")
        page.select_option("#id_fallback-2-channel", "call")
        shot(page, "05-fallback-form")
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")
        seen["fallback_rows"] = [page.input_value(f"#id_fallback-{i}-channel") for i in range(5)]
        shot(page, "06-fallback-saved")

        page.goto(f"{base}/")
        seen["home_links"] = page.eval_on_selector_all(
            "main a", "links => links.map(a => a.getAttribute('href'))"
        )
        shot(page, "07-home")
        page.click("text=Operator console")
        page.wait_for_selector("svg#chart-by-day")
        return seen

    seen = in_browser(steps)

    assert seen["title"] == "Dashboard | Verify Platform"
    assert seen["header"] == "Verify Platform"
    assert seen["view_site"] == "/"

    days = [m for m in seen["chart-by-day"] if m["series"] == "started"]
    assert len(days) == dashboard.DEFAULT_DAYS
    drawn = [m for m in days if m["height"] > 0]
    assert len(drawn) == SEEDED_DAYS and all(m["value"] != "0" for m in drawn)
    assert len(seen["points"]) == SEEDED_DAYS
    # The local stylesheet was served and applied: the first series' colour.
    assert drawn[0]["fill"] == "rgb(65, 118, 144)"
    for chart, groups in (
        ("chart-by-channel", SEEDED_CHANNELS),
        ("chart-by-country", SEEDED_COUNTRIES),
    ):
        started = [m for m in seen[chart] if m["series"] == "started"]
        assert sorted(m["label"] for m in started) == sorted(groups)
        assert all(m["width"] > 0 for m in started)
        assert set(groups) <= set(seen["labels"])
    assert [m["label"] for m in seen["chart-fallback"]] == ["step 1", "step 2"]
    assert seen["chart-fallback"][0]["width"] > 0
    assert len(seen["chart-latency"]) == 3 * len(SEEDED_CHANNELS)
    assert all(m["width"] > 0 for m in seen["chart-latency"])
    assert seeded.webhook.sid in seen["lists"] and THROTTLED_TO in seen["lists"]
    assert seeded.factor.sid in seen["lists"]

    for path, overflow in seen["overflow"].items():
        assert overflow["page"] <= WIDTH and overflow["table"] <= 0, (path, overflow)

    delivery = WebhookDelivery.objects.select_related("event").get(webhook=seeded.webhook)
    assert delivery.event.type == TEST_EVENT_TYPE
    assert f"queued as delivery {delivery.pk}" in seen["test_message"]
    assert seen["delivery_rows"] == 1

    assert Service.objects.get(pk=seeded.service.pk).fallback == [
        {"channel": "whatsapp", "timeout": 30},
        {"channel": "sms", "timeout": 45},
        {"channel": "call"},
    ]
    assert seen["fallback_rows"] == ["whatsapp", "sms", "call", "", ""]

    assert seen["home_links"][:5] == ["/docs", "/openapi.json", "/admin/", "/healthz", "/readyz"]
