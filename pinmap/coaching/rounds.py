"""The four monitoring rounds: the list (saved one by one or loaded from CSV), office statuses
per round, the 9-month online sessions (and their calendar), the 12-month evaluation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import forms
from ..auth import can
from ..db import get_session
from ..downloads import content_disposition
from ..errors import service_message
from ..fiscal import BANGKOK
from ..models import ROUND_KINDS, Cluster, Office
from ..security import current_actor, require
from ..services import coaching as svc
from ..services import results as result_svc
from ..services.errors import N_, ServiceError
from . import bp
from .common import CLUSTERS, LIMITS, fiscal_year_arg

ROUND_FIELDS = ("fiscal_year", "round_no", "kind", "starts_on", "ends_on")


def _rounds_page(
    error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Any:
    return render_template(
        "coaching/rounds.html",
        rounds=svc.list_rounds(get_session()),
        kinds=ROUND_KINDS,
        can_manage=can(current_user, "manage_rounds"),
        default_fy=fiscal_year_arg(),
        error=error,
        typed=typed or {},
    ), status


@bp.get("/rounds")
@require("view_dashboard")
def rounds() -> Any:
    return _rounds_page()


def _change_rounds(typed: dict[str, str] | None, write: Callable[[], str]) -> Any:
    if not can(current_user, "manage_rounds"):
        abort(403)
    session = get_session()
    try:
        forms.check_text(request.form, LIMITS, default_limit=20)
        message = write()
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _rounds_page(service_message(err), err.status, typed)
    flash(message)
    return redirect(url_for("coaching.rounds"))


@bp.post("/rounds")
@require("view_dashboard")
def save_round() -> Any:
    typed = {k: request.form.get(k, "") for k in ROUND_FIELDS}

    def write() -> str:
        fiscal_year = forms.whole(
            typed["fiscal_year"], "fiscal_year", *forms.FISCAL_YEARS, required=True
        )
        round_no = forms.whole(typed["round_no"], "round_no", 1, forms.SMALLINT[1], required=True)
        starts = forms.day(typed["starts_on"], "starts_on", required=True)
        ends = forms.day(typed["ends_on"], "ends_on", required=True)
        svc.save_round(
            get_session(),
            current_actor(),
            fiscal_year,
            round_no,
            typed["kind"],
            starts,
            ends,
        )
        return _("Saved.")

    return _change_rounds(typed, write)


@bp.post("/rounds/import")
@require("view_dashboard")
def import_rounds() -> Any:
    def write() -> str:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ServiceError(400, N_("Choose a file to upload."))
        text = upload.stream.read(200_000).decode("utf-8", errors="replace")
        if "\x00" in text:
            raise ServiceError(400, N_("The file contains a NUL character; it is not a CSV file."))
        summary = svc.load_rounds(get_session(), "", current_actor(), text=text)
        return _(
            "Rounds loaded: %(inserted)s new, %(updated)s changed, %(unchanged)s unchanged.",
            **summary,
        )

    return _change_rounds(None, write)


@bp.route("/rounds/<int:round_id>/statuses", methods=["GET", "POST"])
@require("view_dashboard")
def round_statuses(round_id: int) -> Any:
    session = get_session()
    rnd = svc.get_round(session, round_id)
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
            rnd = svc.get_round(session, round_id)
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
    rnd = svc.get_round(session, round_id)
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
                cluster_no,
                starts_at,
                typed["link"],
            )
            session.commit()
            flash(_("Saved."))
            return redirect(url_for("coaching.round_sessions", round_id=round_id))
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
            rnd = svc.get_round(session, round_id)
    by_cluster = {s.cluster_no: s for s in svc.cluster_sessions(session, rnd)}
    return render_template(
        "coaching/round_sessions.html",
        round=rnd,
        sessions=by_cluster,
        tz=BANGKOK,
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        can_manage=can(current_user, "manage_rounds"),
        error=error,
        typed=typed or {},
    ), status


@bp.route("/rounds/<int:round_id>/sessions.ics")
@require("view_dashboard")
def round_sessions_ics(round_id: int) -> Response:
    rnd = svc.get_round(get_session(), round_id)
    body = svc.sessions_ics(get_session(), rnd, request.host, current_actor().now)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": content_disposition(f"cluster-sessions-{round_id}.ics")},
    )


def _evaluation_page(
    round_id: int, cluster_no: int | None, error: str | None = None, status: int = 200
) -> Any:
    session = get_session()
    rnd = svc.get_round(session, round_id)
    rows = svc.evaluation(session, rnd.fiscal_year, cluster_no)
    return render_template(
        "coaching/evaluation.html",
        round=rnd,
        rows=rows,
        cluster_no=cluster_no,
        sent=svc.findings_sent(session, rnd),
        category_labels=result_svc.CATEGORY_LABELS,
        can_send=can(current_user, "plan_visits") and rnd.kind == "online_evaluation",
        error=error,
    ), status


@bp.route("/rounds/<int:round_id>/evaluation")
@require("view_dashboard")
def round_evaluation(round_id: int) -> Any:
    return _evaluation_page(round_id, request.args.get("cluster", type=int))


@bp.post("/rounds/<int:round_id>/evaluation/send")
@require("view_dashboard")
def send_findings(round_id: int) -> Any:
    """Each office's own findings go back to it (and it is told); coaches and admins."""
    if not can(current_user, "plan_visits"):
        abort(403)
    session = get_session()
    rnd = svc.get_round(session, round_id)
    cluster_no = None
    try:
        forms.check_text(request.form, LIMITS, default_limit=20)
        cluster_no = forms.whole(request.form.get("cluster"), "cluster", *CLUSTERS)
        offices, _messages = svc.send_findings(session, current_actor(), rnd, cluster_no)
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _evaluation_page(round_id, cluster_no, service_message(err), err.status)
    flash(_("Findings sent to %(n)s office(s).", n=offices))
    return redirect(url_for("coaching.round_evaluation", round_id=round_id, cluster=cluster_no))
