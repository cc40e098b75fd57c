"""/admin/deadlines: the day each quarter of a fiscal year must be reported by (quarterly
project reports), shown in the reader's calendar and moved by administrators."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import forms
from ..db import get_session
from ..errors import service_message
from ..fiscal import current_fiscal_year
from ..security import current_actor, require
from ..services import projects as project_svc
from ..services.errors import ServiceError
from . import bp

FIELDS = ("fiscal_year", "quarter", "due_on")


def _year() -> int:
    raw = request.args.get("fiscal_year", "").strip()
    if raw:
        return forms.whole(raw, "fiscal_year", 2500, 2700, required=True)
    return current_fiscal_year()


def _page(year: int, form: dict[str, str] | None = None, error: str | None = None) -> Any:
    session = get_session()
    quarters = [
        {
            "quarter": q,
            "first": project_svc.quarter_bounds(year, q)[0],
            "last": project_svc.quarter_bounds(year, q)[1],
            "due": project_svc.deadline(session, year, q),
            "set": project_svc.deadline_is_set(session, year, q),
        }
        for q in project_svc.QUARTERS
    ]
    return render_template(
        "admin/deadlines.html",
        year=year,
        years=range(current_fiscal_year() + 1, current_fiscal_year() - 5, -1),
        quarters=quarters,
        grace=project_svc.DEFAULT_GRACE_DAYS,
        form=form or {"fiscal_year": str(year)},
        error=error,
    )


@bp.get("/deadlines")
@require("manage_windows")
def deadlines() -> Any:
    try:
        year = _year()
    except ServiceError as err:
        return _page(current_fiscal_year(), error=service_message(err)), 400
    return _page(year)


@bp.post("/deadlines")
@require("manage_windows")
def save_deadline() -> Any:
    form = {k: request.form.get(k, "").strip() for k in FIELDS}
    session = get_session()
    year = current_fiscal_year()
    try:
        forms.check_text(request.form, dict.fromkeys(FIELDS, 20), default_limit=100)
        year = forms.whole(form["fiscal_year"], "fiscal_year", 2500, 2700, required=True)
        quarter = forms.whole(form["quarter"], "quarter", 1, 4, required=True)
        due = forms.day(form["due_on"], "due_on", required=True)
        project_svc.set_deadline(session, current_actor(), year, quarter, due)
    except ServiceError as err:
        session.rollback()
        status = 409 if err.status == 409 else (403 if err.status == 403 else 400)
        return _page(year, form, service_message(err)), status
    session.commit()
    flash(_("The deadline of quarter %(q)s of fiscal year %(fy)s is saved.", q=quarter, fy=year))
    return redirect(url_for("admin.deadlines", fiscal_year=year))
