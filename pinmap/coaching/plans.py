"""The visit planner: plans (public once published), a new plan, one plan and each of its
buttons (save, publish, withdraw, record a visit), printing and exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import forms
from ..auth import can
from ..db import get_session
from ..downloads import content_disposition
from ..errors import service_message
from ..extensions import login_manager
from ..models import Cluster, Office, VisitPlan
from ..public.mapview import base_map, js_safe_text, render_parts
from ..security import current_actor, require
from ..services import coaching as svc
from ..services.errors import N_, ServiceError
from . import bp
from .common import CLUSTERS, IDS, LIMITS, user


def _float_arg(source: Any, name: str, lo: float, hi: float) -> float | None:
    try:
        return forms.decimal(source.get(name), name, lo, hi)
    except ServiceError as err:
        abort(400, description=service_message(err))


def _int_arg(source: Any, name: str, lo: int, hi: int) -> int | None:
    try:
        return forms.whole(source.get(name), name, lo, hi)
    except ServiceError as err:
        abort(400, description=service_message(err))


@bp.route("/plans")
def plans() -> Any:
    session = get_session()
    cluster_no = request.args.get("cluster", type=int)
    return render_template(
        "coaching/plans.html",
        plans=svc.list_plans(session, user(), cluster_no),
        can_plan=can(user(), "plan_visits"),
        cluster_no=cluster_no,
    )


@bp.route("/plans/new", methods=["GET", "POST"])
@require("plan_visits")
def new_plan() -> Any:
    session = get_session()
    source = request.form if request.method == "POST" else request.args
    try:
        forms.check_text(source, LIMITS, default_limit=40)
    except ServiceError as err:
        abort(400, description=service_message(err))
    cluster_no = _int_arg(source, "cluster", *CLUSTERS)
    # Out of the planner's own range is the service's refusal, with the range in the message.
    radius_km = _float_arg(source, "radius_km", 0, 1e6)
    k = _int_arg(source, "k", 0, forms.SMALLINT[1])
    round_id = _int_arg(source, "round_id", *IDS)
    proposal, error, status = None, None, 200
    if cluster_no is not None:
        try:
            if request.method == "POST":
                if round_id is None:
                    raise ServiceError(400, N_("Choose a monitoring round."))
                plan = svc.create_plan(
                    session,
                    current_actor(),
                    round_id,
                    cluster_no,
                    radius_km=radius_km,
                    k=k,
                    host_code=source.get("host") or None,
                )
                session.commit()
                return redirect(url_for("coaching.plan", plan_id=plan.id))
            proposal = svc.propose(
                session, cluster_no, radius_km=radius_km, k=k, host_code=source.get("host") or None
            )
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
    return render_template(
        "coaching/plan_new.html",
        proposal=proposal,
        error=error,
        cluster_no=cluster_no,
        radius_km=radius_km,
        k=k,
        round_id=round_id,
        rounds=svc.list_rounds(session),
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        radius_range=svc.RADIUS_KM_RANGE,
        k_range=svc.NEAREST_K_RANGE,
    ), status


def _visible(plan_id: int) -> VisitPlan:
    return svc.visible_plan(get_session(), plan_id, user())


def _plan_map(data: dict[str, Any]) -> dict[str, str]:
    import folium  # where used: it slows every process's start (public/mapview.py)

    cfg = current_app.config
    m = base_map(cfg["PINMAP_TILES"], cfg["PINMAP_TILES_ATTRIBUTION"])
    colours = {"host": "#e63946", "visit": "#1d3557", "invited": "#2a9d8f"}
    stops = ([data["host"]] if data["host"] else []) + data["visits"] + data["invited"]
    for s in stops:
        label = f"{s['position']}. " if s["role"] != "invited" else ""
        folium.CircleMarker(
            [s["lat"], s["lon"]],
            radius=8 if s["role"] == "host" else 6,
            color=colours[s["role"]],
            fill=True,
            fill_color=colours[s["role"]],
            fill_opacity=0.85,
            tooltip=folium.Tooltip(str(js_safe_text(label + s["name_th"]))),
        ).add_to(m)
    path = ([data["host"]] if data["host"] else []) + data["visits"]
    if len(path) > 1:
        folium.PolyLine([[s["lat"], s["lon"]] for s in path], color="#1d3557", weight=3).add_to(m)
    if stops:
        lats, lons = [s["lat"] for s in stops], [s["lon"] for s in stops]
        m.fit_bounds([[min(lats) - 0.1, min(lons) - 0.1], [max(lats) + 0.1, max(lons) + 0.1]])
    return render_parts(m)


PLAN_FORM = (
    "host",
    "visit_date",
    "team",
    "agenda",
    "invited",
    "visits",
    "optimise",
    "visited_on",
    "attendees",
    "notes",
    "follow_ups",
)


def _plan_page(
    found: VisitPlan,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Any:
    session = get_session()
    data = svc.plan_dict(session, found)
    records = svc.visit_records(session, found) if can(user(), "plan_visits") else []
    return render_template(
        "coaching/plan.html",
        plan=found,
        data=data,
        map=_plan_map(data),
        records=records,
        # Each follow-up's acknowledgements and later-round reports, office by office.
        follow_ups=svc.follow_up_views(session, records),
        office_names={
            o.id: o.name_th
            for o in session.scalars(
                select(Office).where(Office.id.in_(svc.plan_office_ids(session, found)))
            )
        },
        can_plan=can(user(), "plan_visits"),
        members=svc.cluster_offices(session, found.cluster_no),
        xlsx=svc.xlsx_available(),
        error=error,
        typed=typed,
    ), status


@bp.get("/plans/<int:plan_id>")
def plan(plan_id: int) -> Any:
    return _plan_page(_visible(plan_id))


def _press(button: str, plan_id: int, write: Callable[[VisitPlan, int | None], Any]) -> Any:
    """One button of the plan page: check, write, commit once; else the page as typed."""
    session = get_session()
    found = _visible(plan_id)
    if user() is None:
        return login_manager.unauthorized()  # like every other page: sign in first
    if not can(user(), "plan_visits"):
        abort(403)
    # `action` tells the page which of its forms to fill again with what was typed.
    typed = {"action": button, **{k: request.form.get(k, "") for k in PLAN_FORM}}
    try:
        forms.same_button(button)
        forms.check_text(request.form, LIMITS, default_limit=40)
        write(found, request.form.get("version", type=int))
        session.commit()
    except ServiceError as err:
        session.rollback()
        # The plan exists; an unknown office typed into the form is a bad form, not a 404.
        status = 400 if err.status == 404 else err.status
        return _plan_page(svc.get_plan(session, plan_id), service_message(err), status, typed)
    flash(_("Saved."))
    return redirect(url_for("coaching.plan", plan_id=plan_id))


@bp.post("/plans/<int:plan_id>")
def save_plan(plan_id: int) -> Any:
    def write(found: VisitPlan, version: int | None) -> None:
        visit_date = forms.day(request.form.get("visit_date", ""), "visit_date")
        svc.save_plan(
            get_session(),
            current_actor(),
            found,
            version,
            host_code=request.form.get("host") or None,
            invited=request.form.get("invited", "").split(),
            visits=request.form.get("visits", "").split(),
            optimise=request.form.get("optimise") == "1",
            visit_date=visit_date,
            team=request.form.get("team", ""),
            agenda=request.form.get("agenda", ""),
        )

    return _press("save", plan_id, write)


@bp.post("/plans/<int:plan_id>/publish")
def publish_plan(plan_id: int) -> Any:
    def write(found: VisitPlan, version: int | None) -> None:
        svc.publish_plan(get_session(), current_actor(), found, version, True)

    return _press("publish", plan_id, write)


@bp.post("/plans/<int:plan_id>/unpublish")
def unpublish_plan(plan_id: int) -> Any:
    def write(found: VisitPlan, version: int | None) -> None:
        svc.publish_plan(get_session(), current_actor(), found, version, False)

    return _press("unpublish", plan_id, write)


@bp.post("/plans/<int:plan_id>/records")
def record_visit(plan_id: int) -> Any:
    def write(found: VisitPlan, version: int | None) -> None:
        svc.record_visit(
            get_session(),
            current_actor(),
            found,
            visited_on=forms.day(request.form.get("visited_on", ""), "visited_on"),
            team=request.form.get("team", ""),
            attendees=request.form.get("attendees", ""),
            notes=request.form.get("notes", ""),
            follow_ups=request.form.get("follow_ups", ""),
        )

    return _press("record", plan_id, write)


@bp.post("/plans/<int:plan_id>/records/<int:record_id>/publish")
def publish_record(plan_id: int, record_id: int) -> Any:
    """The record goes to the plan's offices (each told once); it cannot be taken back."""

    try:  # an address naming no record of this plan is not found, not a bad form
        svc.get_record(get_session(), _visible(plan_id), record_id)
    except ServiceError as err:
        abort(err.status, description=service_message(err))

    def write(found: VisitPlan, _version: int | None) -> None:
        session = get_session()
        svc.publish_record(
            session, current_actor(), found, svc.get_record(session, found, record_id)
        )

    return _press("publish_record", plan_id, write)


@bp.route("/plans/<int:plan_id>/print")
def plan_print(plan_id: int) -> Any:
    session = get_session()
    found = _visible(plan_id)
    return render_template(
        "coaching/plan_print.html", plan=found, data=svc.plan_dict(session, found)
    )


def _download(body: str | bytes, mimetype: str, name: str) -> Response:
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": content_disposition(name)}
    )


@bp.route("/plans/<int:plan_id>.<fmt>")
def plan_export(plan_id: int, fmt: str) -> Response:
    session = get_session()
    data = svc.plan_dict(session, _visible(plan_id))
    name = f"visit-plan-{plan_id}"
    if fmt == "csv":
        return _download(svc.plan_csv(data), "text/csv", f"{name}.csv")
    if fmt == "xlsx":
        body = svc.plan_xlsx(data)
        if body is None:
            abort(404, description=_("XLSX export is not available on this server."))
        return _download(
            body,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{name}.xlsx",
        )
    if fmt == "geojson":
        return _download(
            svc.dumps(svc.plan_geojson(data)), "application/geo+json", f"{name}.geojson"
        )
    if fmt == "ics":
        return _download(
            svc.plan_ics(data, request.host, current_actor().now), "text/calendar", f"{name}.ics"
        )
    abort(404)
