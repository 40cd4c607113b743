"""Charts as inline SVG, drawn on the server.

The console loads nothing from the internet and needs no script: each chart is markup in the
page, with a `<title>` and `<desc>` for screen readers and a data table beside it (the same
numbers, for anyone who wants them exactly). Colours come from the stylesheet
(`static/verify_platform/console.css`), so the admin's light and dark themes both apply.
Every drawn mark carries its label and value as `data-*` attributes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

Format = Callable[[float], str]


@dataclass(frozen=True)
class Row:
    """One label and one value per series; `note` is printed after the bars."""

    label: str
    values: tuple[float, ...]
    note: str = ""


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    desc: str
    series: tuple[str, ...]
    rows: Sequence[Row]
    fmt: Format = str
    unit: str = ""  # printed once after a row's values


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (an axis end)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _n(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _frame(chart: Chart, width: int, height: int, body: SafeString) -> SafeString:
    return format_html(
        '<svg id="{id}" class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-labelledby="{id}-title {id}-desc" preserveAspectRatio="xMinYMin meet">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart.chart_id,
        w=width,
        h=height,
        title=chart.title,
        desc=chart.desc,
        body=body,
    )


def _legend(series: Sequence[str], x: float, y: float, classes: Sequence[str] = ()) -> SafeString:
    items = []
    for index, name in enumerate(series):
        left = x + index * 110
        items.append(
            format_html(
                '<rect class="legend {css}" x="{x}" y="{y}" width="10" height="10"/>'
                '<text class="legend-label" x="{tx}" y="{ty}">{name}</text>',
                css=classes[index] if index < len(classes) else f"s{index}",
                x=_n(left),
                y=_n(y),
                tx=_n(left + 14),
                ty=_n(y + 9),
                name=name,
            )
        )
    return mark_safe("".join(items))  # noqa: S308 (each item built by format_html)


def table(chart: Chart, *, headers: Sequence[str] | None = None) -> SafeString:
    """The chart's numbers as a table (in a `<details>` under the chart)."""
    head = headers or ("", *chart.series)
    header = format_html_join("", "<th scope='col'>{}</th>", ((h,) for h in head))
    body = format_html_join(
        "",
        "<tr><th scope='row'>{}</th>{}</tr>",
        (
            (
                row.label,
                format_html_join("", "<td>{}</td>", ((chart.fmt(v),) for v in row.values)),
            )
            for row in chart.rows
        ),
    )
    return format_html(
        '<details class="chart-data"><summary>Data: {}</summary>'
        '<table aria-describedby="{}-title"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
        "</details>",
        chart.title,
        chart.chart_id,
        header,
        body,
    )


def hbars(chart: Chart, *, overlay: bool = False, width: int = 460) -> SafeString:
    """Horizontal bars, one row per label. `overlay` draws the series over each other (a
    part inside its whole: converted inside started); otherwise each series gets its own
    thinner bar, grouped under the label."""
    label_w, value_w, top = 72, 180, 24
    plot_w = width - label_w - value_w
    nseries = len(chart.series)
    bar_h = 14 if overlay else 10
    row_h = (bar_h + 8) if overlay else (bar_h * nseries + 10)
    scale_max = nice_max(max((max(r.values, default=0) for r in chart.rows), default=0))
    height = top + max(len(chart.rows), 1) * row_h + 6
    marks = [_legend(chart.series, label_w, 4)]
    if not chart.rows:
        marks.append(
            format_html('<text class="empty" x="{}" y="{}">No data</text>', label_w, top + 14)
        )
    for index, row in enumerate(chart.rows):
        y = top + index * row_h
        marks.append(
            format_html(
                '<text class="label" x="{}" y="{}" text-anchor="end">{}</text>',
                label_w - 6,
                _n(y + (bar_h if overlay else row_h - 10) / 2 + 4),
                row.label,
            )
        )
        for s, value in enumerate(row.values):
            length = plot_w * value / scale_max
            bar_y = y if overlay else y + s * bar_h
            marks.append(
                format_html(
                    '<rect class="bar s{s}" x="{x}" y="{y}" width="{w}" height="{h}" '
                    'data-label="{label}" data-series="{series}" data-value="{value}">'
                    "<title>{label}, {series}: {shown}{unit}</title></rect>",
                    s=s,
                    unit=f" {chart.unit}" if chart.unit else "",
                    x=label_w,
                    y=_n(bar_y),
                    w=_n(max(length, 0)),
                    h=bar_h - (0 if overlay else 2),
                    label=row.label,
                    series=chart.series[s],
                    value=value,
                    shown=chart.fmt(value),
                )
            )
        shown = " / ".join(chart.fmt(v) for v in row.values) + (
            f" {chart.unit}" if chart.unit else ""
        )
        marks.append(
            format_html(
                '<text class="value" x="{}" y="{}">{}{}</text>',
                label_w + plot_w + 6,
                _n(y + (bar_h if overlay else row_h - 10) / 2 + 4),
                shown,
                f" · {row.note}" if row.note else "",
            )
        )
    return _frame(chart, width, height, mark_safe("".join(marks)))  # noqa: S308


def columns(
    chart: Chart,
    *,
    line: Sequence[float | None] = (),
    line_label: str = "",
    width: int = 860,
    height: int = 240,
) -> SafeString:
    """Vertical columns over time (the series overlaid, as `hbars(overlay=True)`), with an
    optional line of percentages (0-100 on the right-hand axis), one point per column."""
    left, right, top, bottom = 44, 40, 24, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(chart.rows), 1)
    slot = plot_w / count
    bar_w = max(min(slot * 0.7, 28), 2)
    scale_max = nice_max(max((max(r.values, default=0) for r in chart.rows), default=0))
    series = (*chart.series, line_label) if line_label else chart.series
    classes = [f"s{i}" for i in range(len(chart.series))] + ["line-key"]
    marks = [_legend(series, left, 4, classes)]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        tick = scale_max * fraction
        # A half of 1 or 5 is no count: that grid line goes unlabelled.
        label = chart.fmt(tick) if tick >= 10 or tick.is_integer() else ""
        marks.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{y}" y2="{y}"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                left + plot_w,
                left - 4,
                _n(y + 4),
                label,
                y=_n(y),
            )
        )
        if line_label:
            marks.append(
                format_html(
                    '<text class="axis" x="{}" y="{}">{}%</text>',
                    left + plot_w + 4,
                    _n(y + 4),
                    int(fraction * 100),
                )
            )
    label_every = max(1, math.ceil(count / 10))
    points = []
    for index, row in enumerate(chart.rows):
        x = left + index * slot + (slot - bar_w) / 2
        for s, value in enumerate(row.values):
            bar_h = plot_h * value / scale_max
            marks.append(
                format_html(
                    '<rect class="bar s{s}" x="{x}" y="{y}" width="{w}" height="{h}" '
                    'data-label="{label}" data-series="{series}" data-value="{value}">'
                    "<title>{label}, {series}: {shown}</title></rect>",
                    s=s,
                    x=_n(x),
                    y=_n(top + plot_h - bar_h),
                    w=_n(bar_w),
                    h=_n(bar_h),
                    label=row.label,
                    series=chart.series[s],
                    value=value,
                    shown=chart.fmt(value),
                )
            )
        if index % label_every == 0:
            marks.append(
                format_html(
                    '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _n(x + bar_w / 2),
                    top + plot_h + 16,
                    row.label[5:] if len(row.label) == 10 else row.label,  # 2026-12-06 -> 12-06
                )
            )
        percent = line[index] if index < len(line) else None
        if percent is not None:
            points.append((x + bar_w / 2, top + plot_h * (1 - percent / 100), row.label, percent))
    if points:
        marks.append(
            format_html(
                '<polyline class="line" points="{}"/>',
                " ".join(f"{_n(px)},{_n(py)}" for px, py, _, _ in points),
            )
        )
        marks.extend(
            format_html(
                '<circle class="point" cx="{}" cy="{}" r="3" data-label="{}" data-value="{}">'
                "<title>{}, {}: {}%</title></circle>",
                _n(px),
                _n(py),
                label,
                f"{percent:.1f}",
                label,
                line_label,
                f"{percent:.1f}",
            )
            for px, py, label, percent in points
        )
    return _frame(chart, width, height, mark_safe("".join(marks)))  # noqa: S308
