"""Pages: a cluster, the OBEC dashboard, the monitoring rounds and the coaching visit planner."""

from __future__ import annotations

from typing import Any

import folium
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import forms
from ..auth import can
from ..db import get_session
from ..downloads import content_disposition
from ..errors import service_message
from ..extensions import login_manager
from ..models import ROUND_KINDS, Cluster, Office, PolicyItem
from ..public.mapview import base_map, js_safe_text, render_parts
from ..security import current_actor, require
from ..services import coaching as svc
from ..services import progress
from ..services.errors import N_, ServiceError
from . import bp

# Longest value each form field may hold (what the service keeps); refused, never cut.
LIMITS = {
    "office": 60,
    "reason": 1_000,
    "note": 2_000,
    "status": 30,
    "link": 2_000,
    "team": 2_000,
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


def _user() -> Any:
    return current_user if current_user.is_authenticated else None


def _or_404(call: Any, *args: Any) -> Any:
    for arg in args:  # ids and numbers from the address
        if isinstance(arg, int):
            forms.path_in_range(arg, 0, forms.INTEGER[1])
    try:
        return call(get_session(), *args)
    except ServiceError as err:
        abort(err.status, description=service_message(err))


def _fiscal_year() -> int:
    session = get_session()
    wanted = request.args.get("fiscal_year", type=int)
    if wanted and forms.FISCAL_YEARS[0] <= wanted <= forms.FISCAL_YEARS[1]:
        return wanted
    today = current_actor().today_bangkok
    return progress.catalogue_year(session, today) or progress.fiscal_year_of(today)


@bp.app_template_global("round_kind_label")
def round_kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


ORDER_METHOD_LABELS = {
    "exact": N_("Visit order: the shortest possible (exact, Held–Karp)."),
    "heuristic": N_(
        "Visit order: found by a heuristic (more than %(n)s visits), short but not proven shortest."
    ),
    "manual": N_("Visit order: as entered by the team, not optimised."),
}


@bp.app_template_global("order_method_label")
def order_method_label(method: str | None, exact_max: int) -> str:
    return _(ORDER_METHOD_LABELS[method], n=exact_max) if method in ORDER_METHOD_LABELS else ""


def _cluster_map(offices: list[Office]) -> dict[str, str]:
    cfg = current_app.config
    m = base_map(cfg["PINMAP_TILES"], cfg["PINMAP_TILES_ATTRIBUTION"])
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
    if points:
        lats, lons = [p[1] for p in points], [p[0] for p in points]
        m.fit_bounds([[min(lats) - 0.1, min(lons) - 0.1], [max(lats) + 0.1, max(lons) + 0.1]])
    return render_parts(m)


# --- cluster page ----------------------------------------------------------------------------


def _cluster_no_or_404(no: int) -> None:
    if not CLUSTERS[0] <= no <= CLUSTERS[1]:  # past the column's range: no such cluster
        abort(404, description=_("No such cluster."))


def _cluster_page(
    no: int, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Any:
    _cluster_no_or_404(no)
    session = get_session()
    found: Cluster = _or_404(svc.get_cluster, no)
    offices = svc.cluster_offices(session, no)
    fiscal_year = _fiscal_year()
    today = current_actor().today_bangkok
    rows = svc.completeness(session, fiscal_year, today, cluster_no=no)
    windows = progress.windows(session, fiscal_year)
    items = progress.items_of(session, fiscal_year)
    return render_template(
        "coaching/cluster.html",
        cluster=found,
        offices=offices,
        map=_cluster_map(offices),
        fiscal_year=fiscal_year,
        rows=rows,
        windows=windows,
        items=items,
        summary=svc.completeness_summary(rows, items, windows),
        practices=svc.cluster_best_practices(session, no),
        results=svc.results_vs_national(session, no),
        moves=svc.cluster_moves(session, no),
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        all_offices=session.scalars(select(Office).order_by(Office.code)).all(),
        can_manage=can(_user(), "manage_clusters"),
        due_within=svc.DUE_SOON_DAYS,
        # Submitted-but-unapproved counts are OBEC working data, not public.
        show_completeness=can(_user(), "view_dashboard"),
        error=error,
        typed=typed or {},
    ), status


@bp.route("/clusters/<int:no>")
def cluster(no: int) -> Any:
    return _cluster_page(no)


@bp.route("/clusters/<int:no>/members", methods=["POST"])
@require("manage_clusters")
def move_member(no: int) -> Any:
    _cluster_no_or_404(no)
    session = get_session()
    _or_404(svc.get_cluster, no)
    typed = {k: request.form.get(k, "") for k in ("office", "reason")}
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        svc.move_office(session, current_actor(), typed["office"], no, typed["reason"])
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _cluster_page(no, service_message(err), err.status, typed)
    flash(_("Moved %(code)s into cluster %(no)s.", code=typed["office"], no=no))
    return redirect(url_for("coaching.cluster", no=no))


# --- dashboard -------------------------------------------------------------------------------


@bp.route("/dashboard")
@require("view_dashboard")
def dashboard() -> Any:
    session = get_session()
    fiscal_year = _fiscal_year()
    today = current_actor().today_bangkok
    rows = svc.completeness(session, fiscal_year, today)
    windows = progress.windows(session, fiscal_year)
    items = progress.items_of(session, fiscal_year)
    late = [r for r in rows if r.overdue()]
    return render_template(
        "coaching/dashboard.html",
        fiscal_year=fiscal_year,
        windows=windows,
        items=items,
        summary=svc.completeness_summary(rows, items, windows),
        late=late,
        today=today,
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        due_within=svc.DUE_SOON_DAYS,
        offices_total=len(rows),
    )


@bp.route("/dashboard/offices")
@require("view_dashboard")
def dashboard_offices() -> Any:
    """The offices behind a dashboard figure: filter by round, item, cluster, state."""
    session = get_session()
    fiscal_year = _fiscal_year()
    today = current_actor().today_bangkok
    cluster_no = request.args.get("cluster", type=int)
    round_no = request.args.get("round", type=int)
    item_id = request.args.get("item", type=int)
    state = request.args.get("state", "missing")
    if state not in ("missing", "reported", "overdue", "all"):
        abort(400, description=_("Unknown state filter."))
    item = session.get(PolicyItem, item_id) if item_id else None
    rows = []
    for r in svc.completeness(session, fiscal_year, today, cluster_no=cluster_no):
        cells = [c for n, c in r.rounds.items() if round_no in (None, n)]
        if not cells:
            continue
        if item is not None:
            has = [item.id in c.reported_items for c in cells]
        else:
            has = [c.missing == 0 for c in cells]
        keep = {
            "missing": not all(has),
            "reported": all(has),
            "overdue": any(c.overdue() for c in cells) and not all(has),
            "all": True,
        }[state]
        if keep:
            rows.append(r)
    return render_template(
        "coaching/dashboard_offices.html",
        rows=rows,
        fiscal_year=fiscal_year,
        item=item,
        round_no=round_no,
        cluster_no=cluster_no,
        state=state,
        windows=progress.windows(session, fiscal_year),
    )


# --- monitoring rounds -----------------------------------------------------------------------


ROUND_FIELDS = ("fiscal_year", "round_no", "kind", "starts_on", "ends_on")


@bp.route("/rounds", methods=["GET", "POST"])
@require("view_dashboard")
def rounds() -> Any:
    session = get_session()
    status, error, typed = 200, None, None
    if request.method == "POST":
        if not can(current_user, "manage_rounds"):
            abort(403)
        typed = {k: request.form.get(k, "") for k in ROUND_FIELDS}
        try:
            forms.check_text(request.form, LIMITS, default_limit=20)
            upload = request.files.get("file")
            if upload is not None and upload.filename:
                text = upload.stream.read(200_000).decode("utf-8", errors="replace")
                if "\x00" in text:
                    raise ServiceError(
                        400, N_("The file contains a NUL character; it is not a CSV file.")
                    )
                summary = svc.load_rounds(session, "", current_actor(), text=text)
                flash(
                    _(
                        "Rounds loaded: %(inserted)s new, %(updated)s changed, %(unchanged)s "
                        "unchanged.",
                        **summary,
                    )
                )
            else:
                fiscal_year = forms.whole(
                    typed["fiscal_year"], "fiscal_year", *forms.FISCAL_YEARS, required=True
                )
                round_no = forms.whole(
                    typed["round_no"], "round_no", 1, forms.SMALLINT[1], required=True
                )
                starts = forms.day(typed["starts_on"], "starts_on", required=True)
                ends = forms.day(typed["ends_on"], "ends_on", required=True)
                svc.save_round(
                    session,
                    current_actor(),
                    fiscal_year,
                    round_no,  # type: ignore[arg-type]
                    typed["kind"],
                    starts,
                    ends,
                )  # type: ignore[arg-type]
                flash(_("Saved."))
            session.commit()
            return redirect(url_for("coaching.rounds"))
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
    return render_template(
        "coaching/rounds.html",
        rounds=svc.list_rounds(session),
        kinds=ROUND_KINDS,
        can_manage=can(current_user, "manage_rounds"),
        default_fy=_fiscal_year(),
        error=error,
        typed=typed or {},
    ), status


@bp.route("/rounds/<int:round_id>/statuses", methods=["GET", "POST"])
@require("view_dashboard")
def round_statuses(round_id: int) -> Any:
    session = get_session()
    rnd = _or_404(svc.get_round, round_id)
    error, status, typed = None, 200, None
    if request.method == "POST":
        if not can(current_user, "review_entry"):
            abort(403)
        typed = {k: request.form.get(k, "") for k in ("office", "status", "note")}
        try:
            forms.check_text(request.form, LIMITS, default_limit=100)
            svc.set_round_status(
                session, current_actor(), rnd, typed["office"], typed["status"], typed["note"]
            )
            session.commit()
            flash(_("Saved."))
            return redirect(
                url_for(
                    "coaching.round_statuses",
                    round_id=round_id,
                    cluster=request.args.get("cluster"),
                )
            )
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
            rnd = _or_404(svc.get_round, round_id)
    cluster_no = request.args.get("cluster", type=int)
    if cluster_no is not None and not CLUSTERS[0] <= cluster_no <= CLUSTERS[1]:
        cluster_no = None  # no such cluster: every office
    stmt = select(Office).order_by(Office.cluster_no, Office.code)
    if cluster_no:
        stmt = stmt.filter_by(cluster_no=cluster_no)
    return render_template(
        "coaching/round_statuses.html",
        round=rnd,
        offices=session.scalars(stmt).all(),
        statuses=svc.round_statuses(session, rnd),
        choices=svc.ROUND_STATUSES,
        cluster_no=cluster_no,
        can_set=can(current_user, "review_entry"),
        error=error,
        typed=typed or {},
    ), status


@bp.route("/rounds/<int:round_id>/sessions", methods=["GET", "POST"])
@require("view_dashboard")
def round_sessions(round_id: int) -> Any:
    session = get_session()
    rnd = _or_404(svc.get_round, round_id)
    status, error, typed = 200, None, None
    if request.method == "POST":
        if not can(current_user, "manage_rounds"):
            abort(403)
        typed = {k: request.form.get(k, "") for k in ("cluster", "starts_at", "link")}
        try:
            forms.check_text(request.form, LIMITS, default_limit=40)
            cluster_no = forms.whole(typed["cluster"], "cluster", *CLUSTERS, required=True)
            starts_at = forms.moment(typed["starts_at"], "starts_at")
            svc.set_cluster_session(
                session,
                current_actor(),
                rnd,
                cluster_no,  # type: ignore[arg-type]
                starts_at,
                typed["link"],
            )
            session.commit()
            flash(_("Saved."))
            return redirect(url_for("coaching.round_sessions", round_id=round_id))
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
            rnd = _or_404(svc.get_round, round_id)
    by_cluster = {s.cluster_no: s for s in svc.cluster_sessions(session, rnd)}
    return render_template(
        "coaching/round_sessions.html",
        round=rnd,
        sessions=by_cluster,
        tz=svc.BANGKOK,
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        can_manage=can(current_user, "manage_rounds"),
        error=error,
        typed=typed or {},
    ), status


@bp.route("/rounds/<int:round_id>/sessions.ics")
@require("view_dashboard")
def round_sessions_ics(round_id: int) -> Response:
    rnd = _or_404(svc.get_round, round_id)
    body = svc.sessions_ics(get_session(), rnd, request.host, current_actor().now)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": content_disposition(f"cluster-sessions-{round_id}.ics")},
    )


@bp.route("/rounds/<int:round_id>/evaluation")
@require("view_dashboard")
def round_evaluation(round_id: int) -> Any:
    rnd = _or_404(svc.get_round, round_id)
    cluster_no = request.args.get("cluster", type=int)
    rows = svc.evaluation(get_session(), rnd.fiscal_year, cluster_no)
    return render_template("coaching/evaluation.html", round=rnd, rows=rows, cluster_no=cluster_no)


# --- visit planner ---------------------------------------------------------------------------


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
        plans=svc.list_plans(session, _user(), cluster_no),
        can_plan=can(_user(), "plan_visits"),
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


def _visible(plan_id: int) -> Any:
    return _or_404(svc.visible_plan, plan_id, _user())


def _plan_map(data: dict[str, Any]) -> dict[str, str]:
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
    "invited",
    "visits",
    "optimise",
    "visited_on",
    "attendees",
    "notes",
    "follow_ups",
)


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
def plan(plan_id: int) -> Any:
    session = get_session()
    found = _visible(plan_id)
    status, error, typed = 200, None, None
    if request.method == "POST":
        if _user() is None:
            return login_manager.unauthorized()  # like every other page: sign in first
        if not can(_user(), "plan_visits"):
            abort(403)
        action = request.form.get("action", "save")
        version = request.form.get("version", type=int)
        typed = {"action": action, **{k: request.form.get(k, "") for k in PLAN_FORM}}
        try:
            forms.check_text(request.form, LIMITS, default_limit=40)
            if action == "save":
                visit_date = forms.day(typed["visit_date"], "visit_date")
                svc.save_plan(
                    session,
                    current_actor(),
                    found,
                    version,
                    host_code=request.form.get("host") or None,
                    invited=request.form.get("invited", "").split(),
                    visits=request.form.get("visits", "").split(),
                    optimise=request.form.get("optimise") == "1",
                    visit_date=visit_date,
                    team=request.form.get("team", ""),
                )
            elif action in ("publish", "unpublish"):
                svc.publish_plan(session, current_actor(), found, version, action == "publish")
            elif action == "record":
                svc.record_visit(
                    session,
                    current_actor(),
                    found,
                    visited_on=forms.day(typed["visited_on"], "visited_on"),
                    team=request.form.get("team", ""),
                    attendees=request.form.get("attendees", ""),
                    notes=request.form.get("notes", ""),
                    follow_ups=request.form.get("follow_ups", ""),
                )
            else:
                raise forms.unknown_action()
            session.commit()
            flash(_("Saved."))
            return redirect(url_for("coaching.plan", plan_id=plan_id))
        except ServiceError as err:
            session.rollback()
            # The plan exists; an unknown office typed into the form is a bad form, not a 404.
            error, status = service_message(err), 400 if err.status == 404 else err.status
            found = svc.get_plan(session, plan_id)
    data = svc.plan_dict(session, found)
    return render_template(
        "coaching/plan.html",
        plan=found,
        data=data,
        map=_plan_map(data),
        records=svc.visit_records(session, found) if can(_user(), "plan_visits") else [],
        can_plan=can(_user(), "plan_visits"),
        members=svc.cluster_offices(session, found.cluster_no),
        xlsx=svc.xlsx_available(),
        error=error,
        typed=typed,
    ), status


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
