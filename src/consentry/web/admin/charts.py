"""Small server-side SVG charts: no script, no external assets, readable by screen readers.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (summed numbers),
and every bar has its own ``<title>`` (label and value) shown as a tooltip. The pages show the
same numbers in a table beside each chart; the charts only draw them. Colours are the
Okabe-Ito palette, distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
_ids = count(1)


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values, one value per category (e.g. per day)."""

    name: str
    values: tuple[float, ...]


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^n at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1.0
    scale = 1.0
    while True:
        for step in (1.0, 2.0, 5.0):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    unit: str = "",
    width: int = 420,
    height: int = 200,
) -> Markup:
    """Vertical bars per category: side by side per series, or ``stacked``."""
    chart_id = f"chart-{next(_ids)}"
    left, right, top, bottom = 40, 8, 10, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(categories), 1)
    slot = plot_w / n
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    peak = max(totals if stacked else [v for s in series for v in s.values] or [0], default=0)
    top_value = _nice_max(peak)
    parts: list[str] = []
    for tick in (0.0, top_value / 2, top_value):
        y = top + plot_h - plot_h * tick / top_value
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#3b3b3b">{escape(_number(tick))}{escape(unit)}</text>'
        )
    label_every = max(1, -(-n // 6))
    for i, category in enumerate(categories):
        x0 = left + slot * i
        base: float = top + plot_h
        bar_w = slot * 0.8 / (1 if stacked else max(len(series), 1))
        for j, one in enumerate(series):
            value = one.values[i]
            if value <= 0:
                continue
            h = max(plot_h * value / top_value, 1.0)  # a small count stays visible
            x = x0 + slot * 0.1 + (0 if stacked else bar_w * j)
            y = base - h
            if stacked:
                base -= h
            tip = f"{one.name}, {category}: {_number(value)}{unit}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x0 + slot / 2:.1f}" y="{height - bottom + 14}" font-size="12" '
                f'text-anchor="middle" fill="#3b3b3b">{escape(category)}</text>'
            )
    parts.append(_legend(series, height - 8, left))
    summary = "; ".join(f"{s.name}: {_number(sum(s.values))}{unit}" for s in series)
    return _svg(chart_id, title, summary or "no data", width, height, parts)


def hbar_chart(
    title: str, labels: Sequence[str], values: Sequence[float | None], *, unit: str = ""
) -> Markup:
    """One horizontal bar a label (``None``: not applicable, drawn as "n/a")."""
    chart_id = f"chart-{next(_ids)}"
    width, row = 420, 26
    left, right, top = 130, 50, 6
    height = top * 2 + row * max(len(labels), 1)
    top_value = _nice_max(max((v for v in values if v is not None), default=0))
    parts: list[str] = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row * i
        parts.append(
            f'<text x="{left - 6}" y="{y + row / 2 + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#1b1b1b">{escape(label[:20])}</text>'
        )
        shown = "n/a" if value is None else f"{_number(value)}{unit}"
        if value:
            w = (width - left - right) * value / top_value
            parts.append(
                f'<rect x="{left}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row - 8}" '
                f'fill="{PALETTE[0]}"><title>{escape(f"{label}: {shown}")}</title></rect>'
            )
        else:
            w = 0
        parts.append(
            f'<text x="{left + w + 4:.1f}" y="{y + row / 2 + 4:.1f}" font-size="12" '
            f'fill="#1b1b1b">{escape(shown)}</text>'
        )
    summary = "; ".join(
        f"{label}: {'n/a' if v is None else _number(v) + unit}"
        for label, v in zip(labels, values, strict=True)
    )
    return _svg(chart_id, title, summary or "no data", width, height, parts)


def _legend(series: Sequence[Series], y: float, x: float) -> str:
    out = []
    for j, one in enumerate(series):
        out.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" '
            f'fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{x + 14:.1f}" y="{y:.1f}" font-size="12" fill="#1b1b1b">'
            f"{escape(one.name[:28])}</text>"
        )
        x += 24 + 7.5 * min(len(one.name), 28)
    return "".join(out)


def _svg(
    chart_id: str, title: str, summary: str, width: int, height: int, parts: list[str]
) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{chart_id}-t {chart_id}-d">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(summary)}</desc>' + "".join(parts) + "</svg>"
    )
