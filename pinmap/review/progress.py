"""The progress-report desk: the queue, side-by-side reading, decisions, reopening a window."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import forms
from ..db import get_session
from ..errors import service_message
from ..i18n import format_date_be
from ..models import REVIEW_STATES, Cluster
from ..portal.common import STATUS_LABELS, earlier_rounds, fiscal_year_arg
from ..security import current_actor, require
from ..services import ingest_status
from ..services import progress as svc
from ..services import workflow as wf
from ..services.errors import N_, ServiceError
from . import bp


@bp.route("/")
@require("review_entry")
def queue() -> Any:
    session = get_session()
    fiscal_year = fiscal_year_arg()
    state = request.args.get("state", "submitted")
    if state not in REVIEW_STATES:
        state = "submitted"
    cluster = request.args.get("cluster", type=int)
    item_id = request.args.get("item", type=int)
    entries = svc.review_queue(session, fiscal_year, state, cluster_no=cluster, item_id=item_id)
    return render_template(
        "review/queue.html",
        entries=entries,
        fiscal_year=fiscal_year,
        state=state,
        cluster=cluster,
        item_id=item_id,
        states=REVIEW_STATES,
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        items=svc.items_of(session, fiscal_year),
        status_labels=STATUS_LABELS,
    )


# The service keeps a review comment to 4,000 characters, a reopening's reason to 1,000.
REVIEW_LIMITS = {"comment": 4_000, "decision": 20, "reason": 1_000, "until": 10}


def _review_page(
    entry: Any,
    error: str | None = None,
    status: int = 200,
    comment: str = "",
    reopen: dict[str, str] | None = None,
) -> Any:
    session = get_session()
    window = svc.get_window(session, entry.fiscal_year, entry.round_no)
    return render_template(
        "review/entry.html",
        entry=entry,
        current=entry.current,
        history=svc.revisions(session, entry),
        earlier=earlier_rounds(session, entry.office_id, entry.item_id, entry.round_no),
        window=window,
        error=error,
        comment=comment,
        reopen=reopen or {},
        status_labels=STATUS_LABELS,
        today=current_actor().today_bangkok,
        conflicts=ingest_status.open_conflicts_of_entry(session, entry.id),
        may_unapprove=wf.may_decide(current_user, entry.report, "unapprove"),
    ), status


@bp.route("/entries/<int:entry_id>", methods=["GET", "POST"])
@require("review_entry")
def review_entry(entry_id: int) -> Any:
    session = get_session()
    entry = svc.entry_or_404(get_session(), entry_id)
    if request.method == "POST":
        comment = request.form.get("comment", "")
        try:
            forms.check_text(request.form, REVIEW_LIMITS)
            svc.review(
                session,
                current_actor(),
                entry,
                request.form.get("decision", ""),
                comment,
                request.form.get("version", type=int),
            )
            session.commit()
            flash(_("Decision saved."))
            return redirect(url_for("review.queue", fiscal_year=entry.fiscal_year))
        except ServiceError as err:
            session.rollback()
            return _review_page(
                svc.entry_or_404(get_session(), entry_id),
                service_message(err),
                err.status,
                comment=comment,
            )
    return _review_page(entry)


@bp.route("/entries/<int:entry_id>/reopen", methods=["POST"])
@require("reopen_window")
def reopen(entry_id: int) -> Any:
    session = get_session()
    entry = svc.entry_or_404(get_session(), entry_id)
    typed = {k: request.form.get(k, "") for k in ("until", "reason")}
    try:
        forms.check_text(request.form, REVIEW_LIMITS)
        until = forms.day(typed["until"], "until", required=True)
        if not typed["reason"].strip():
            raise ServiceError(400, N_("Give a reason for reopening."))
        window = svc.get_window(session, entry.fiscal_year, entry.round_no)
        if window is None:
            raise ServiceError(404, N_("No such reporting round."))
        svc.reopen(
            session,
            current_actor(),
            entry.office,
            window,
            until,
            typed["reason"],
        )
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _review_page(
            svc.entry_or_404(get_session(), entry_id),
            service_message(err),
            err.status,
            reopen=typed,
        )
    flash(_("Reopened for this office until %(day)s.", day=format_date_be(until)))
    return redirect(url_for("review.review_entry", entry_id=entry_id))
