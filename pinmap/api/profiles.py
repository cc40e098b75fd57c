"""/api/v1 routes for best practices on the map and offices' approved profiles."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..db import get_session
from ..inputs import Blueprint, Int
from ..models import ITEM_NO_PATTERN, SET_CODE_PATTERN, Office
from ..services import best_practices as bps
from ..services import profiles as svc
from ..services import schools as school_svc
from .progress import public_revision

bp = Blueprint(
    "profiles_api", __name__, url_prefix="/api/v1", description="Office profiles and best practices"
)


class BestPracticeOfficesQuery(Schema):
    fiscal_year = Int(strict=False, required=True, validate=validate.Range(2500, 2700))
    # An item set's code (policy, quick_win, ...) and the item's number in it ("4", "4.1").
    item_kind = fields.String(validate=validate.Regexp(f"^{SET_CODE_PATTERN}$"))
    item_no = fields.String(validate=validate.Regexp(f"^{ITEM_NO_PATTERN}$"))


@bp.route("/best-practices/offices")
@bp.arguments(BestPracticeOfficesQuery, location="query", as_kwargs=True)
@bp.response(200)
def best_practice_offices(
    fiscal_year: int, item_kind: str | None = None, item_no: str | None = None
) -> dict[str, Any]:
    """Codes of offices with an approved best practice of the year, aligned with the item."""
    if (item_kind is None) != (item_no is None):
        abort(400, message=_("Give both item_kind and item_no, or neither."))
    codes = bps.offices_with_approved(get_session(), fiscal_year, item_kind, item_no)
    item = {"kind": item_kind, "no": item_no} if item_kind else None
    return {"fiscal_year": fiscal_year, "item": item, "offices": codes}


@bp.route("/offices/<code>/profile")
@bp.response(200)
def office_profile(code: str) -> dict[str, Any]:
    """An office's approved profile, latest counts and school count (public data only)."""
    session = get_session()
    office = session.scalars(select(Office).filter_by(code=code)).first()
    if office is None:
        abort(404, message=_("No office with code %(code)s.", code=code))
    rev = svc.approved_revision(session, office.id)
    stats = school_svc.latest_stats(session, office.id)
    return {
        "office": code,
        "profile": public_revision(svc.revision_dict(rev)),
        "schools": school_svc.school_count(session, office.id),
        "stats": {
            "as_of": stats.as_of.isoformat(),
            "source": stats.source,
            **{k: getattr(stats, k) for k in school_svc.STAT_FIELDS},
        }
        if stats
        else None,
    }
