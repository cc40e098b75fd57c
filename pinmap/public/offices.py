"""The list of offices and an office's public page: profile, people, counts, results, plan."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from ..charts import Line, bar_chart, line_chart
from ..db import get_session
from ..models import Office, School
from ..security import current_actor
from ..services import best_practices as bps
from ..services import levels as level_svc
from ..services import offices as svc
from ..services import plans as plan_svc
from ..services import profiles as profile_svc
from ..services import progress
from ..services import projects as project_svc
from ..services import results as result_svc
from ..services import schools as school_svc
from ..shapes import point_of
from . import bp
from .mapview import js_safe_text, office_map, province_outline, render_parts
from .photos import photo_url


@bp.route("/offices")
def office_list() -> Any:
    session = get_session()
    rows = session.scalars(select(Office).order_by(Office.cluster_no, Office.code)).all()
    return render_template("public/office_list.html", offices=rows)


def _chart(series: result_svc.Series, office: Office, n: int) -> Markup:
    labels = [str(y) for y in series.years]
    lines = [
        Line(office.name_th, [series.office.get(y) for y in series.years]),
        Line(_("Cluster average"), [series.cluster_avg.get(y) for y in series.years]),
        Line(_("National average"), [series.national_avg.get(y) for y in series.years]),
    ]
    if any(series.obec_target.get(y) is not None for y in series.years):
        lines.append(Line(_("OBEC target"), [series.obec_target.get(y) for y in series.years]))
    title = series.indicator + (f" ({series.unit})" if series.unit else "")
    draw = line_chart if len(labels) > 1 else bar_chart
    return draw(f"chart-{n}", title, labels, lines)


def _popup(office: Office, profile: dict[str, Any], director: dict[str, Any] | None) -> Markup:
    popup = Markup("<strong>{}</strong>").format(js_safe_text(office.name_th))
    for label, value in (
        (_("Address"), profile.get("address")),
        (_("Phone"), profile.get("phone")),
        (_("Director"), director["name"] if director else None),
    ):
        if value:
            popup += Markup("<br><span>{}: {}</span>").format(
                js_safe_text(label), js_safe_text(value)
            )
    return popup


@bp.route("/offices/<code>")
def office(code: str) -> Any:
    session = get_session()
    found = svc.office_or_404(session, code)
    rev = profile_svc.approved_revision(session, found.id)
    profile = rev.data if rev else {}
    people = [
        {
            **p,
            "photo": photo_url(p.get("photo_id"), thumb=True),
            "photo_full": photo_url(p.get("photo_id")),
        }
        for p in profile.get("people") or []
    ]
    director = next((p for p in people if p.get("role") == "director"), None)
    point = point_of(found.geom)
    cfg = current_app.config
    office_map_parts = render_parts(
        office_map(
            point.x,
            point.y,
            found.name_th,
            province_outline(session, found),
            cfg["PINMAP_TILES"],
            cfg["PINMAP_TILES_ATTRIBUTION"],
            popup=_popup(found, profile, director),
        )
    )
    fiscal_year = progress.shown_fiscal_year(
        session, current_actor().today_bangkok, request.args.get("fiscal_year", type=int)
    )
    approved = progress.approved_for_office(session, found.id, fiscal_year) if fiscal_year else []
    schools = session.scalars(
        select(School).filter_by(office_id=found.id).order_by(School.amphoe_th, School.name_th)
    ).all()
    # Quarterly project reports: what the workflow finally approved (ingested ones too).
    projects = project_svc.public_reports(session, found.id)
    series = result_svc.office_series(session, found)
    extra = {
        "profile": profile if rev else None,
        "revision": rev,
        "people": people,
        "office_photo": photo_url(profile.get("office_photo_id")),
        "stats": school_svc.latest_stats(session, found.id),
        "school_count": school_svc.school_count(session, found.id),
        "results": [(s, _chart(s, found, n)) for n, s in enumerate(series, start=1)],
        "category_labels": result_svc.CATEGORY_LABELS,
        "levels": level_svc.office_levels(session, found),
        "best_practices": bps.of_office(session, found.id, approved_only=True),
        "plan": plan_svc.approved_latest(session, found.id),
    }
    return render_template(
        "public/office.html",
        office=found,
        point=point,
        map=office_map_parts,
        extra=extra,
        fiscal_year=fiscal_year,
        approved=approved,
        items=progress.items_of(session, fiscal_year) if fiscal_year else [],
        schools=schools,
        projects=projects,
        project_labels=project_svc.LABELS,
        project_statuses=project_svc.STATUS_LABELS,
    )
