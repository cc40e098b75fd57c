"""The OBEC dashboard: completeness by round, item and cluster, and the offices behind a figure."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..db import get_session
from ..models import Cluster, PolicyItem
from ..security import current_actor, require
from ..services import coaching as svc
from ..services import progress
from . import bp
from .common import fiscal_year_arg


@bp.route("/dashboard")
@require("view_dashboard")
def dashboard() -> Any:
    session = get_session()
    fiscal_year = fiscal_year_arg()
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
    fiscal_year = fiscal_year_arg()
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
