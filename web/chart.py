"""The completions chart as inline SVG, drawn on the server: no script, no library, works offline.

One bar per working day (completed families that day) and a dashed line at the daily pace the campaign
window asks for. The numbers are also in the bars' <title>s and in a table the page puts beside it, so a
screen reader or a narrow phone loses nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 34


@dataclass(frozen=True)
class ChartTexts:
    title: str  # the chart's accessible name
    target: str  # the target line's label, e.g. "target 12.5/day"
    bar: str  # a bar's title with {day} and {count}, e.g. "{day}: {count} completed"


def _nice_ceiling(value: float) -> int:
    """The top of the scale: 1, 2, 5 × 10ⁿ at or above ``value``."""
    if value <= 1:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def completions_svg(days: list[tuple[dt.date, int]], target: float | None, texts: ChartTexts,
                    day_label=lambda d: d.strftime("%d/%m")) -> Markup:  # type: ignore[no-untyped-def]
    top = _nice_ceiling(max([count for _, count in days] + [target or 0, 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(days))
    bar_w = max(2.0, slot * 0.7)
    label_every = max(1, len(days) // 10)  # at most ~10 day labels, so they stay readable

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(texts.title)}" class="completions">',
             f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{y(0):.1f}" stroke="#374151"/>']
    for tick in (0, top // 2, top):
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#374151">{tick}</text>')
    for i, (day, count) in enumerate(days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        title = escape(texts.bar.format(day=day_label(day), count=count))
        parts.append(f'<rect x="{x:.1f}" y="{y(count):.1f}" width="{bar_w:.1f}" height="{y(0) - y(count):.1f}" '
                     f'fill="#0b4f8a" data-day="{day.isoformat()}" data-count="{count}"><title>{title}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                         f'font-size="11" fill="#374151">{escape(day_label(day))}</text>')
    if target is not None:
        parts.append(f'<line x1="{LEFT}" y1="{y(target):.1f}" x2="{WIDTH - RIGHT}" y2="{y(target):.1f}" '
                     f'stroke="#9b1c1c" stroke-width="2" stroke-dasharray="6 4" class="target"/>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{y(target) - 5:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#9b1c1c">{escape(texts.target)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
