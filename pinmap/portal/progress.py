"""An office's reports: its year at a glance, the report form, each of its buttons, evidence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..auth import can, can_read_office_work
from ..db import get_session
from ..errors import service_message
from ..evidence import file_evidence
from ..fiscal import to_bangkok
from ..models import (
    ITEM_NO_PATTERN,
    SET_CODE_PATTERN,
    Evidence,
    Office,
    PolicyItem,
    ReportingWindow,
)
from ..public.photos import send_stored
from ..security import current_actor, require
from ..services import assignments, ingest_status
from ..services import progress as svc
from ..services.errors import N_, ServiceError
from . import bp
from .common import (
    LIKELY_SUCCESS_LABELS,
    STATUS_LABELS,
    earlier_rounds,
    fiscal_year_arg,
    readable_office,
)


def _round_order(w: Any, deadlines: dict[int, Any], today: Any) -> tuple[int, int]:
    if deadlines[w.round_no][0]:
        return (0, w.opens_on.toordinal())
    if today < w.opens_on:
        return (1, w.opens_on.toordinal())
    return (2, -w.closes_on.toordinal())


@bp.route("/offices/<code>")
@require("view_portal")
def office(code: str) -> Any:
    session = get_session()
    office = readable_office(code, "reports")
    fiscal_year = fiscal_year_arg()
    actor = current_actor()
    rounds = svc.windows(session, fiscal_year)
    items = svc.items_of(session, fiscal_year)
    entries = {
        (e.item_id, e.round_no): e for e in svc.office_work(session, actor, office, fiscal_year)
    }
    deadlines = {
        w.round_no: svc.can_submit_now(session, w, office.id, actor.today_bangkok) for w in rounds
    }
    # Open rounds first, then those still to open, then closed ones (latest first): a closed
    # round listed above the open one sent people to the wrong table.
    rounds = sorted(rounds, key=lambda w: _round_order(w, deadlines, actor.today_bangkok))
    return render_template(
        "portal/office.html",
        office=office,
        fiscal_year=fiscal_year,
        rounds=rounds,
        items=items,
        entries=entries,
        deadlines=deadlines,
        today=actor.today_bangkok,
        missing=svc.missing_for_submission,
        status_labels=STATUS_LABELS,
        framework_years=svc.framework_years(session),
        current_year=svc.shown_fiscal_year(session, actor.today_bangkok),
        can_edit=can(current_user, "edit_entry", office.id),
        assigned=assignments.of_office(session, office.id, fiscal_year),
        can_assign=can(current_user, "assign_items", office.id),
        disagreements=ingest_status.disagreements(session, office.id),
        conflicts=ingest_status.open_conflicts(session, office.id),
    )


# --- the report form: one address per button ---------------------------------------------------

# <no> is the item's number within its set: "4", or "4.1" for a sub-item.
ENTRY = "/offices/<code>/entries/<int:fiscal_year>/<int:round_no>/<kind>/<no>"
FORM_FIELDS = (
    "status",
    "what",
    "where",
    "how",
    "result",
    "indicator_value",
    "indicator_target",
    "indicator_unit",
    "no_activity_reason",
    "no_activity_when",
    "problems",
    "likely_success",
    "served_goal",
)
EVIDENCE_FIELDS = ("link_url", "link_title", "file_title")
# Longest value each field may hold (the column's size, or what the service keeps); refused,
# never cut. Fields not named here get forms.check_text's default.
ENTRY_LIMITS = {
    **dict.fromkeys(svc.NARRATIVE, svc.MAX_NARRATIVE),
    "no_activity_reason": 2_000,
    "no_activity_when": 2_000,
    "problems": svc.MAX_NARRATIVE,
    "served_goal": svc.MAX_NARRATIVE,
    "likely_success": 10,
    "link_url": 2_000,
    "link_title": 300,
    "file_title": 300,
    "status": 20,
    "indicator_unit": 10,
    "indicator_value": 50,
    "indicator_target": 50,
}


@dataclass
class Report:
    """The report an address names: office, catalogue item and reporting round."""

    office: Office
    item: PolicyItem
    round_no: int
    window: ReportingWindow

    def url(self) -> str:
        return url_for(
            "portal.entry",
            code=self.office.code,
            fiscal_year=self.item.fiscal_year,
            round_no=self.round_no,
            kind=self.item.kind,
            no=self.item.no,
        )


def _report(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Report:
    for number in (fiscal_year, round_no):
        forms.path_in_range(number, 0, forms.SMALLINT[1])
    # No set code or item number is longer or looks otherwise; the database would look in vain.
    if not re.fullmatch(SET_CODE_PATTERN, kind) or not re.fullmatch(ITEM_NO_PATTERN, no):
        abort(404)
    session = get_session()
    office = readable_office(code, "reports")
    item = svc.item_or_404(session, fiscal_year, kind, no)
    window = svc.get_window(session, fiscal_year, round_no)
    if window is None:
        abort(
            404,
            description=_(
                "Fiscal year %(fy)s has no reporting round %(round)s.",
                fy=fiscal_year,
                round=round_no,
            ),
        )
    return Report(office, item, round_no, window)


def _typed() -> dict[str, str] | None:
    """The report's fields as typed, when this form sent them (shown again on a refusal).

    Only the fields the form holds: an item asks for some fields only, and a field it does not
    show (its item stopped asking for it, say) keeps what was saved before."""
    if any(k in request.form for k in FORM_FIELDS):
        return {k: request.form.get(k, "") for k in FORM_FIELDS if k in request.form}
    return None


def _entry_page(
    report: Report,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
    typed_evidence: dict[str, str] | None = None,
) -> Any:
    session = get_session()
    office, item, round_no = report.office, report.item, report.round_no
    actor = current_actor()
    found = svc.find_entry(session, office.id, item.id, round_no)
    is_open, last_day = svc.can_submit_now(session, report.window, office.id, actor.today_bangkok)
    current = found.current if found else None
    return render_template(
        "portal/entry.html",
        office=office,
        item=item,
        window=report.window,
        entry=found,
        current=current,
        typed=typed,
        typed_evidence=typed_evidence or {},
        error=error,
        history=svc.revisions(session, found) if found else [],
        earlier=earlier_rounds(session, office.id, item.id, round_no),
        is_open=is_open,
        last_day=last_day,
        status_labels=STATUS_LABELS,
        can_edit=can(current_user, "edit_entry", office.id),
        can_submit=can(current_user, "submit_entry", office.id),
        missing=svc.missing_for_submission(current, item) if current else [],
        likely_success=LIKELY_SUCCESS_LABELS,
    ), status


def _press(button: str, report: Report, write: Callable[[int | None], Any], done: str) -> Any:
    """One button of the report form: check, write, commit once; else the form as typed."""
    session = get_session()
    typed = _typed()
    typed_evidence = {k: request.form.get(k, "") for k in EVIDENCE_FIELDS}
    try:
        forms.same_button(button)
        forms.check_text(request.form, ENTRY_LIMITS)
        write(request.form.get("version", type=int))
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _entry_page(report, service_message(err), err.status, typed, typed_evidence)
    flash(done)
    return redirect(report.url())


@bp.get(ENTRY)
@require("view_portal")
def entry(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    return _entry_page(_report(code, fiscal_year, round_no, kind, no))


def _save(report: Report, version: int | None) -> Any:
    content = _typed() or dict.fromkeys(FORM_FIELDS, "")
    return svc.save_draft(
        get_session(),
        current_actor(),
        report.office,
        report.item,
        report.round_no,
        content,
        version,
    )


@bp.post(ENTRY)
@require("view_portal")
def save_entry(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    report = _report(code, fiscal_year, round_no, kind, no)
    return _press("save", report, lambda version: _save(report, version), _("Saved."))


@bp.post(ENTRY + "/submit")
@require("view_portal")
def submit_entry(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    """Save what was typed, then certify and submit it."""
    report = _report(code, fiscal_year, round_no, kind, no)

    def write(version: int | None) -> None:
        rev = _save(report, version)
        session = get_session()
        found = svc.find_entry(session, report.office.id, report.item.id, report.round_no)
        if found is None:
            raise ServiceError(404, N_("There is nothing to submit yet."))
        svc.submit(session, current_actor(), found, rev.version)

    return _press("submit", report, write, _("Submitted for review."))


def _keep_typed(report: Report, version: int | None) -> int | None:
    """Save the report's text sent with an evidence button first (the evidence fields live in
    the report's form), so adding or removing evidence never discards what was typed; returns
    the version the evidence change is based on."""
    if _typed() is None:
        return version
    return int(_save(report, version).version)


def _add_evidence(report: Report, version: int | None, evidence: Evidence) -> Any:
    version = _keep_typed(report, version)
    return svc.add_evidence(
        get_session(),
        current_actor(),
        report.office,
        report.item,
        report.round_no,
        version,
        evidence,
    )


@bp.post(ENTRY + "/links")
@require("view_portal")
def add_link(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    report = _report(code, fiscal_year, round_no, kind, no)

    def write(version: int | None) -> None:
        url = request.form.get("link_url", "").strip()
        if not url.startswith(("http://", "https://")):
            raise ServiceError(400, N_("A link must start with http:// or https://."))
        link = Evidence(kind="link", url=url, title=request.form.get("link_title", ""))
        _add_evidence(report, version, link)

    return _press("add_link", report, write, _("Saved."))


@bp.post(ENTRY + "/files")
@require("view_portal")
def add_file(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    report = _report(code, fiscal_year, round_no, kind, no)

    def write(version: int | None) -> None:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ServiceError(400, N_("Choose a file to upload."))
        name = forms.file_name(upload.filename)
        title = request.form.get("file_title", "")
        evidence = file_evidence(get_session(), upload, title, name)
        _add_evidence(report, version, evidence)

    return _press("upload", report, write, _("Saved."))


@bp.post(ENTRY + "/evidence/remove")
@require("view_portal")
def remove_evidence(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    report = _report(code, fiscal_year, round_no, kind, no)

    def write(version: int | None) -> None:
        # The remove buttons sit in the report's form and name their evidence in the address.
        evidence_id = (
            request.form.get("evidence_id", type=int)
            or request.args.get("evidence_id", type=int)
            or 0
        )
        session = get_session()
        found = svc.find_entry(session, report.office.id, report.item.id, report.round_no)
        shown = [e.id for e in found.current.evidence] if found and found.current else []
        version = _keep_typed(report, version)
        if evidence_id in shown:
            # Saving an approved report's text opened a new revision with copies of its
            # evidence: the one to remove is the copy in the same place.
            found = svc.find_entry(session, report.office.id, report.item.id, report.round_no)
            now = [e.id for e in found.current.evidence] if found and found.current else []
            if len(now) == len(shown):
                evidence_id = now[shown.index(evidence_id)]
        svc.remove_evidence(
            session,
            current_actor(),
            report.office,
            report.item,
            report.round_no,
            version,
            evidence_id,
        )

    return _press("remove_evidence", report, write, _("Saved."))


@bp.post(ENTRY + "/autosave")
@require("view_portal")
def autosave_entry(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    """The form keeper's autosave: the typed text as a draft, answered in JSON (never a page).

    The same checks as "save draft"; a refusal answers {"error": ...} and changes nothing, so
    the page keeps the text and says why."""
    report = _report(code, fiscal_year, round_no, kind, no)
    session = get_session()
    try:
        if _typed() is None:
            raise ServiceError(400, N_("There is nothing to save."))
        forms.check_text(request.form, ENTRY_LIMITS)
        rev = _save(report, request.form.get("version", type=int))
        saved = to_bangkok(rev.updated_at)
        answer = {"saved_at": saved.strftime("%H:%M"), "version": rev.version}
        session.commit()
    except ServiceError as err:
        session.rollback()
        return jsonify(error=service_message(err)), err.status
    return jsonify(answer)


@bp.route("/evidence/<int:evidence_id>")
def evidence_file(evidence_id: int) -> Any:
    """An uploaded file: public once its report is approved, else to the office and OBEC."""
    session = get_session()
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.kind != "file" or not ev.stored_name:
        abort(404)
    rev = ev.revision
    report = rev.report
    public = report.approved_revision_id == rev.id
    user = current_user if current_user.is_authenticated else None
    if not public and not can_read_office_work(user, report.office_id):
        abort(404)  # do not reveal that an unpublished file exists
    # Every stored file has its type recorded; a row without one is sent as plain bytes.
    return send_stored(
        ev.stored_name, ev.mime or "application/octet-stream", ev.original_name or ""
    )
