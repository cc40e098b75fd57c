"""What the coaching pages share: form limits, the fiscal year asked for, labels, small maps."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..db import get_session
from ..models import Office
from ..public.mapview import base_map, geojson_of, js_safe_text, render_parts
from ..security import current_actor
from ..services import boundaries, progress
from ..services import coaching as svc
from ..services.errors import N_
from . import bp

# Longest value each form field may hold (what the service keeps); refused, never cut.
LIMITS = {
    "office": 60,
    "reason": 1_000,
    "note": 2_000,
    "status": 30,
    "link": 2_000,
    "team": 2_000,
    "agenda": 5_000,
    "attendees": 5_000,
    "notes": 10_000,
    "follow_ups": 5_000,
    "host": 60,
    "invited": 20_000,
    "visits": 20_000,
    "kind": 30,
}
CLUSTERS = (1, forms.SMALLINT[1])
IDS = (1, forms.INTEGER[1])

KIND_LABELS = {
    "online_plan_check": N_("3 months · plan check (online, e-MES)"),
    "onsite_coaching": N_("6 months · on-site coaching"),
    "online_cluster": N_("9 months · progress, one online session per cluster"),
    "online_evaluation": N_("12 months · evaluation against targets (online)"),
}
ORDER_METHOD_LABELS = {
    "exact": N_("Visit order: the shortest possible (exact, Held–Karp)."),
    "heuristic": N_(
        "Visit order: found by a heuristic (more than %(n)s visits), short but not proven shortest."
    ),
    "manual": N_("Visit order: as entered by the team, not optimised."),
}


def user() -> Any:
    """The signed-in user, or None: the coaching rules take None for anonymous visitors."""
    return current_user if current_user.is_authenticated else None


def fiscal_year_arg() -> int:
    """?fiscal_year= when it is a plausible year, else the year being reported on now."""
    wanted = request.args.get("fiscal_year", type=int)
    if wanted and forms.FISCAL_YEARS[0] <= wanted <= forms.FISCAL_YEARS[1]:
        return wanted
    return progress.shown_fiscal_year(get_session(), current_actor().today_bangkok)


def cluster_no_or_404(no: int) -> None:
    if not CLUSTERS[0] <= no <= CLUSTERS[1]:  # past the column's range: no such cluster
        abort(404, description=_("No such cluster."))


@bp.app_template_global("round_kind_label")
def round_kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


@bp.app_template_global("order_method_label")
def order_method_label(method: str | None, exact_max: int) -> str:
    return _(ORDER_METHOD_LABELS[method], n=exact_max) if method in ORDER_METHOD_LABELS else ""


def offices_map(offices: list[Office]) -> dict[str, str]:
    """The offices of a cluster as pins inside the outline of the provinces they sit in or
    cover (imported outlines, else the basemap's), the view fitted to both."""
    import folium  # where used: it slows every process's start (public/mapview.py)

    cfg = current_app.config
    m = base_map(cfg["PINMAP_TILES"], cfg["PINMAP_TILES_ATTRIBUTION"])
    outlines = boundaries.province_outlines(get_session())
    codes = {o.office_province_code for o in offices} | {
        c.province_code for o in offices for c in o.covered
    }
    known = sorted(codes & outlines.shapes.keys())
    if known:
        region = boundaries.dissolve(outlines, known)
        folium.GeoJson(
            geojson_of(region),
            name="cluster",
            style_function=lambda _: {"color": "#3d5a80", "weight": 2.5, "fillOpacity": 0},
            interactive=False,
        ).add_to(m)
        west, south, east, north = region.bounds
        m.fit_bounds([[south, west], [north, east]])
    points = [svc.lonlat(o) for o in offices]
    for office, (lon, lat) in zip(offices, points, strict=True):
        folium.CircleMarker(
            [lat, lon],
            radius=7,
            color="#1d3557",
            fill=True,
            fill_color="#e63946",
            fill_opacity=0.9,
            tooltip=folium.Tooltip(str(js_safe_text(office.name_th))),
        ).add_to(m)
    if points and not known:
        lats, lons = [p[1] for p in points], [p[0] for p in points]
        m.fit_bounds([[min(lats) - 0.1, min(lons) - 0.1], [max(lats) + 0.1, max(lons) + 0.1]])
    return render_parts(m)
