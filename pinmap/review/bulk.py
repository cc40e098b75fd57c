"""Deciding on many reports at once: /review/bulk/<kind>.

The reports of a kind waiting for a level the reviewer may pass, with checkboxes; one button
approves the chosen ones, another returns them with one comment. Each report is decided in its
own transaction (the engine's decide, version checked) and the page lists what became of each.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..bulkwork import commit_each, items_from_form
from ..db import get_session
from ..errors import service_message
from ..security import current_actor, require
from ..services import bulk
from ..services import workflow as wf
from ..services.bulk import Outcome
from ..services.errors import ServiceError
from . import bp

BULK = "/bulk/<kind>"
DECISION_LIMITS = {"comment": 4_000 * 4, "action": 20}


def _kind(kind: str) -> str:
    try:
        wf.spec_of(kind)
    except ServiceError:
        abort(404, description=_("No such kind of report."))
    return kind


def _page(
    kind: str,
    *,
    results: list[Outcome] | None = None,
    error: str | None = None,
    status: int = 200,
    comment: str = "",
    chosen: frozenset[int] = frozenset(),
    decision: str = "",
) -> Any:
    session = get_session()
    reports = bulk.waiting(session, kind, current_user)
    return render_template(
        "review/bulk.html",
        kind=kind,
        info=bulk.info(kind),
        reports=reports,
        titles={r.id: bulk.title(session, r) for r in reports},
        waiting={r.id: wf.waiting_level(r) for r in reports},
        kinds={k: bulk.info(k) for k in wf.KINDS},
        results=results,
        error=error,
        comment=comment,
        chosen=chosen,
        done_word=_("Returned to the office.") if decision == "return" else _("Approved."),
        message=service_message,
    ), status


@bp.get(BULK)
@require("review_report")
def bulk_review(kind: str) -> Any:
    return _page(_kind(kind))


@bp.post(BULK)
@require("review_report")
def bulk_decide(kind: str) -> Any:
    """Approve or return each chosen report: its own transaction, its own result."""
    _kind(kind)
    session = get_session()
    decision = request.form.get("action", "")
    comment = request.form.get("comment", "")
    chosen: frozenset[int] = frozenset()
    try:
        forms.check_text(request.form, DECISION_LIMITS, default_limit=100)
        items = items_from_form()
        chosen = frozenset(i.report_id for i in items)
        outcomes = bulk.decide_each(session, current_actor(), kind, items, decision, comment)
    except ServiceError as err:
        session.rollback()
        return _page(
            kind,
            error=service_message(err),
            status=err.status,
            comment=comment,
            chosen=chosen,
        )
    return _page(kind, results=commit_each(session, outcomes), decision=decision)
