"""Certifying and sending many reports at once: /portal/offices/<code>/send/<kind>/<fiscal_year>.

The office director sees every report of a kind (and year, and period: ?period=) that waits to
be sent: the complete ones are chosen already, the others say why they cannot go. Sending runs
the engine's submit on each chosen report in its own transaction and lists what became of each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..auth import can
from ..bulkwork import commit_each, items_from_form
from ..db import get_session
from ..errors import service_message
from ..models import Office, PolicyItem, WorkflowReport
from ..security import current_actor, require
from ..services import bulk
from ..services import workflow as wf
from ..services.bulk import Outcome
from ..services.errors import ServiceError
from . import bp
from .common import readable_office

SEND = "/offices/<code>/send/<kind>/<int:fiscal_year>"


def _progress_page(office: Office, report: WorkflowReport) -> str:
    item = get_session().get(PolicyItem, report.subject_id) if report.subject_id else None
    if item is None:
        return ""
    return url_for(
        "portal.entry",
        code=office.code,
        fiscal_year=report.fiscal_year,
        round_no=report.period,
        kind=item.kind,
        no=item.no,
    )


# Where a report of a kind is edited, for the list's links (a kind without one is listed unlinked).
REPORT_PAGES: dict[str, Callable[[Office, WorkflowReport], str]] = {
    "quarterly_project": lambda office, r: url_for(
        "portal.quarter_report", code=office.code, project_id=r.subject_id, quarter=r.period
    ),
    "progress": _progress_page,
    "operating_plan": lambda office, r: url_for(
        "portal.plan_edit", code=office.code, fiscal_year=r.fiscal_year
    ),
}


def _period() -> int | None:
    period = request.args.get("period", type=int)
    return period if period is not None and 0 <= period <= 100 else None


def _page(
    office: Office,
    kind: str,
    fiscal_year: int,
    period: int | None,
    *,
    results: list[Outcome] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    session = get_session()
    spec = wf.spec_of(kind)
    return render_template(
        "portal/bulk_send.html",
        office=office,
        kind=kind,
        info=bulk.info(kind),
        fiscal_year=fiscal_year,
        period=period,
        candidates=bulk.sendable(session, current_actor(), kind, office.id, fiscal_year, period),
        results=results,
        error=error,
        message=service_message,
        page_of=lambda r: REPORT_PAGES[kind](office, r) if kind in REPORT_PAGES else None,
        can_send=can(current_user, spec.levels[0].action, office.id),
    ), status


def _checked(code: str, kind: str, fiscal_year: int) -> tuple[Office, int | None]:
    office = readable_office(code)
    forms.path_in_range(fiscal_year, *forms.FISCAL_YEARS)
    try:
        wf.spec_of(kind)
    except ServiceError:
        abort(404, description=_("No such kind of report."))
    return office, _period()


@bp.get(SEND)
@require("view_portal")
def bulk_send(code: str, kind: str, fiscal_year: int) -> Any:
    office, period = _checked(code, kind, fiscal_year)
    return _page(office, kind, fiscal_year, period)


@bp.post(SEND)
@require("view_portal")
def bulk_send_post(code: str, kind: str, fiscal_year: int) -> Any:
    """Certify and send each chosen report; each is its own transaction, with its own result."""
    office, period = _checked(code, kind, fiscal_year)
    if not can(current_user, wf.spec_of(kind).levels[0].action, office.id):
        abort(
            403,
            description=_("Only the office's director may certify and send this office's reports."),
        )
    session = get_session()
    try:
        forms.same_button("send")
        items = items_from_form()
        outcomes = bulk.submit_each(session, current_actor(), kind, items, office_id=office.id)
    except ServiceError as err:
        session.rollback()
        return _page(
            office, kind, fiscal_year, period, error=service_message(err), status=err.status
        )
    results = commit_each(session, outcomes)
    return _page(office, kind, fiscal_year, period, results=results)
