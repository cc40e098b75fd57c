"""Small server-side SVG charts (line and bar) with escaped labels, readable without JavaScript."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

PALETTE = ("#1d3557", "#e07a1f", "#6b8f3a", "#8e44ad", "#b03a2e")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")


@dataclass(frozen=True)
class Line:
    name: str
    values: Sequence[float | None]


def _nice_range(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values + [0.0]), max(values + [0.0])
    if hi == lo:
        hi = lo + 1
    step = 10 ** math.floor(math.log10(hi - lo))
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"


def _frame(chart_id: str, title: str, width: int, height: int, body: list[Markup]) -> Markup:
    # role="img" with a <title> gives screen readers one name for the chart; the numbers are
    # also in an HTML table beside it, so <desc> need not repeat them.
    head = Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        'aria-labelledby="{id}-t" viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
        '<title id="{id}-t">{title}</title>'
    ).format(id=chart_id, w=width, h=height, title=title)
    return head + Markup("").join(body) + Markup("</svg>")


def _axes(
    lo: float, hi: float, x_labels: Sequence[str], left: int, top: int, plot_w: int, plot_h: int
) -> list[Markup]:
    parts = []
    for n in range(5):
        value = lo + (hi - lo) * n / 4
        y = top + plot_h - plot_h * n / 4
        grid = Markup(
            '<line x1="{l}" x2="{r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ec"/>'
            '<text x="{tx}" y="{ty:.1f}" text-anchor="end" font-size="11">{v}</text>'
        )
        parts.append(
            grid.format(l=left, r=left + plot_w, y=y, tx=left - 4, ty=y + 4, v=_fmt(value))
        )
    count = max(len(x_labels), 1)
    for i, label in enumerate(x_labels):
        x = left + plot_w * (i + 0.5) / count
        tick = Markup(
            '<text x="{x:.1f}" y="{y}" text-anchor="middle" font-size="11">{label}</text>'
        )
        parts.append(tick.format(x=x, y=top + plot_h + 16, label=label))
    return parts


def _legend(names: Sequence[str], left: int, y: int, bars: bool) -> list[Markup]:
    parts: list[Markup] = []
    x = left
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        if bars:
            parts.append(
                Markup('<rect x="{x}" y="{y}" width="12" height="10" fill="{c}"/>').format(
                    x=x, y=y - 9, c=colour
                )
            )
        else:
            swatch = Markup(
                '<line x1="{x}" x2="{x2}" y1="{y}" y2="{y}" stroke="{c}" '
                'stroke-width="2" stroke-dasharray="{d}"/>'
            )
            parts.append(
                swatch.format(x=x, x2=x + 14, y=y - 4, c=colour, d=DASHES[i % len(DASHES)])
            )
        parts.append(
            Markup('<text x="{x}" y="{y}" font-size="11">{name}</text>').format(
                x=x + 18, y=y, name=name
            )
        )
        x += 26 + 7 * len(name)
    return parts


def line_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    lines: Sequence[Line],
    *,
    width: int = 520,
    height: int = 240,
    y_range: tuple[float, float] | None = None,
) -> Markup:
    """Lines over categories (years); a None value breaks the line. `y_range` fixes the axis
    (0..100 for percentages), else it fits the values."""
    left, top, right, bottom = 56, 28, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for ln in lines for v in ln.values if v is not None]
    lo, hi = y_range or _nice_range(values or [0.0])
    count = max(len(x_labels), 1)
    body = _axes(lo, hi, x_labels, left, top, plot_w, plot_h)
    for n, ln in enumerate(lines):
        colour, dash = PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)]
        segment: list[str] = []
        points: list[tuple[float, float] | None] = []
        for i, v in enumerate(ln.values):
            if v is None:
                points.append(None)
                continue
            x = left + plot_w * (i + 0.5) / count
            y = top + plot_h - plot_h * (v - lo) / (hi - lo)
            points.append((x, y))
            body.append(
                Markup(
                    '<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{c}">'
                    "<title>{name}: {v}</title></circle>"
                ).format(x=x, y=y, c=colour, name=ln.name, v=_fmt(v))
            )
        for p in [*points, None]:
            if p is None:
                if len(segment) > 1:
                    body.append(
                        Markup(
                            '<polyline fill="none" stroke="{c}" stroke-width="2" '
                            'stroke-dasharray="{d}" points="{p}"/>'
                        ).format(c=colour, d=dash, p=" ".join(segment))
                    )
                segment = []
            else:
                segment.append(f"{p[0]:.1f},{p[1]:.1f}")
    body += _legend([ln.name for ln in lines], left, 14, bars=False)
    return _frame(chart_id, title, width, height, body)


def bar_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    lines: Sequence[Line],
    *,
    width: int = 520,
    height: int = 240,
) -> Markup:
    """Grouped bars: one group per category, one bar per series."""
    left, top, right, bottom = 56, 28, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for ln in lines for v in ln.values if v is not None]
    lo, hi = _nice_range(values or [0.0])
    count = max(len(x_labels), 1)
    group_w = plot_w / count
    bar_w = group_w * 0.8 / max(len(lines), 1)
    zero = top + plot_h - plot_h * (0 - lo) / (hi - lo)
    body = _axes(lo, hi, x_labels, left, top, plot_w, plot_h)
    for n, ln in enumerate(lines):
        for i, v in enumerate(ln.values):
            if v is None:
                continue
            x = left + group_w * i + group_w * 0.1 + bar_w * n
            y = top + plot_h - plot_h * (v - lo) / (hi - lo)
            body.append(
                Markup(
                    '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                    'fill="{c}"><title>{name}: {v}</title></rect>'
                ).format(
                    x=x,
                    y=min(y, zero),
                    w=bar_w,
                    h=abs(zero - y),
                    c=PALETTE[n % len(PALETTE)],
                    name=ln.name,
                    v=_fmt(v),
                )
            )
    body += _legend([ln.name for ln in lines], left, 14, bars=True)
    return _frame(chart_id, title, width, height, body)


# --- shares and horizontal bars (the dashboard; also drawn into PDFs, so no request needed) ---

STATUS_COLOURS = ("#d4d4d4", "#f2c14e", "#b03a2e", "#5b8fc7", "#2e7d4f")


def share_text(value: float) -> str:
    """A share as an exact percent, two decimals, floored: 244/245 is "99.59 %", and only a
    complete share reads "100.00 %" (rounding would show 99.999 % as 100)."""
    return f"{math.floor(value * 10000 + 1e-9) / 100:.2f} %"


def percent_of(n: int, d: int) -> str:
    """n of d as an exact percent; "–" when there is nothing to count."""
    return share_text(n / d) if d else "–"


def _label_width(width: int) -> float:
    return min(150.0, width * 0.38)


def hbar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Line],
    *,
    width: int = 360,
    value_text: Callable[[float], str] = share_text,
    maximum: float = 1.0,
) -> Markup:
    """Horizontal bars, one row per label and one bar per series (e.g. rounds side by side).

    Labels sit above their bars, so long Thai names stay readable on a 360 px phone.
    Values are in 0..`maximum` (shares by default); a None value draws no bar but says so.
    """
    left, right = 8, 70
    bar_h = 10
    row_h = 16 + bar_h * max(len(series), 1) + 6
    top = 24 if len(series) > 1 else 8
    plot_w = width - left - right
    height = top + row_h * len(labels) + 4
    body: list[Markup] = []
    if len(series) > 1:
        body += _legend([s.name for s in series], left, 14, bars=True)
    for i, label in enumerate(labels):
        y0 = top + row_h * i
        body.append(
            Markup('<text x="{x}" y="{y}" font-size="11">{t}</text>').format(
                x=left, y=y0 + 12, t=label
            )
        )
        for n, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else None
            y = y0 + 16 + bar_h * n
            shown = "–" if v is None else value_text(v)
            w = 0.0 if v is None else max(0.0, min(v / maximum, 1.0)) * plot_w
            body.append(
                Markup(
                    '<rect x="{x}" y="{y}" width="{pw}" height="{h}" fill="#eef1f4"/>'
                    '<rect x="{x}" y="{y}" width="{w:.1f}" height="{h}" fill="{c}">'
                    "<title>{label} · {name}: {v}</title></rect>"
                    '<text x="{tx}" y="{ty}" font-size="10">{v}</text>'
                ).format(
                    x=left,
                    y=y,
                    pw=plot_w,
                    w=w,
                    h=bar_h - 2,
                    c=PALETTE[n % len(PALETTE)],
                    label=label,
                    name=s.name,
                    v=shown,
                    tx=left + plot_w + 4,
                    ty=y + bar_h - 2,
                )
            )
    return _frame(chart_id, title, width, height, body)


def stacked_hbar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    parts: Sequence[Line],
    *,
    width: int = 360,
    colours: Sequence[str] = STATUS_COLOURS,
) -> Markup:
    """One 100 % bar per label split into `parts` (e.g. statuses), counts in each tooltip.

    The legend is drawn above the bars, wrapping onto as many lines as the width needs.
    """
    left, right = 8, 8
    plot_w = width - left - right
    legend: list[Markup] = []
    x, y = left, 14
    for n, part in enumerate(parts):
        step = 26 + 7 * len(part.name)
        if x + step > width and x > left:
            x, y = left, y + 16
        legend.append(
            Markup(
                '<rect x="{x}" y="{y}" width="12" height="10" fill="{c}"/>'
                '<text x="{tx}" y="{ty}" font-size="11">{name}</text>'
            ).format(x=x, y=y - 9, c=colours[n % len(colours)], tx=x + 16, ty=y, name=part.name)
        )
        x += step
    top = y + 10
    row_h = 36
    height = top + row_h * len(labels)
    body = legend
    for i, label in enumerate(labels):
        y0 = top + row_h * i
        body.append(
            Markup('<text x="{x}" y="{y}" font-size="11">{t}</text>').format(
                x=left, y=y0 + 12, t=label
            )
        )
        values = [float(p.values[i] or 0) if i < len(p.values) else 0.0 for p in parts]
        total = sum(values)
        at = float(left)
        for n, (part, v) in enumerate(zip(parts, values, strict=True)):
            if v <= 0 or total <= 0:
                continue
            w = plot_w * v / total
            body.append(
                Markup(
                    '<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="14" fill="{c}">'
                    "<title>{label} · {name}: {v} ({p})</title></rect>"
                ).format(
                    x=at,
                    y=y0 + 16,
                    w=w,
                    c=colours[n % len(colours)],
                    label=label,
                    name=part.name,
                    v=_fmt(v),
                    p=share_text(v / total),
                )
            )
            at += w
        if total <= 0:
            body.append(
                Markup('<rect x="{x}" y="{y}" width="{w}" height="14" fill="#eef1f4"/>').format(
                    x=left, y=y0 + 16, w=plot_w
                )
            )
    return _frame(chart_id, title, width, height, body)
