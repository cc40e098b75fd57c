"""Progress reports, through the one workflow engine (kind "progress").

A report is one office's workflow report on one item in one round (subject
"item:<item id>:round:<round>"); its points are a revision's data. The office director
certifies it (inside the round's window) and OBEC's reviewer approves or returns it (with a
comment); a higher level may un-approve it. Editing an approved report opens a new revision
(with copies of its evidence); the approved one stays public until its successor is approved.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, object_session

from ..auth import can, can_read_office_work
from ..fiscal import fiscal_year_of
from ..models import (
    INDICATOR_UNITS,
    LIKELY_SUCCESS,
    PROGRESS_STATUSES,
    Evidence,
    ItemSet,
    Office,
    PolicyItem,
    ReportingWindow,
    WindowReopening,
    WorkflowEvent,
    WorkflowReport,
    WorkflowRevision,
)
from . import workflow as wf
from .audit import Actor, emit_change, record
from .errors import FIELD_LABELS, N_, Labels, ServiceError
from .review import (
    EDITABLE_STATES,
    check_version,
    ensure_can,
    limited_text,
    lock_office_work,
)
from .sanitize import clean_html

NARRATIVE = ("what", "where", "how", "result")
# Free-text fields an item may ask for besides the narrative (ITEM_FIELDS of the same names).
EXTRA_TEXT = ("problems", "served_goal")
MAX_NARRATIVE = 5_000
MAX_EVIDENCE = 20
MAX_NO_ACTIVITY = 2_000
MAX_REASON = 1_000
SMALLINT = range(-(2**15), 2**15)

# --- the workflow engine's "progress" kind -----------------------------------------------------

KIND: Final = "progress"
# A revision's data: the report's points, stored as the form and the source name them.
DATA_KEYS: Final = (
    "status",
    *NARRATIVE,
    "indicator_value",
    "indicator_target",
    "indicator_unit",
    "indicator_achieved",
    *EXTRA_TEXT,
    "likely_success",
    "no_activity_reason",
    "no_activity_when",
)
EMPTY: Final[dict[str, Any]] = {
    "status": "not_started",
    **dict.fromkeys(NARRATIVE, ""),
    "indicator_value": None,
    "indicator_target": None,
    "indicator_unit": None,
    "indicator_achieved": None,
    **dict.fromkeys(EXTRA_TEXT, ""),
    "likely_success": None,
    "no_activity_reason": "",
    "no_activity_when": "",
}
# The engine names missing points with the same words the old refusals used.
DATA_LABELS: Final = {k: FIELD_LABELS.get(k, k) for k in DATA_KEYS}


def subject_of(item_id: int, round_no: int) -> str:
    """The engine's subject of an item's report in a round."""
    return f"item:{item_id}:round:{round_no}"


def _content(data: dict[str, Any]) -> SimpleNamespace:
    """A revision's data with every point present (an older or partial document reads empty)."""
    return SimpleNamespace(**{**EMPTY, **{k: data[k] for k in DATA_KEYS if k in data}})


def clean_data(report: WorkflowReport, data: dict[str, Any]) -> dict[str, Any]:
    """The engine's check of a progress revision: the points in `data` over the stored ones."""
    rev = report.current
    content = _content(rev.data if rev is not None else {})
    apply_changes(content, data)
    return {k: getattr(content, k) for k in DATA_KEYS}


def _item_of(report: WorkflowReport) -> PolicyItem | None:
    session = object_session(report)
    if session is None or report.subject_id is None:
        return None
    return session.get(PolicyItem, report.subject_id)


def missing_data(report: WorkflowReport, data: dict[str, Any]) -> list[str]:
    return missing_for_submission(_content(data), _item_of(report))


def check_report_window(report: WorkflowReport, actor: Actor) -> None:
    """Refuses certifying outside the round's window (or the office's reopening)."""
    session = object_session(report)
    item = _item_of(report)
    if session is None or item is None or report.period is None:
        raise ServiceError(404, N_("No such report."))
    window = _validate_round(session, item, report.period)
    is_open, last = can_submit_now(session, window, report.office_id, actor.today_bangkok)
    if not is_open:
        raise ServiceError(
            409,
            N_(
                "Round %(round)s accepts reports from %(opens)s to %(closes)s; today is outside "
                "that window. Ask a reviewer to reopen it for your office."
            ),
            round=report.period,
            opens=window.opens_on.isoformat(),
            closes=last.isoformat(),
        )


# Office director certifies → OBEC reviewer approves: progress's two steps before the engine.
SPEC: Final = wf.register(
    wf.KindSpec(
        kind=KIND,
        entity="progress",
        levels=(wf.CERTIFY, wf.REVIEW),
        clean=clean_data,
        missing=missing_data,
        labels=dict(DATA_LABELS),
        edit_action="edit_entry",
        check_window=check_report_window,
        incomplete_msgid=N_("The report is incomplete: fill in %(fields)s."),
        change_events=False,  # this module emits progress.saved … progress.approved
        audit_names={"create": "save", "revise": "save"},
    )
)


# --- reading ---------------------------------------------------------------------------------


def catalogue_year(session: Session, today: dt.date) -> int:
    """The fiscal year pages follow: always today's, framework or not (pages then say that the
    year has no framework yet; earlier years stay open by ?fiscal_year=)."""
    return fiscal_year_of(today)


def shown_fiscal_year(session: Session, today: dt.date, asked: int | None = None) -> int:
    """The year a page shows: `asked` (?fiscal_year=) when that year has a framework, else
    today's fiscal year (see catalogue_year)."""
    if asked is not None and has_framework(session, asked):
        return asked
    return catalogue_year(session, today)


def has_framework(session: Session, fiscal_year: int) -> bool:
    if fiscal_year not in SMALLINT:
        return False
    return (
        session.scalar(select(PolicyItem.id).filter_by(fiscal_year=fiscal_year).limit(1))
        is not None
    )


def item_or_404(session: Session, fiscal_year: int, kind: str, no: int | str) -> PolicyItem:
    """A fiscal year's item by its set's code and its number ("4", "4.1"), or a 404 naming it."""
    number = str(no).strip()
    item = (
        None
        if fiscal_year not in SMALLINT or len(number) > 40 or len(kind) > 30
        else session.scalars(
            select(PolicyItem).filter_by(fiscal_year=fiscal_year, kind=kind, no=number)
        ).first()
    )
    if item is None:
        raise ServiceError(
            404,
            N_("No item %(kind)s %(no)s in fiscal year %(fy)s."),
            kind=kind,
            no=number,
            fy=fiscal_year,
        )
    return item


def items_of(session: Session, fiscal_year: int) -> list[PolicyItem]:
    """A year's items in the framework's order: set by set, each by number (4, 4.1, 5)."""
    return list(
        session.scalars(
            select(PolicyItem)
            .join(ItemSet, ItemSet.id == PolicyItem.set_id)
            .where(PolicyItem.fiscal_year == fiscal_year)
            .order_by(ItemSet.position, ItemSet.id, PolicyItem.no)
        )
    )


@dataclass(frozen=True)
class RoundOption:
    """A reporting round a page may be read for (the map's round selector)."""

    fiscal_year: int
    round_no: int
    label_th: str
    label_en: str


def round_options(session: Session) -> list[RoundOption]:
    """Every reporting round of a year with a framework, newest year first, rounds in order."""
    years = set(framework_years(session))
    rows = session.scalars(
        select(ReportingWindow).order_by(
            ReportingWindow.fiscal_year.desc(), ReportingWindow.round_no
        )
    )
    return [
        RoundOption(w.fiscal_year, w.round_no, w.label_th, w.label_en)
        for w in rows
        if w.fiscal_year in years
    ]


def framework_years(session: Session) -> list[int]:
    """Fiscal years that have items, newest first (a page's "other years" links)."""
    return sorted(set(session.scalars(select(PolicyItem.fiscal_year).distinct())), reverse=True)


def items_asked(session: Session, fiscal_year: int, round_no: int) -> list[PolicyItem]:
    """The items offices report on in `round_no`: not retired, and planned for that round."""
    return [i for i in items_of(session, fiscal_year) if i.asked_in(round_no)]


def get_window(session: Session, fiscal_year: int, round_no: int) -> ReportingWindow | None:
    if fiscal_year not in SMALLINT or round_no not in SMALLINT:
        return None
    return session.scalars(
        select(ReportingWindow).filter_by(fiscal_year=fiscal_year, round_no=round_no)
    ).first()


def windows(session: Session, fiscal_year: int) -> list[ReportingWindow]:
    return list(
        session.scalars(
            select(ReportingWindow)
            .filter_by(fiscal_year=fiscal_year)
            .order_by(ReportingWindow.round_no)
        )
    )


def reopened_until(session: Session, window: ReportingWindow, office_id: int) -> dt.date | None:
    return session.scalar(
        select(func.max(WindowReopening.until)).where(
            WindowReopening.window_id == window.id, WindowReopening.office_id == office_id
        )
    )


def can_submit_now(
    session: Session, window: ReportingWindow, office_id: int, today: dt.date
) -> tuple[bool, dt.date]:
    """(open?, the last day it is open for this office)."""
    last = window.closes_on
    extra = reopened_until(session, window, office_id)
    if extra and extra > last:
        last = extra
    return window.opens_on <= today <= last, last


class Revision:
    """A progress report's workflow revision read with the report's own names (status, what,
    ..., review_comment, submitted_at), as pages, the API and exports read a revision."""

    def __init__(self, rev: WorkflowRevision, entry: Entry) -> None:
        self.rev = rev
        self.entry = entry

    def __getattr__(self, name: str) -> Any:
        if name in EMPTY:
            return self.rev.data.get(name, EMPTY[name])
        return getattr(self.rev, name)

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def _last(self, *actions: str) -> WorkflowEvent | None:
        session = object_session(self.rev)
        if session is None:
            return None
        return session.scalars(
            select(WorkflowEvent)
            .where(WorkflowEvent.revision_id == self.rev.id, WorkflowEvent.action.in_(actions))
            .order_by(WorkflowEvent.id.desc())
            .limit(1)
        ).first()

    @property
    def review_comment(self) -> str:
        """The reviewer's last word on this revision: a return's reason, an approval's note."""
        if self.rev.state not in ("returned", "approved"):
            return ""
        event = self._last("return", "unapprove", "approve")
        return event.comment if event is not None else ""

    @property
    def submitted_at(self) -> dt.datetime | None:
        event = self._last("submit") if self.rev.state in ("submitted", "approved") else None
        return event.at if event is not None else None

    @property
    def reviewed_by_id(self) -> int | None:
        if self.rev.state not in ("returned", "approved"):
            return None
        event = self._last("return", "unapprove", "approve")
        return event.user_id if event is not None else None

    @property
    def reviewed_at(self) -> dt.datetime | None:
        if self.rev.state == "approved":
            return self.rev.approved_at
        event = self._last("return") if self.rev.state == "returned" else None
        return event.at if event is not None else None


class Entry:
    """A progress report (a workflow report of kind "progress") read with the report's own
    names: item_id, round_no, current and approved revisions."""

    def __init__(self, report: WorkflowReport) -> None:
        self.report = report

    @property
    def id(self) -> int:
        return self.report.id

    @property
    def office_id(self) -> int:
        return self.report.office_id

    @property
    def fiscal_year(self) -> int:
        return self.report.fiscal_year

    @property
    def item_id(self) -> int:
        return int(self.report.subject_id or 0)

    @property
    def round_no(self) -> int:
        return int(self.report.period or 0)

    @property
    def office(self) -> Office:
        return self.report.office

    @property
    def item(self) -> PolicyItem:
        session = object_session(self.report)
        assert session is not None  # noqa: S101 (read from a session)
        return session.get_one(PolicyItem, self.item_id)

    @property
    def current_revision_id(self) -> int | None:
        return self.report.current_revision_id

    @property
    def approved_revision_id(self) -> int | None:
        return self.report.approved_revision_id

    @property
    def current(self) -> Revision | None:
        rev = self.report.current
        return Revision(rev, self) if rev is not None else None

    @property
    def approved(self) -> Revision | None:
        rev = self.report.approved
        return Revision(rev, self) if rev is not None else None


def _progress() -> Any:
    return select(WorkflowReport).where(WorkflowReport.kind == KIND)


def _entries(session: Session, stmt: Any) -> list[Entry]:
    return [Entry(r) for r in session.scalars(stmt).unique()]


def find_entry(session: Session, office_id: int, item_id: int, round_no: int) -> Entry | None:
    if item_id not in range(2**31) or round_no not in SMALLINT:
        return None
    report = session.scalars(
        _progress()
        .options(joinedload(WorkflowReport.current), joinedload(WorkflowReport.approved))
        .where(
            WorkflowReport.office_id == office_id,
            WorkflowReport.subject_id == item_id,
            WorkflowReport.period == round_no,
        )
    ).first()
    return Entry(report) if report is not None else None


def entry_by_id(session: Session, entry_id: int) -> Entry | None:
    if entry_id not in range(2**31):
        return None
    report = session.get(WorkflowReport, entry_id)
    return Entry(report) if report is not None and report.kind == KIND else None


def entry_or_404(session: Session, entry_id: int) -> Entry:
    entry = entry_by_id(session, entry_id)
    if entry is None:
        raise ServiceError(404, N_("No such report."))
    return entry


def revisions(session: Session, entry: Entry) -> list[Revision]:
    return [Revision(r, entry) for r in reversed(wf.revisions(session, entry.report))]


def revision_dict(rev: Any) -> dict[str, Any] | None:
    """The content and state of a revision, as stored in the audit log and served by the API."""
    if rev is None:
        return None
    return {
        "revision_no": rev.revision_no,
        "state": rev.state,
        "status": rev.status,
        **{k: getattr(rev, k) for k in NARRATIVE},
        "indicator": {
            "value": rev.indicator_value,
            "target": rev.indicator_target,
            "unit": rev.indicator_unit,
            "achieved": rev.indicator_achieved,
        },
        "problems": rev.problems,
        "likely_success": rev.likely_success,
        "served_goal": rev.served_goal,
        "no_activity": {"reason": rev.no_activity_reason, "when": rev.no_activity_when},
        "evidence": [
            {
                "id": e.id,
                "kind": e.kind,
                "title": e.title,
                "url": e.url,
                "mime": e.mime,
                "original_name": e.original_name,
                "size_bytes": e.size_bytes,
            }
            for e in rev.evidence
        ],
        "review_comment": rev.review_comment,
        "version": rev.version,
        "source": rev.source,
    }


# --- editing ---------------------------------------------------------------------------------


def _office_event(session: Session, kind: str, entry: Entry) -> None:
    """A private change record, so the office's own portal pages update live."""
    office = session.get(Office, entry.office_id)
    rev = entry.report.current
    emit_change(
        session,
        kind,
        office.code if office else None,
        {
            "entry_id": entry.id,
            "revision_no": rev.revision_no if rev else None,
            "state": rev.state if rev else None,
            "status": rev.data.get("status") if rev else None,
            "version": rev.version if rev else None,
        },
        audience="office",
        office_id=entry.office_id,
    )


def _validate_round(session: Session, item: PolicyItem, round_no: int) -> ReportingWindow:
    window = get_window(session, item.fiscal_year, round_no)
    if window is None:
        raise ServiceError(
            404,
            N_("Fiscal year %(fy)s has no reporting round %(round)s."),
            fy=item.fiscal_year,
            round=round_no,
        )
    return window


def _copy_evidence(base: WorkflowRevision, rev: WorkflowRevision) -> None:
    """A new revision starts with copies of its predecessor's evidence (the approved one keeps
    its own, still public)."""
    rev.evidence = [  # type: ignore[attr-defined]  # the backref models/reporting.py adds
        Evidence(
            kind=e.kind,
            title=e.title,
            url=e.url,
            stored_name=e.stored_name,
            original_name=e.original_name,
            mime=e.mime,
            size_bytes=e.size_bytes,
            sha256=e.sha256,
            uploaded_by_id=e.uploaded_by_id,
        )
        for e in base.evidence  # type: ignore[attr-defined]
    ]


def _write(
    session: Session,
    actor: Actor,
    office: Office,
    item: PolicyItem,
    round_no: int,
    data: dict[str, Any],
    expected_version: int | None,
) -> Entry:
    """Save `data` through the engine (a new revision after approval, with the evidence)."""
    _validate_round(session, item, round_no)
    found = find_entry(session, office.id, item.id, round_no)
    base = found.report.current if found is not None else None
    report = wf.save(
        session,
        actor,
        KIND,
        office,
        item.fiscal_year,
        subject_of(item.id, round_no),
        data,
        expected_version,
        subject_id=item.id,
        period=round_no,
    )
    rev = report.current
    if base is not None and rev is not None and rev.id != base.id:
        _copy_evidence(base, rev)
        session.flush()
    return Entry(report)


def editable_revision(
    session: Session,
    actor: Actor,
    office: Office,
    item: PolicyItem,
    round_no: int,
    expected_version: int | None,
) -> tuple[Entry, Revision]:
    """The revision an office edits now, created on first edit or after approval."""
    ensure_can(actor, "edit_entry", office.id)
    lock_office_work(session, office.id)
    _validate_round(session, item, round_no)
    found = find_entry(session, office.id, item.id, round_no)
    rev = found.report.current if found is not None else None
    if rev is not None and rev.state in EDITABLE_STATES:
        check_version(rev, expected_version)
        assert found is not None  # noqa: S101 (a revision has its report)
        return found, Revision(rev, found)
    entry = _write(session, actor, office, item, round_no, {}, expected_version)
    current = entry.current
    assert current is not None  # noqa: S101 (the engine just saved one)
    return entry, current


def _number(value: Any, field: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ServiceError(400, N_("%(field)s must be a number."), field=Labels(field)) from exc
    if not math.isfinite(number) or number < 0:
        raise ServiceError(400, N_("%(field)s must be zero or more."), field=Labels(field))
    return number


def apply_changes(rev: Any, data: dict[str, Any]) -> None:
    """Validate and copy the editable fields present in `data` onto a draft revision."""
    if "status" in data:
        if data["status"] not in PROGRESS_STATUSES:
            raise ServiceError(
                400, N_("Status must be one of %(allowed)s."), allowed=", ".join(PROGRESS_STATUSES)
            )
        rev.status = data["status"]
    for key in NARRATIVE:
        if key in data:
            text = str(data[key] or "")
            if len(text) > MAX_NARRATIVE:
                raise ServiceError(
                    400,
                    N_("%(field)s is longer than %(n)s characters."),
                    field=Labels(key),
                    n=MAX_NARRATIVE,
                )
            setattr(rev, key, clean_html(text))
    for key in EXTRA_TEXT:
        if key in data:
            text = str(data[key] or "")
            if len(text) > MAX_NARRATIVE:
                raise ServiceError(
                    400,
                    N_("%(field)s is longer than %(n)s characters."),
                    field=Labels(key),
                    n=MAX_NARRATIVE,
                )
            setattr(rev, key, clean_html(text))
    if "likely_success" in data:
        judged = data["likely_success"] or None
        if judged is not None and judged not in LIKELY_SUCCESS:
            raise ServiceError(
                400,
                N_("Likely success must be one of %(allowed)s."),
                allowed=", ".join(LIKELY_SUCCESS),
            )
        rev.likely_success = judged
    for key in ("no_activity_reason", "no_activity_when"):
        if key in data:
            setattr(rev, key, limited_text(str(data[key] or ""), Labels(key), MAX_NO_ACTIVITY))
    if "indicator_unit" in data:
        unit = data["indicator_unit"] or None
        if unit is not None and unit not in INDICATOR_UNITS:
            raise ServiceError(400, N_("The indicator unit must be number or percent."))
        rev.indicator_unit = unit
    if "indicator_value" in data:
        rev.indicator_value = _number(data["indicator_value"], "indicator_value")
    if "indicator_target" in data:
        rev.indicator_target = _number(data["indicator_target"], "indicator_target")
    if rev.indicator_unit == "percent":
        for key in ("indicator_value", "indicator_target"):
            value = getattr(rev, key)
            if value is not None and value > 100:
                raise ServiceError(
                    400, N_("%(field)s is a percentage: 0 to 100."), field=Labels(key)
                )
    # Derived, never typed: an office cannot claim a target it did not reach.
    if rev.indicator_value is not None and rev.indicator_target is not None:
        rev.indicator_achieved = rev.indicator_value >= rev.indicator_target
    else:
        rev.indicator_achieved = None


def save_draft(
    session: Session,
    actor: Actor,
    office: Office,
    item: PolicyItem,
    round_no: int,
    data: dict[str, Any],
    expected_version: int | None,
) -> Revision:
    """Save the typed points (a person's edit: ingestion must never overwrite it silently)."""
    ensure_can(actor, "edit_entry", office.id)
    entry = _write(session, actor, office, item, round_no, data, expected_version)
    _office_event(session, "progress.saved", entry)
    current = entry.current
    assert current is not None  # noqa: S101 (the engine just saved one)
    return current


def missing_for_submission(rev: Any, item: PolicyItem | None = None) -> list[str]:
    """What a complete report still lacks (the seed's top complaint is incomplete reports):
    the fields its item asks for (the four-part narrative when no item is given)."""
    if rev.status == "not_started":
        return [k for k in ("no_activity_reason", "no_activity_when") if not getattr(rev, k)]
    asks = set(item.fields or ()) if item is not None else {"narrative"}
    missing = [k for k in NARRATIVE if "narrative" in asks and not getattr(rev, k)]
    missing += [k for k in EXTRA_TEXT if k in asks and not getattr(rev, k)]
    if "likely_success" in asks and rev.likely_success is None:
        missing.append("likely_success")
    if (rev.indicator_value is None) != (rev.indicator_target is None):
        missing.append("indicator_target" if rev.indicator_target is None else "indicator_value")
    return missing


def submit(session: Session, actor: Actor, entry: Entry, expected_version: int | None) -> Revision:
    """The office director certifies the report and sends it to OBEC (level 1)."""
    ensure_can(actor, "submit_entry", entry.office_id)
    lock_office_work(session, entry.office_id)
    session.refresh(entry.report)
    rev = entry.report.current
    if rev is None:
        raise ServiceError(409, N_("There is nothing to submit yet."))
    check_version(rev, expected_version)
    if rev.state not in EDITABLE_STATES:  # checked before the window, the clearer refusal
        raise ServiceError(409, N_("Only a draft or a returned one can be submitted."))
    check_report_window(entry.report, actor)  # before completeness, as before the engine
    report = wf.submit(session, actor, entry.report, expected_version)
    _office_event(session, "progress.submitted", entry)
    current = Entry(report).current
    assert current is not None  # noqa: S101 (just sent)
    return current


def review(
    session: Session,
    actor: Actor,
    entry: Entry,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> Revision:
    """approve, return (with a comment) or unapprove (with a comment) the report."""
    ensure_can(actor, "review_entry")
    if decision not in wf.DECISIONS:
        raise ServiceError(400, N_("The decision must be approve or return."))
    was_public = entry.report.current is not None and entry.report.current.state == "approved"
    report = wf.decide(session, actor, entry.report, decision, expected_version, comment)
    _office_event(session, "progress.reviewed", entry)
    if was_public:  # un-approved: the public sees the previous approved revision, or none
        office = session.get(Office, entry.office_id)
        emit_change(
            session,
            "office.updated",
            office.code if office else None,
            {"fields": ["progress"], "fiscal_year": entry.fiscal_year},
        )
    rev = report.current
    assert rev is not None  # noqa: S101 (decided on)
    if decision == "approve" and rev.state == "approved":
        office = session.get(Office, entry.office_id)
        item = session.get(PolicyItem, entry.item_id)
        emit_change(
            session,
            "progress.approved",
            office.code if office else None,
            {
                "entry_id": entry.id,
                "item_id": entry.item_id,
                "round_no": entry.round_no,
                "item_kind": item.kind if item else None,
                "item_no": item.no if item else None,
                "fiscal_year": entry.fiscal_year,
                "status": rev.data.get("status"),
            },
        )
    current = Entry(report).current
    assert current is not None  # noqa: S101 (decided on)
    return current


def reopen(
    session: Session,
    actor: Actor,
    office: Office,
    window: ReportingWindow,
    until: dt.date,
    reason: str,
) -> WindowReopening:
    if actor.user is None or not can(actor.user, "reopen_window"):
        raise ServiceError(403, N_("Only reviewers may reopen a reporting window."))
    reason = limited_text(reason, Labels("reason"), MAX_REASON)
    if not reason:
        raise ServiceError(400, N_("Give a reason for reopening."))
    if until < actor.today_bangkok:
        raise ServiceError(400, N_("The new closing date is in the past."))
    row = WindowReopening(
        window_id=window.id,
        office_id=office.id,
        until=until,
        reason=reason,
        by_user_id=actor.user.id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "window.reopen",
        "reporting_window",
        window.id,
        office_id=office.id,
        after={"until": until.isoformat(), "reason": reason},
    )
    return row


# --- evidence --------------------------------------------------------------------------------


def add_evidence(
    session: Session,
    actor: Actor,
    office: Office,
    item: PolicyItem,
    round_no: int,
    expected_version: int | None,
    evidence: Evidence,
) -> Revision:
    _entry, rev = editable_revision(session, actor, office, item, round_no, expected_version)
    if len(rev.evidence) >= MAX_EVIDENCE:
        raise ServiceError(
            400, N_("A report can have at most %(n)s pieces of evidence."), n=MAX_EVIDENCE
        )
    evidence.uploaded_by_id = actor.user.id if actor.user else None
    rev.evidence.append(evidence)
    rev.rev.source = "manual"  # a person's edit, like save_draft: ingestion must not overwrite it
    rev.rev.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "evidence.add",
        "progress_revision",
        rev.id,
        office_id=office.id,
        after=_evidence_audit(evidence),
    )
    return rev


def _evidence_audit(evidence: Evidence) -> dict[str, Any]:
    """What the audit log keeps of an evidence item added or removed."""
    return {
        "kind": evidence.kind,
        "title": evidence.title,
        "url": evidence.url,
        "original_name": evidence.original_name,
    }


def remove_evidence(
    session: Session,
    actor: Actor,
    office: Office,
    item: PolicyItem,
    round_no: int,
    expected_version: int | None,
    evidence_id: int,
) -> Revision:
    # A removal on an approved report applies to the new revision's copy of that evidence.
    ensure_can(actor, "edit_entry", office.id)
    lock_office_work(session, office.id)
    entry = find_entry(session, office.id, item.id, round_no)
    source = entry.current if entry else None
    target = next((e for e in source.evidence if e.id == evidence_id), None) if source else None
    if source is None or target is None:
        raise ServiceError(404, N_("No such evidence on this report."))
    position = list(source.evidence).index(target)
    _entry, rev = editable_revision(session, actor, office, item, round_no, expected_version)
    removed = rev.evidence.pop(position)
    rev.rev.source = "manual"
    rev.rev.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "evidence.remove",
        "progress_revision",
        rev.id,
        office_id=office.id,
        before=_evidence_audit(removed),
    )
    return rev


# --- summaries for the map and pages ------------------------------------------------------------


@dataclass
class OfficeProgress:
    code: str
    items_total: int
    approved: int
    by_status: dict[str, int]

    @property
    def share_approved(self) -> float:
        return self.approved / self.items_total if self.items_total else 0.0


def approved_status_by_office(
    session: Session, fiscal_year: int, item_id: int | None = None, round_no: int | None = None
) -> dict[str, dict[int, str]]:
    """{office_code: {item_id: status}} from the latest approved round of each item (or from
    round `round_no` only)."""
    if fiscal_year not in SMALLINT or (round_no is not None and round_no not in SMALLINT):
        return {}
    stmt = (
        select(
            Office.code,
            WorkflowReport.subject_id,
            WorkflowReport.period,
            WorkflowRevision.data["status"].astext,
        )
        .join(WorkflowReport, WorkflowReport.office_id == Office.id)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
        .where(WorkflowReport.kind == KIND, WorkflowReport.fiscal_year == fiscal_year)
        .order_by(Office.code, WorkflowReport.subject_id, WorkflowReport.period)
    )
    if item_id is not None:
        stmt = stmt.where(WorkflowReport.subject_id == item_id)
    if round_no is not None:
        stmt = stmt.where(WorkflowReport.period == round_no)
    out: dict[str, dict[int, str]] = {}
    for row in session.execute(stmt):
        code, item, status = str(row[0]), cast(int, row[1]), str(row[3] or "not_started")
        out.setdefault(code, {})[item] = status  # later rounds overwrite earlier ones
    return out


def progress_summary(
    session: Session, fiscal_year: int, round_no: int | None = None
) -> list[OfficeProgress]:
    """Per office: approved reports against the year's items (or, with `round_no`, the items
    asked in that round against the reports approved in it: the round's completeness)."""
    if round_no is None:
        total = (
            session.scalar(
                select(func.count())
                .select_from(PolicyItem)
                .where(PolicyItem.fiscal_year == fiscal_year)
            )
            or 0
        )
        statuses = approved_status_by_office(session, fiscal_year)
    else:
        asked = {i.id for i in items_asked(session, fiscal_year, round_no)}
        total = len(asked)
        statuses = {
            code: {item: status for item, status in items.items() if item in asked}
            for code, items in approved_status_by_office(
                session, fiscal_year, round_no=round_no
            ).items()
        }
    result = []
    for code in session.scalars(select(Office.code).order_by(Office.code)):
        items = statuses.get(code, {})
        by_status = {s: 0 for s in PROGRESS_STATUSES}
        for status in items.values():
            by_status[status] += 1
        result.append(OfficeProgress(code, total, len(items), by_status))
    return result


def approved_entries(session: Session, fiscal_year: int, item_id: int | None = None) -> list[Entry]:
    """Every report with an approved revision in a year (what the public may read)."""
    stmt = (
        _progress()
        .options(joinedload(WorkflowReport.approved), joinedload(WorkflowReport.office))
        .where(
            WorkflowReport.fiscal_year == fiscal_year,
            WorkflowReport.approved_revision_id.is_not(None),
        )
        .order_by(WorkflowReport.office_id, WorkflowReport.subject_id, WorkflowReport.period)
    )
    if item_id is not None:
        stmt = stmt.where(WorkflowReport.subject_id == item_id)
    return _entries(session, stmt)


def approved_for_office(
    session: Session, office_id: int, fiscal_year: int
) -> dict[int, list[Entry]]:
    """{item_id: entries with an approved revision, by round} — what the public may read."""
    entries = _entries(
        session,
        _progress()
        .options(joinedload(WorkflowReport.approved))
        .where(
            WorkflowReport.office_id == office_id,
            WorkflowReport.fiscal_year == fiscal_year,
            WorkflowReport.approved_revision_id.is_not(None),
        )
        .order_by(WorkflowReport.subject_id, WorkflowReport.period),
    )
    out: dict[int, list[Entry]] = {}
    for entry in entries:
        out.setdefault(entry.item_id, []).append(entry)
    return out


def earlier_rounds(session: Session, office_id: int, item_id: int, round_no: int) -> list[Any]:
    """Approved revisions of the same item in earlier rounds, for side-by-side reading."""
    entries = _entries(
        session,
        _progress()
        .options(joinedload(WorkflowReport.approved))
        .where(
            WorkflowReport.office_id == office_id,
            WorkflowReport.subject_id == item_id,
            WorkflowReport.period < round_no,
            WorkflowReport.approved_revision_id.is_not(None),
        )
        .order_by(WorkflowReport.period),
    )
    return [e.approved for e in entries]


def office_work(session: Session, actor: Actor, office: Office, fiscal_year: int) -> list[Entry]:
    """All of an office's entries for a year, drafts included (own staff and OBEC only)."""
    if not can_read_office_work(actor.user, office.id):
        raise ServiceError(403, N_("You may not see this office's unpublished reports."))
    return _entries(
        session,
        _progress()
        .options(joinedload(WorkflowReport.current))
        .where(WorkflowReport.office_id == office.id, WorkflowReport.fiscal_year == fiscal_year)
        .order_by(WorkflowReport.period, WorkflowReport.subject_id),
    )


def review_queue(
    session: Session,
    fiscal_year: int,
    state: str = "submitted",
    *,
    cluster_no: int | None = None,
    item_id: int | None = None,
    limit: int = 500,
) -> list[Entry]:
    """Entries whose current revision is in `state`, the longest-waiting first."""
    stmt = (
        _progress()
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
        .join(Office, Office.id == WorkflowReport.office_id)
        .options(joinedload(WorkflowReport.current), joinedload(WorkflowReport.office))
        .where(WorkflowReport.fiscal_year == fiscal_year, WorkflowRevision.state == state)
        .order_by(WorkflowRevision.updated_at.asc(), Office.code)
    )
    if cluster_no:
        stmt = stmt.where(Office.cluster_no == cluster_no)
    if item_id:
        stmt = stmt.where(WorkflowReport.subject_id == item_id)
    return _entries(session, stmt.limit(limit))


def has_reports(session: Session, item_ids: list[int]) -> set[int]:
    """Which of these items have reports (an item with reports is retired, never deleted)."""
    if not item_ids:
        return set()
    return set(
        session.scalars(
            select(WorkflowReport.subject_id)
            .where(WorkflowReport.kind == KIND, WorkflowReport.subject_id.in_(item_ids))
            .distinct()
        )
    )
