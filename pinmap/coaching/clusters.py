"""A cluster's page (public; completeness for OBEC) and moving an office between clusters."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import forms
from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..models import Cluster, Office
from ..security import current_actor, require
from ..services import coaching as svc
from ..services import progress
from ..services import results as result_svc
from ..services.errors import ServiceError
from . import bp
from .common import LIMITS, cluster_no_or_404, fiscal_year_arg, offices_map, user


def _cluster_page(
    no: int, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Any:
    cluster_no_or_404(no)
    session = get_session()
    found = svc.get_cluster(session, no)
    offices = svc.cluster_offices(session, no)
    year = fiscal_year_arg()
    today = current_actor().today_bangkok
    rows = svc.completeness(session, year, today, cluster_no=no)
    windows = progress.windows(session, year)
    items = progress.items_of(session, year)
    return render_template(
        "coaching/cluster.html",
        cluster=found,
        offices=offices,
        map=offices_map(offices),
        fiscal_year=year,
        rows=rows,
        windows=windows,
        items=items,
        summary=svc.completeness_summary(rows, items, windows),
        practices=svc.cluster_best_practices(session, no),
        results=svc.results_vs_national(session, no),
        category_labels=result_svc.CATEGORY_LABELS,
        moves=svc.cluster_moves(session, no),
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        all_offices=session.scalars(select(Office).order_by(Office.code)).all(),
        can_manage=can(user(), "manage_clusters"),
        due_within=svc.DUE_SOON_DAYS,
        # Submitted-but-unapproved counts are OBEC working data, not public.
        show_completeness=can(user(), "view_dashboard"),
        error=error,
        typed=typed or {},
    ), status


@bp.route("/clusters/<int:no>")
def cluster(no: int) -> Any:
    return _cluster_page(no)


@bp.route("/clusters/<int:no>/members", methods=["POST"])
@require("manage_clusters")
def move_member(no: int) -> Any:
    cluster_no_or_404(no)
    session = get_session()
    svc.get_cluster(session, no)
    typed = {k: request.form.get(k, "") for k in ("office", "reason")}
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        svc.move_office_cluster(session, current_actor(), typed["office"], no, typed["reason"])
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _cluster_page(no, service_message(err), err.status, typed)
    flash(_("Moved %(code)s into cluster %(no)s.", code=typed["office"], no=no))
    return redirect(url_for("coaching.cluster", no=no))
