"""The review desk: the queue of submitted reports, side-by-side reading, decisions, reopening."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..db import get_session
from ..errors import service_message
from ..models import REVIEW_STATES, Cluster
from ..security import current_actor, require
from ..services import ingest_status
from ..services import progress as svc
from ..services.errors import ServiceError
from . import review_bp
from .views import STATUS_LABELS, _earlier_rounds, _fiscal_year_arg


@review_bp.route("/")
@require("review_entry")
def queue() -> Any:
    session = get_session()
    fiscal_year = _fiscal_year_arg()
    state = request.args.get("state", "submitted")
    if state not in REVIEW_STATES:
        state = "submitted"
    cluster = request.args.get("cluster", type=int)
    item_id = request.args.get("item", type=int)
    entries = svc.review_queue(session, fiscal_year, state, cluster_no=cluster, item_id=item_id)
    return render_template(
        "portal/queue.html", entries=entries, fiscal_year=fiscal_year, state=state,
        cluster=cluster, item_id=item_id, states=REVIEW_STATES,
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        items=svc.items_of(session, fiscal_year),
        status_labels=STATUS_LABELS,
    )  # fmt: skip


@review_bp.route("/entries/<int:entry_id>", methods=["GET", "POST"])
@require("review_entry")
def review_entry(entry_id: int) -> Any:
    session = get_session()
    entry = svc.entry_by_id(session, entry_id)
    if entry is None:
        abort(404, description=_("No such report."))
    error, status, comment = None, 200, ""
    if request.method == "POST":
        comment = request.form.get("comment", "")
        try:
            svc.review(session, current_actor(), entry, request.form.get("decision", ""),
                       comment, request.form.get("version", type=int))  # fmt: skip
            session.commit()
            flash(_("Decision saved."))
            return redirect(url_for("review.queue", fiscal_year=entry.fiscal_year))
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
            entry = svc.entry_by_id(session, entry_id)
    window = svc.get_window(session, entry.fiscal_year, entry.round_no)  # type: ignore[union-attr]
    return render_template(
        "portal/review.html", entry=entry, current=entry.current,  # type: ignore[union-attr]
        history=svc.revisions(session, entry),  # type: ignore[arg-type]
        earlier=_earlier_rounds(session, entry.office_id, entry.item_id, entry.round_no),  # type: ignore[union-attr]
        window=window, error=error, comment=comment, status_labels=STATUS_LABELS,
        today=current_actor().today_bangkok,
        conflicts=ingest_status.open_conflicts_of_entry(session, entry_id),
    ), status  # fmt: skip


@review_bp.route("/entries/<int:entry_id>/reopen", methods=["POST"])
@require("reopen_window")
def reopen(entry_id: int) -> Any:
    session = get_session()
    entry = svc.entry_by_id(session, entry_id)
    if entry is None:
        abort(404, description=_("No such report."))
    window = svc.get_window(session, entry.fiscal_year, entry.round_no)
    try:
        until = dt.date.fromisoformat(request.form.get("until", ""))
    except ValueError:
        flash(_("Give the new closing date as a date."))
        return redirect(url_for("review.review_entry", entry_id=entry_id))
    try:
        svc.reopen(session, current_actor(), entry.office, window, until,  # type: ignore[arg-type]
                   request.form.get("reason", ""))  # fmt: skip
        session.commit()
        flash(_("Reopened for this office until %(day)s.", day=until.isoformat()))
    except ServiceError as err:
        session.rollback()
        flash(service_message(err))
    return redirect(url_for("review.review_entry", entry_id=entry_id))
