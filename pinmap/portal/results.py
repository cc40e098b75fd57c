"""Five-year results: read by the office's staff, loaded by OBEC (nationally or per office)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..models import Office
from ..security import current_actor, require
from ..services import results as svc
from ..services.errors import ServiceError
from . import bp
from .common import problems, readable_office
from .schools import read_table_upload


@bp.route("/results", methods=["GET", "POST"], defaults={"code": None})
@bp.route("/offices/<code>/results", methods=["GET", "POST"])
@require("view_portal")
def results_import(code: str | None) -> Any:
    """An office's results (read by its staff); importing is OBEC's (the import_results rule)."""
    session = get_session()
    office = readable_office(code) if code else None
    if office is None and current_user.office_id is not None:
        own = session.get_one(Office, current_user.office_id)
        return redirect(url_for("portal.results_import", code=own.code))
    may_import = can(current_user, "import_results", office.id if office else None)
    error, status, found = None, 200, []
    if request.method == "POST":
        if not may_import:
            abort(403, description=_("Five-year results are loaded by OBEC."))
        try:
            filename, data = read_table_upload("file")
            result = svc.import_results(session, current_actor(), filename, data, office=office)
            session.commit()
            flash(
                _(
                    "%(file)s loaded: %(rows)s results (%(created)s new, %(updated)s updated) "
                    "for %(offices)s office(s).",
                    file=filename,
                    rows=result.rows,
                    created=result.created,
                    updated=result.updated,
                    offices=len(result.offices),
                )
            )
            return redirect(request.path)
        except ServiceError as err:
            session.rollback()
            error, status, found = service_message(err), err.status, problems(err)
    series = svc.office_series(session, office) if office else []
    return render_template(
        "portal/results.html",
        office=office,
        error=error,
        problems=found,
        columns=svc.RESULT_COLUMNS,
        categories=svc.CATEGORY_LABELS,
        series=series,
        can_import=may_import,
    ), status
