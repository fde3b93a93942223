"""Pictures for the console as server-side SVG: no JavaScript, no CDN, readable on a phone.

Two charts staff asked for: a class's attendance session by session (bars of
present ÷ counted trainees, with the 70 % and 90 % lines of 第十四条/第十五条),
each trainee's rate so far against the same lines, and on the overview the
open claims by stage with the overdue part. Labels come from the console
texts; numbers are escaped like any other text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

BAR = "#0b5cad"
FUTURE = "#d0d7de"
BAD = "#b42318"
OK = "#1a7f37"
WARN = "#9a6700"
MUTED = "#59636e"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # 0..1; None = not yet held (drawn as an outline)
    title: str  # the tooltip (SVG <title>), read out by screen readers


def _line(y: float, x0: float, x1: float, color: str, label: str) -> str:
    return (
        f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{color}" '
        f'stroke-dasharray="4 3" stroke-width="1.2"/>'
        f'<text x="{x1 - 2:.1f}" y="{y - 3:.1f}" text-anchor="end" font-size="11" fill="{color}">'
        f"{escape(label)}</text>"
    )


def bar_chart(
    bars: Sequence[Bar], *, title: str, lines: Sequence[tuple[Decimal, str]], chart_id: str
) -> Markup:
    """Vertical bars 0–100 % with threshold lines; scales to the container width (viewBox)."""
    width = max(320, 24 * len(bars) + 60)
    height, top, bottom, left = 220, 18, 40, 36
    plot_h = height - top - bottom
    step = (width - left - 8) / max(len(bars), 1)
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMinYMin meet" style="width:100%;max-width:{width}px;height:auto">',
        f"<title>{escape(title)}</title>",
    ]
    for pct in (0, 50, 100):
        y = top + plot_h * (1 - pct / 100)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{pct}%</text>"
        )
    label_every = max(1, len(bars) // 12)
    for i, bar in enumerate(bars):
        w = min(max(step * 0.7, 2), 28)  # a lone session is a bar, not a wall
        x = left + i * step + (step - w) / 2
        if bar.value is None:
            parts.append(
                f'<rect class="bar future" x="{x:.1f}" y="{top + plot_h - 3:.1f}" width="{w:.1f}" height="3" '
                f'fill="{FUTURE}"><title>{escape(bar.title)}</title></rect>'
            )
        else:
            h = plot_h * min(max(bar.value, 0.0), 1.0)
            parts.append(
                f'<rect class="bar held" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" '
                f'height="{h:.1f}" fill="{BAR}" data-value="{bar.value:.4f}">'
                f"<title>{escape(bar.title)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                f'font-size="10" fill="{MUTED}">{escape(bar.label)}</text>'
            )
    for rate, label in lines:
        y = top + plot_h * (1 - float(rate))
        parts.append(_line(y, left, width - 8, WARN if rate < Decimal("0.9") else OK, label))
    parts.append("</svg>")
    return Markup("".join(parts))


def dot_chart(
    points: Sequence[tuple[str, float | None, str]],
    *,
    title: str,
    lines: Sequence[tuple[Decimal, str]],
    chart_id: str,
) -> Markup:
    """One row per trainee: a dot at their rate so far (0–100 %), red under the lowest line."""
    row_h, left, right, top = 22, 96, 16, 20
    width = 560
    height = top + row_h * max(len(points), 1) + 10
    span = width - left - right
    low = min((float(r) for r, _ in lines), default=0.0)
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'style="width:100%;max-width:{width}px;height:auto">',
        f"<title>{escape(title)}</title>",
    ]
    for pct in (0, 50, 100):
        x = left + span * pct / 100
        parts.append(
            f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" font-size="11" fill="{MUTED}">'
            f"{pct}%</text>"
        )
    for i, (name, value, tip) in enumerate(points):
        y = top + row_h * i + row_h / 2
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{escape(name[:8])}</text>'
        )
        if value is not None:
            x = left + span * min(max(value, 0.0), 1.0)
            color = BAD if value < low else BAR
            parts.append(
                f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{color}" '
                f'data-value="{value:.4f}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    for rate, label in lines:
        x = left + span * float(rate)
        color = WARN if rate < Decimal("0.9") else OK
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 2}" x2="{x:.1f}" y2="{height - 8}" stroke="{color}" '
            f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{height - 2}" font-size="10" fill="{color}">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(
    rows: Sequence[tuple[str, int, int]], *, title: str, chart_id: str, legend: tuple[str, str]
) -> Markup:
    """Horizontal bars per label: the on-time part and the overdue part (red), counts written beside."""
    row_h, left, right, top = 26, 110, 60, 26
    width = 560
    height = top + row_h * max(len(rows), 1) + 8
    biggest = max((a + b for _, a, b in rows), default=0) or 1
    span = width - left - right
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'style="width:100%;max-width:{width}px;height:auto">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="4" width="10" height="10" fill="{BAR}"/>'
        f'<text x="{left + 14}" y="13" font-size="11">{escape(legend[0])}</text>'
        f'<rect x="{left + 90}" y="4" width="10" height="10" fill="{BAD}"/>'
        f'<text x="{left + 104}" y="13" font-size="11">{escape(legend[1])}</text>',
    ]
    for i, (label, on_time, overdue) in enumerate(rows):
        y = top + row_h * i
        w1 = span * on_time / biggest
        w2 = span * overdue / biggest
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(label)}</text>'
            f'<rect class="seg ok" x="{left}" y="{y + 3}" width="{w1:.1f}" height="16" fill="{BAR}" '
            f'data-count="{on_time}"/>'
            f'<rect class="seg overdue" x="{left + w1:.1f}" y="{y + 3}" width="{w2:.1f}" height="16" '
            f'fill="{BAD}" data-count="{overdue}"/>'
            f'<text x="{left + w1 + w2 + 4:.1f}" y="{y + 15}" font-size="12">{on_time + overdue}'
            + (f"（{overdue}）" if overdue else "")
            + "</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
