"""Best practices for everyone: the search page, one practice, its attached files."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth import can_read_office_work
from ..db import get_session
from ..models import Cluster, Office, PolicyDimension, PolicyItem
from ..security import current_actor
from ..services import best_practices as svc
from ..services.best_practices import Practice
from ..services.errors import ServiceError
from ..services.progress import catalogue_year, items_of
from . import bp
from .photos import photo_url, send_stored


def choices(fiscal_year: Any) -> dict[str, Any]:
    """The catalogue a best practice is aligned with: the year's items and dimensions."""
    session = get_session()
    text = str(fiscal_year)
    year = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None
    years = sorted(set(session.scalars(select(PolicyItem.fiscal_year).distinct())), reverse=True)
    shown = year if year in years else (years[0] if years else None)
    dims = (
        session.scalars(
            select(PolicyDimension).filter_by(fiscal_year=shown).order_by(PolicyDimension.no)
        ).all()
        if shown
        else []
    )
    return {
        "items": items_of(session, shown) if shown else [],
        "dimensions": dims,
        "catalogue_year": shown,
    }


@bp.route("/best-practices")
def best_practice_search() -> Any:
    session = get_session()
    q = request.args.get("q", "")[:200]
    item_id = request.args.get("item", type=int)
    dimension = request.args.get("dimension", "")[:20]
    cluster = request.args.get("cluster", type=int)
    fiscal_year = request.args.get("fiscal_year", type=int)
    found = svc.search(
        session,
        q=q,
        item_id=item_id,
        dimension=dimension,
        cluster_no=cluster,
        fiscal_year=fiscal_year,
    )
    year = fiscal_year or catalogue_year(session, current_actor().today_bangkok)
    return render_template(
        "public/best_practice_search.html",
        results=found,
        q=q,
        item_id=item_id,
        dimension=dimension,
        cluster=cluster,
        fiscal_year=fiscal_year,
        **choices(year),
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
    )


def _readable(bp_id: int, description: str | None = None) -> Practice:
    """The practice's approved revision; before the first approval (or with ?working=1, the
    revision being worked on) only to its office, OBEC and coaches."""
    session = get_session()
    try:
        row = svc.row_or_404(session, bp_id)
    except ServiceError:
        abort(404, description=description)
    user = current_user if current_user.is_authenticated else None
    shown = None if request.args.get("working") else svc.public(session, row)
    if shown is not None:
        return shown
    if not can_read_office_work(user, row.office_id):
        abort(404, description=description)  # do not reveal drafts exist
    return svc.working(session, row)


@bp.route("/best-practices/<int:bp_id>")
def best_practice(bp_id: int) -> Any:
    session = get_session()
    found = _readable(bp_id, _("No such best practice."))
    return render_template(
        "public/best_practice.html",
        bp=found,
        office=session.get(Office, found.office_id),
        items=svc.items_of(session, found),
        photo_url=photo_url,
    )


@bp.route("/best-practices/<int:bp_id>/files/<int:index>")
def best_practice_file(bp_id: int, index: int) -> Any:
    files = _readable(bp_id).attachments or []
    if not 0 <= index < len(files):
        abort(404)
    meta = files[index]
    return send_stored(meta["stored_name"], meta["mime"], meta.get("original_name") or "")
