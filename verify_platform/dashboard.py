"""The operator dashboard's content: the apps' aggregates (their `insights` modules) turned
into charts and tables.

The queries group a window of days in PostgreSQL. They run in one read transaction with a
statement timeout (`DASHBOARD_STATEMENT_TIMEOUT_MS`), each in a savepoint, so a dashboard on
a very large table answers with the panels it could compute instead of holding a database
connection (and the operator) for minutes; the API never waits for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import OperationalError, connection, transaction
from django.utils.safestring import SafeString

from challenges import insights as challenge_insights
from factors import insights as factor_insights
from limits import insights as limit_insights
from services.webhooks import insights as webhook_insights
from verify_platform import charts
from verify_platform.lib import clock

WINDOWS = (1, 7, 30)
DEFAULT_DAYS = 30
DASHBOARD_STATEMENT_TIMEOUT_MS = 10_000
LIST_LIMIT = 20
TOP_COUNTRIES = 12

T = TypeVar("T")


@dataclass
class Panel:
    """One chart (or table) of the dashboard; `error` when its query could not finish."""

    panel_id: str
    title: str
    svg: SafeString | None = None
    table: SafeString | None = None
    summary: str = ""
    error: str = ""


@dataclass
class Listing:
    """Rows of a table panel, the first `LIST_LIMIT` of `total`."""

    panel_id: str
    title: str
    rows: list[Any] = field(default_factory=list)
    total: int = 0
    error: str = ""


def window(days: int, now: datetime) -> tuple[datetime, datetime]:
    """From midnight (UTC) `days - 1` days ago until now: `days` whole bars by day."""
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, now


def _percent(value: float) -> str:
    return f"{value:.1f}%"


def _count(value: float) -> str:
    return f"{int(value):,}"


def _seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


@contextmanager
def _statement_timeout(milliseconds: int) -> Iterator[None]:
    """This transaction's statements are canceled after `milliseconds`; the previous limit
    is restored after, for a caller whose transaction goes on."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
            [f"{milliseconds}ms"],
        )
        [(previous, _)] = cursor.fetchall()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


def _guarded(compute: Callable[[], T]) -> tuple[T | None, str]:
    """Run one panel's queries in a savepoint: a timeout fails that panel only."""
    try:
        with transaction.atomic():
            return compute(), ""
    except OperationalError:
        seconds = DASHBOARD_STATEMENT_TIMEOUT_MS // 1000
        return None, f"Not computed: the query took longer than {seconds} s."


def volume_panels(report: challenge_insights.VolumeReport, start: datetime, days: int) -> list:
    day_rows, line = [], []
    for offset in range(days):
        day = (start + timedelta(days=offset)).date()
        volume = report.by_day.get(day) or challenge_insights.Volume(day.isoformat(), 0, 0)
        day_rows.append(charts.Row(day.isoformat(), (volume.started, volume.converted)))
        line.append(volume.rate * 100 if volume.started else None)
    by_day = charts.Chart(
        "chart-by-day",
        "Verifications by day (UTC)",
        f"Verifications started and approved on each of the last {days} days, with the "
        "conversion rate (approved / started) as a line.",
        ("started", "approved"),
        day_rows,
        _count,
    )
    total = sum(v.started for v in report.by_day.values())
    converted = sum(v.converted for v in report.by_day.values())
    rate = converted / total * 100 if total else 0.0

    def breakdown(chart_id: str, what: str, volumes: list) -> charts.Chart:
        rows = [
            charts.Row(v.key, (v.started, v.converted), _percent(v.rate * 100)) for v in volumes
        ]
        return charts.Chart(
            chart_id,
            f"Conversion by {what}",
            f"Verifications started and approved by {what}, with the conversion rate.",
            ("started", "approved"),
            rows,
            _count,
        )

    countries = report.by_country
    if len(countries) > TOP_COUNTRIES:
        rest = countries[TOP_COUNTRIES - 1 :]
        countries = [
            *countries[: TOP_COUNTRIES - 1],
            challenge_insights.Volume(
                "other", sum(v.started for v in rest), sum(v.converted for v in rest)
            ),
        ]
    by_channel = breakdown("chart-by-channel", "channel", report.by_channel)
    by_country = breakdown("chart-by-country", "country", countries)
    headers = ("", "started", "approved")
    return [
        Panel(
            "by-day",
            by_day.title,
            charts.columns(by_day, line=line, line_label="conversion"),
            charts.table(by_day, headers=("day", *headers[1:])),
            f"{total:,} started, {converted:,} approved ({rate:.1f}%)",
        ),
        Panel(
            "by-channel",
            by_channel.title,
            charts.hbars(by_channel, overlay=True),
            charts.table(by_channel, headers=("channel", *headers[1:])),
        ),
        Panel(
            "by-country",
            by_country.title,
            charts.hbars(by_country, overlay=True),
            charts.table(by_country, headers=("country", *headers[1:])),
        ),
    ]


def fallback_panel(steps: list[challenge_insights.StepCount]) -> Panel:
    """For each step: the share of sends that went on to the next step (the step did not
    bring the user in before its timeout, or failed)."""
    fired: dict[int, int] = defaultdict(int)
    for count in steps:
        fired[count.step] += count.fired
    rows = []
    for step in sorted(s for s in fired if fired[s]):
        onward = fired.get(step + 1, 0)
        rows.append(
            charts.Row(
                f"step {step + 1}",
                (onward / fired[step] * 100,),
                f"{onward:,} of {fired[step]:,}",
            )
        )
    chart = charts.Chart(
        "chart-fallback",
        "Fallback rate per step",
        "For each step of a send, the percentage of sends that fell back to the next step.",
        ("fell back to the next step",),
        rows,
        _percent,
    )
    return Panel(
        "fallback",
        chart.title,
        charts.hbars(chart),
        charts.table(chart, headers=("step", "fell back")),
    )


def latency_panel(latencies: list[challenge_insights.Latency]) -> Panel:
    rows = [
        charts.Row(
            lat.channel,
            (lat.p50, lat.p90, lat.p99),
            f"{lat.sends:,} send{'s' if lat.sends != 1 else ''}",
        )
        for lat in latencies
    ]
    chart = charts.Chart(
        "chart-latency",
        "Delivery latency",
        "Seconds from the start of a send to the provider accepting the message: the "
        "median, 90th and 99th percentiles, by channel.",
        ("p50", "p90", "p99"),
        rows,
        _seconds,
        unit="s",
    )
    return Panel(
        "latency",
        chart.title,
        charts.hbars(chart),
        charts.table(chart, headers=("channel", "p50 (s)", "p90 (s)", "p99 (s)")),
    )


def _listing(panel_id: str, title: str, queryset) -> Listing:
    def compute() -> Listing:
        rows = list(queryset[:LIST_LIMIT])
        total = len(rows) if len(rows) < LIST_LIMIT else queryset.count()
        return Listing(panel_id, title, rows, total)

    listing, error = _guarded(compute)
    return listing or Listing(panel_id, title, error=error)


def build(user, *, days: int = DEFAULT_DAYS, now: datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows that `user` may view."""
    now = clock.current_time(now)
    start, until = window(days, now)
    panels: list[Panel] = []
    listings: list[Listing] = []
    with transaction.atomic(), _statement_timeout(DASHBOARD_STATEMENT_TIMEOUT_MS):
        if user.has_perm("challenges.view_verification"):
            report, error = _guarded(
                lambda: challenge_insights.verification_volume(since=start, until=until)
            )
            if report is not None:
                panels.extend(volume_panels(report, start, days))
            else:
                panels.append(Panel("volume", "Verifications", error=error))
            steps, error = _guarded(
                lambda: challenge_insights.fallback_steps(since=start, until=until)
            )
            panels.append(
                fallback_panel(steps)
                if steps is not None
                else Panel("fallback", "Fallback rate per step", error=error)
            )
            latency, error = _guarded(
                lambda: challenge_insights.delivery_latency(since=start, until=until)
            )
            panels.append(
                latency_panel(latency)
                if latency is not None
                else Panel("latency", "Delivery latency", error=error)
            )
        if user.has_perm("services.view_webhook"):
            listings.append(
                _listing("webhooks", "Failing webhooks", webhook_insights.failing_webhooks())
            )
        if user.has_perm("limits.view_destinationthrottle"):
            listings.append(
                _listing(
                    "throttles",
                    "Throttled or blocked destinations",
                    limit_insights.throttled_destinations(now=now),
                )
            )
        if user.has_perm("factors.view_factor"):
            listings.append(
                _listing(
                    "factors",
                    "Locked or throttled factors",
                    factor_insights.locked_factors(now=now),
                )
            )
    return {
        "days": days,
        "windows": WINDOWS,
        "since": start,
        "until": until,
        "panels": panels,
        "listings": {listing.panel_id: listing for listing in listings},
    }
