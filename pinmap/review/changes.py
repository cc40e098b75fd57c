"""What the review desks show beside a submission: its changes (services/diffs.py), the pin move
drawn as a small server-side SVG on the embedded basemap, and the counts of waiting work in the
navigation. Registered as template globals so the desks' templates include them in one line.
"""

from __future__ import annotations

import math
from typing import Any, Final

import shapely
from flask import g, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from shapely.geometry.base import BaseGeometry

from geo.basemap import basemap

from .. import thumbnails
from ..auth import can
from ..db import get_session
from ..public.photos import preview_url
from ..security import current_actor
from ..services import diffs
from ..services import profiles as profile_svc
from ..services import progress as progress_svc
from . import bp

SVG_W: Final = 360
SVG_H: Final = 260
MIN_SPAN_DEG: Final = 0.6  # the smallest stretch shown, ~65 km north to south: some context
PROFILE_FIELDS: Final = ("address", "phone", "email", "website", "staff_count")


def _project(lon0: float, lat1: float, k: float, kx: float) -> Any:
    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - lon0) * kx, 1), round((lat1 - lat) * k, 1)

    return xy


def _path(geom: BaseGeometry, xy: Any) -> str:
    parts: list[str] = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in [poly.exterior, *poly.interiors]:
            pts = [xy(x, y) for x, y in ring.coords]
            parts.append("M" + "L".join(f"{x},{y}" for x, y in pts) + "Z")
    return "".join(parts)


def pin_svg(change: diffs.PinChange) -> Markup:
    """Old (hollow, grey) and new (red) pins on the basemap around them; empty if neither."""
    points = [p for p in (change.old, change.new) if p is not None]
    if not points:
        return Markup("")
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    mid_lon, mid_lat = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    cos_lat = max(0.2, math.cos(math.radians(mid_lat)))
    # Degrees of latitude the picture spans: both pins with a margin, never a street-level zoom.
    span_lat = max(
        MIN_SPAN_DEG,
        (max(lats) - min(lats)) * 1.8,
        (max(lons) - min(lons)) * cos_lat * 1.8 * SVG_H / SVG_W,
    )
    span_lon = span_lat * SVG_W / SVG_H / cos_lat
    lon0, lat1 = mid_lon - span_lon / 2, mid_lat + span_lat / 2
    k = SVG_H / span_lat
    xy = _project(lon0, lat1, k, SVG_W / span_lon)
    box = (lon0, lat1 - span_lat, lon0 + span_lon, lat1)
    tolerance = span_lat / 400
    layers = []
    base = basemap()
    # Thailand is drawn by its provinces (filled as land); "land" is the basemap's world mask.
    for name, css in (("countries", "dm-country"), ("provinces", "dm-prov")):
        for feature in base.get(name, []):
            clipped = shapely.clip_by_rect(feature.geometry, *box)
            if clipped.is_empty:
                continue
            d = _path(shapely.simplify(clipped, tolerance), xy)
            if d:
                layers.append(f'<path class="{css}" d="{d}"/>')
    names = []
    locale_key = "name_th" if str(get_locale()) == "th" else "name_en"
    for feature in base.get("provinces", []):
        label = feature.properties.get("label")
        if label and box[0] < label[0] < box[2] and box[1] < label[1] < box[3]:
            x, y = xy(*label)
            text = escape(feature.properties.get(locale_key) or "")
            names.append(f'<text class="dm-name" x="{x}" y="{y}">{text}</text>')
    marks = []
    if change.old and change.new and change.moved:
        (x1, y1), (x2, y2) = xy(*change.old), xy(*change.new)
        marks.append(f'<line class="dm-move" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>')
    if change.old:
        x, y = xy(*change.old)
        title = escape(_("Public pin"))
        marks.append(
            f'<circle class="dm-old" cx="{x}" cy="{y}" r="7"><title>{title}</title></circle>'
        )
    if change.new:
        x, y = xy(*change.new)
        title = escape(_("Proposed pin"))
        marks.append(
            f'<circle class="dm-new" cx="{x}" cy="{y}" r="6"><title>{title}</title></circle>'
        )
    label = escape(_("Map of the public and the proposed pin"))
    svg = (
        f'<svg class="diff-map" viewBox="0 0 {SVG_W} {SVG_H}" width="{SVG_W}" height="{SVG_H}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect class="dm-sea" width="{SVG_W}" height="{SVG_H}"/>'
        + "".join(layers)
        + "".join(names)
        + "".join(marks)
        + "</svg>"
    )
    # Safe: every number is formatted here and the only text (titles, label) is escaped.
    return Markup(svg)  # noqa: S704


@bp.app_template_global()
def profile_changes(rev: Any, office: Any) -> dict[str, Any]:
    """A profile revision against what the public sees now: pin, fields, school rows."""
    session = get_session()
    data = rev.data or {}
    approved = profile_svc.approved_revision(session, rev.office_id)
    pin = diffs.pin_change(profile_svc.lonlat_of_office(office), profile_svc.lonlat(rev))
    staged = data.get("schools")
    return {
        "pin": pin,
        "pin_svg": pin_svg(pin),
        "fields": diffs.field_changes(
            (approved.data if approved is not None and approved.id != rev.id else None) or {},
            data,
            PROFILE_FIELDS,
        )
        if approved is not None and approved.id != rev.id
        else [],
        "schools": diffs.school_rows(diffs.public_school_rows(session, rev.office_id), staged)
        if isinstance(staged, list)
        else None,
    }


@bp.app_template_global()
def review_waiting() -> dict[str, int] | None:
    """{progress, profiles} waiting for the signed-in reviewer; None for anyone else. One
    query, at most once per request, and only when a page's navigation asks."""
    if "review_waiting" in g:
        cached: dict[str, int] | None = g.review_waiting
        return cached
    counts = None
    user = current_user if current_user.is_authenticated else None
    if user is not None and can(user, "review_entry") and can(user, "review_profile"):
        session = get_session()
        year = progress_svc.shown_fiscal_year(session, current_actor().today_bangkok)
        counts = diffs.waiting_counts(session, user, year)
    g.review_waiting = counts
    return counts


@bp.app_template_global()
def file_previews(rev: Any = None, practice: Any = None) -> list[dict[str, Any]]:
    """The previewable files of a progress revision's evidence or a best practice's
    attachments: where the preview and the file are, the title, type and size."""
    found: list[dict[str, Any]] = []
    for e in getattr(rev, "evidence", None) or []:
        if e.kind == "file" and thumbnails.can_preview(e.mime):
            found.append(
                {
                    "src": preview_url("evidence", e.id),
                    "href": url_for("portal.evidence_file", evidence_id=e.id),
                    "title": e.title or e.original_name or "",
                    "mime": e.mime,
                    "size": e.size_bytes,
                }
            )
    for index, a in enumerate(getattr(practice, "attachments", None) or []):
        if isinstance(a, dict) and thumbnails.can_preview(a.get("mime")):
            found.append(
                {
                    "src": preview_url("best_practice", practice.id, index),
                    "href": url_for("public.best_practice_file", bp_id=practice.id, index=index),
                    "title": a.get("title") or a.get("original_name") or "",
                    "mime": a.get("mime"),
                    "size": a.get("size_bytes") or a.get("size"),
                }
            )
    return found
