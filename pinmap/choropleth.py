"""Server-side SVG choropleth of Thailand on the embedded basemap (no JavaScript, no request).

The same function draws the dashboard's map and the maps in generated PDFs, so it needs no
Flask request or app context: every user-visible word (title, legend, "no data") is a
parameter the caller translates; the defaults are English.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from markupsafe import Markup

from geo.svgmap import group_outlines, projected_basemap

from .charts import share_text

# ColorBrewer YlGnBu (5 classes): sequential, colour-blind safe, prints legibly in grey.
COLOURS: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
# Shares: under half, under 80 %, under 95 %, under 100 %, complete.
SHARE_BREAKS: tuple[float, ...] = (0.5, 0.8, 0.95, 1.0)
NO_DATA = "#d4d4d4"
NEIGHBOUR = "#efece6"
SEA = "#eaf2f8"
LEGEND_ROW = 18

__all__ = ["choropleth_svg", "share_text"]


def _bin(value: float, breaks: Sequence[float]) -> int:
    for i, b in enumerate(breaks):
        if value < b:
            return i
    return len(breaks)


def _percent_short(value: float) -> str:
    return f"{value * 100:g} %"


def _legend_labels(breaks: Sequence[float], fmt: Callable[[float], str]) -> list[str]:
    short = _percent_short if fmt is share_text else fmt
    labels = [f"< {short(breaks[0])}"]
    labels += [f"{short(lo)} – < {short(hi)}" for lo, hi in zip(breaks, breaks[1:], strict=False)]
    # For shares the top class is "complete": exactly 100 %, never more.
    labels.append(
        short(1.0) if fmt is share_text and breaks[-1] == 1.0 else f"≥ {short(breaks[-1])}"
    )
    return labels


def choropleth_svg(
    values: Mapping[str, float | None],
    *,
    by: Literal["province", "cluster"],
    province_cluster: Mapping[str, int | str] | None = None,
    title: str = "Map",
    chart_id: str = "choropleth",
    width: int = 360,
    breaks: Sequence[float] = SHARE_BREAKS,
    colours: Sequence[str] = COLOURS,
    value_text: Callable[[float], str] = share_text,
    legend_labels: Sequence[str] | None = None,
    no_data_label: str = "No data",
    names: Mapping[str, str] | None = None,
    details: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    highlight: str | None = None,
) -> Markup:
    """A choropleth of Thailand, coloured by `values`.

    `values` is keyed by what `by` names: a province's two-digit DOPA code (as in
    data/provinces.csv) for "province"; a cluster's number as a string ("1".."18") for
    "cluster". A missing key or a None value is drawn in the "no data" colour.

    by="cluster" colours every province with its cluster's value and draws each cluster's
    outline (the union of its provinces) over them, labelled with its key; it needs
    `province_cluster`, province code → cluster number (the provinces table's cluster_no).

    `breaks` (ascending) split values into len(breaks) + 1 classes coloured by `colours`; the
    defaults suit shares in 0..1 (the top class is "complete", ≥ 1.0). `legend_labels` overrides
    the generated legend text (one per class). `names` (key → display name), `details` (key →
    extra text such as "242 / 245") go into each area's `<title>` tooltip; `links` (key → URL)
    makes areas links; `highlight` (a key) gets a heavy outline. All text is escaped.
    """
    if by not in ("province", "cluster"):
        raise ValueError(f"by must be 'province' or 'cluster', not {by!r}")
    if len(colours) != len(breaks) + 1:
        raise ValueError("colours needs exactly one more entry than breaks")
    if by == "cluster" and province_cluster is None:
        raise ValueError("by='cluster' needs province_cluster")
    width = max(200, min(int(width), 1600))
    base = projected_basemap(width)
    frame = base.frame
    names = names or {}
    details = details or {}
    links = links or {}

    clusters = province_cluster or {}

    def key_of(code: str) -> str:
        return code if by == "province" else str(clusters.get(code, ""))

    def fill_of(key: str) -> str:
        v = values.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return NO_DATA
        return colours[_bin(v, breaks)]

    def tooltip(key: str, province: str | None) -> str:
        v = values.get(key)
        shown = no_data_label if v is None else value_text(v)
        name = names.get(key, key)
        head = f"{name} · {province}" if province and by == "cluster" else (province or name)
        extra = details.get(key)
        return f"{head}: {shown}" + (f" ({extra})" if extra else "")

    legend = list(legend_labels or _legend_labels(breaks, value_text)) + [no_data_label]
    columns = 2 if width >= 300 else 1
    rows = math.ceil(len(legend) / columns)
    map_h = frame.height
    height = map_h + 8 + (rows + 1) * LEGEND_ROW

    body: list[Markup] = [
        Markup('<rect width="{w:.0f}" height="{h:.1f}" fill="{c}"/>').format(
            w=frame.width, h=map_h, c=SEA
        ),
        Markup('<path d="{d}" fill="{c}" stroke="#c9c3b8" stroke-width="0.5"/>').format(
            d=base.neighbours, c=NEIGHBOUR
        ),
    ]
    # Provinces grouped by their key, so one <title> names the area (and one link opens it).
    groups: dict[str, list[str]] = {}
    for code in sorted(base.provinces):
        groups.setdefault(key_of(code), []).append(code)
    for key, codes in groups.items():
        paths = Markup("").join(
            Markup(
                '<path d="{d}" fill="{fill}" fill-rule="evenodd"><title>{t}</title></path>'
            ).format(
                d=base.provinces[c].d,
                fill=fill_of(key),
                t=tooltip(key, base.provinces[c].name_th),
            )
            for c in codes
        )
        group = Markup('<g class="area" data-key="{k}" stroke="#ffffff" stroke-width="0.6">')
        inner = group.format(k=key) + paths + Markup("</g>")
        if key in links:
            inner = Markup('<a href="{u}">').format(u=links[key]) + inner + Markup("</a>")
        body.append(inner)
    if by == "cluster":
        outlines = group_outlines(
            width, tuple((k, tuple(cs)) for k, cs in sorted(groups.items()) if k)
        )
        # The highlighted cluster last, so its neighbours' outlines do not cover it.
        for key, (d, _xy) in sorted(outlines.items(), key=lambda kv: kv[0] == highlight):
            heavy = key == highlight
            body.append(
                Markup(
                    '<path d="{d}" fill="none" stroke="{c}" stroke-width="{w}" '
                    'pointer-events="none"/>'
                ).format(d=d, c="#e07a1f" if heavy else "#333333", w=3 if heavy else 1.2)
            )
        for key, (_d, (x, y)) in outlines.items():
            body.append(
                Markup(
                    '<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
                    'font-weight="bold" fill="#111111" stroke="#ffffff" stroke-width="3" '
                    'paint-order="stroke" pointer-events="none">{label}</text>'
                ).format(x=x, y=y + 4, label=key)
            )
    elif highlight in base.provinces:
        body.append(
            Markup(
                '<path d="{d}" fill="none" stroke="#e07a1f" stroke-width="3" '
                'pointer-events="none"/>'
            ).format(d=base.provinces[highlight].d)
        )

    # Legend under the map, in one or two columns.
    col_w = (width - 16) / columns
    ly = map_h + 8
    body.append(
        Markup('<text x="8" y="{y:.1f}" font-size="12" font-weight="bold">{t}</text>').format(
            y=ly + 13, t=title
        )
    )
    swatches = [*colours, NO_DATA]
    for i, label in enumerate(legend):
        col, row = divmod(i, rows)
        x, y = 8 + col * col_w, ly + (row + 1) * LEGEND_ROW
        body.append(
            Markup(
                '<rect x="{x:.1f}" y="{y:.1f}" width="14" height="12" fill="{c}" '
                'stroke="#777777" stroke-width="0.5"/>'
                '<text x="{tx:.1f}" y="{ty:.1f}" font-size="11">{label}</text>'
            ).format(x=x, y=y + 2, c=swatches[i], tx=x + 20, ty=y + 12, label=label)
        )

    head = Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart choropleth" role="img" '
        'aria-labelledby="{id}-t" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}" '
        'font-family="sans-serif">'
        '<title id="{id}-t">{title}</title>'
    ).format(id=chart_id, w=frame.width, h=math.ceil(height), title=title)
    return head + Markup("").join(body) + Markup("</svg>")
