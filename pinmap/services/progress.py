"""Progress reports and their review workflow, enforced here as a state machine.

draft → submitted (office director, inside the reporting window) → returned (reviewer, with a
comment) → submitted again → approved (reviewer). Editing an approved report starts a new
revision; the approved one stays public until its successor is approved. Every revision is kept.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final

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
    ProgressEntry,
    ProgressRevision,
    ReportingWindow,
    ReviewComment,
    WindowReopening,
    WorkflowReport,
)
from . import workflow as wf
from .audit import Actor, emit_change, record
from .errors import FIELD_LABELS, N_, Labels, ServiceError
from .lookups import get_or_404
from .review import (
    EDITABLE_STATES,
    check_version,
    continue_version,
    ensure_can,
    limited_text,
    lock_office_work,
    mark_reviewed,
    mark_submitted,
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
    apply_changes(content, data)  # type: ignore[arg-type]  # same attributes as a revision
    return {k: getattr(content, k) for k in DATA_KEYS}


def _item_of(report: WorkflowReport) -> PolicyItem | None:
    session = object_session(report)
    if session is None or report.subject_id is None:
        return None
    return session.get(PolicyItem, report.subject_id)


def missing_data(report: WorkflowReport, data: dict[str, Any]) -> list[str]:
    return missing_for_submission(_content(data), _item_of(report))  # type: ignore[arg-type]


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


def find_entry(
    session: Session, office_id: int, item_id: int, round_no: int
) -> ProgressEntry | None:
    return session.scalars(
        select(ProgressEntry)
        .options(joinedload(ProgressEntry.current), joinedload(ProgressEntry.approved))
        .filter_by(office_id=office_id, item_id=item_id, round_no=round_no)
    ).first()


def entry_by_id(session: Session, entry_id: int) -> ProgressEntry | None:
    return session.get(ProgressEntry, entry_id)


def entry_or_404(session: Session, entry_id: int) -> ProgressEntry:
    return get_or_404(session, ProgressEntry, entry_id, N_("No such report."))


def revisions(session: Session, entry: ProgressEntry) -> list[ProgressRevision]:
    return list(
        session.scalars(
            select(ProgressRevision)
            .filter_by(entry_id=entry.id)
            .order_by(ProgressRevision.revision_no.desc())
        )
    )


def revision_dict(rev: ProgressRevision | None) -> dict[str, Any] | None:
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


def _office_event(
    session: Session, kind: str, entry_id: int, office_id: int, rev: ProgressRevision
) -> None:
    """A private change record, so the office's own portal pages update live."""
    office = session.get(Office, office_id)
    emit_change(
        session,
        kind,
        office.code if office else None,
        {
            "entry_id": entry_id,
            "revision_no": rev.revision_no,
            "state": rev.state,
            "status": rev.status,
            "version": rev.version,
        },
        audience="office",
        office_id=office_id,
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


def _new_revision(
    session: Session, actor: Actor, entry: ProgressEntry, base: ProgressRevision | None
) -> ProgressRevision:
    number = (
        session.scalar(
            select(func.max(ProgressRevision.revision_no)).where(
                ProgressRevision.entry_id == entry.id
            )
        )
        or 0
    ) + 1
    rev = ProgressRevision(
        entry_id=entry.id,
        revision_no=number,
        state="draft",
        created_by_id=actor.user.id if actor.user else None,
    )
    if base is not None:
        for key in (
            *NARRATIVE,
            "status",
            "indicator_value",
            "indicator_target",
            "indicator_unit",
            "indicator_achieved",
            "no_activity_reason",
            "no_activity_when",
            *EXTRA_TEXT,
            "likely_success",
        ):
            setattr(rev, key, getattr(base, key))
        rev.evidence = [
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
            for e in base.evidence
        ]
    session.add(rev)
    session.flush()
    continue_version(session, rev, base)
    entry.current_revision_id = rev.id
    session.flush()
    session.refresh(entry)
    return rev


def editable_revision(
    session: Session,
    actor: Actor,
    office: Office,
    item: PolicyItem,
    round_no: int,
    expected_version: int | None,
) -> tuple[ProgressEntry, ProgressRevision]:
    """The revision an office edits now, created on first edit or after approval."""
    ensure_can(actor, "edit_entry", office.id)
    office_id, item_id, fiscal_year = office.id, item.id, item.fiscal_year
    lock_office_work(session, office_id)
    _validate_round(session, item, round_no)
    entry = find_entry(session, office_id, item_id, round_no)
    if entry is None:
        if expected_version not in (None, 0):
            raise ServiceError(409, N_("This report no longer exists; reload the page."))
        entry = ProgressEntry(
            office_id=office_id, fiscal_year=fiscal_year, item_id=item_id, round_no=round_no
        )
        session.add(entry)
        session.flush()
        return entry, _new_revision(session, actor, entry, None)
    rev = entry.current
    if rev is None:  # an entry is always created with its first revision
        raise ServiceError(409, N_("This report no longer exists; reload the page."))
    check_version(rev, expected_version)
    if rev.state == "submitted":
        raise ServiceError(409, N_("This report is waiting for review and cannot be edited now."))
    if rev.state == "approved":
        rev = _new_revision(session, actor, entry, rev)
    return entry, rev


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


def apply_changes(rev: ProgressRevision, data: dict[str, Any]) -> None:
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
) -> ProgressRevision:
    entry, rev = editable_revision(session, actor, office, item, round_no, expected_version)
    before = revision_dict(rev)
    apply_changes(rev, data)
    rev.source = "manual"  # a person's edit: ingestion must never overwrite it silently
    rev.updated_at = actor.now  # always an UPDATE, so the version moves on every save
    session.flush()
    record(
        session,
        actor,
        "progress.save",
        "progress_revision",
        rev.id,
        before=before,
        after=revision_dict(rev),
        office_id=office.id,
    )
    _office_event(session, "progress.saved", entry.id, office.id, rev)
    return rev


def missing_for_submission(rev: ProgressRevision, item: PolicyItem | None = None) -> list[str]:
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


def submit(
    session: Session, actor: Actor, entry: ProgressEntry, expected_version: int | None
) -> ProgressRevision:
    ensure_can(actor, "submit_entry", entry.office_id)
    lock_office_work(session, entry.office_id)
    rev = entry.current
    if rev is None:
        raise ServiceError(409, N_("There is nothing to submit yet."))
    check_version(rev, expected_version)
    if rev.state not in EDITABLE_STATES:  # checked before the window, the clearer refusal
        raise ServiceError(409, N_("Only a draft or a returned one can be submitted."))
    window = _validate_round(session, entry.item, entry.round_no)
    is_open, last = can_submit_now(session, window, entry.office_id, actor.today_bangkok)
    if not is_open:
        raise ServiceError(
            409,
            N_(
                "Round %(round)s accepts reports from %(opens)s to %(closes)s; today is outside "
                "that window. Ask a reviewer to reopen it for your office."
            ),
            round=entry.round_no,
            opens=window.opens_on.isoformat(),
            closes=last.isoformat(),
        )
    missing = missing_for_submission(rev, entry.item)
    if missing:
        raise ServiceError(
            400, N_("The report is incomplete: fill in %(fields)s."), fields=Labels(*missing)
        )
    before = revision_dict(rev)
    mark_submitted(rev, actor)
    session.flush()
    record(
        session,
        actor,
        "progress.submit",
        "progress_revision",
        rev.id,
        before=before,
        after=revision_dict(rev),
        office_id=entry.office_id,
    )
    _office_event(session, "progress.submitted", entry.id, entry.office_id, rev)
    return rev


def review(
    session: Session,
    actor: Actor,
    entry: ProgressEntry,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> ProgressRevision:
    reviewer = ensure_can(actor, "review_entry")
    lock_office_work(session, entry.office_id)
    rev = entry.current
    if rev is None:
        raise ServiceError(409, N_("There is nothing to review."))
    check_version(rev, expected_version)
    before = revision_dict(rev)
    comment = mark_reviewed(rev, actor, decision, comment, action="review_entry")
    if comment:  # every return, and any approval note, is kept beside the revision
        session.add(ReviewComment(revision_id=rev.id, author_id=reviewer.id, body=comment))
    if decision == "approve":
        entry.approved_revision_id = rev.id
    session.flush()
    record(
        session,
        actor,
        f"progress.{decision}",
        "progress_revision",
        rev.id,
        before=before,
        after=revision_dict(rev),
        office_id=entry.office_id,
    )
    _office_event(session, "progress.reviewed", entry.id, entry.office_id, rev)
    if decision == "approve":
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
                "status": rev.status,
            },
        )
    return rev


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
) -> ProgressRevision:
    _entry, rev = editable_revision(session, actor, office, item, round_no, expected_version)
    if len(rev.evidence) >= MAX_EVIDENCE:
        raise ServiceError(
            400, N_("A report can have at most %(n)s pieces of evidence."), n=MAX_EVIDENCE
        )
    evidence.uploaded_by_id = actor.user.id if actor.user else None
    rev.evidence.append(evidence)
    rev.source = "manual"  # a person's edit, like save_draft: ingestion must not overwrite it
    rev.updated_at = actor.now
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
) -> ProgressRevision:
    # A removal on an approved report applies to the new revision's copy of that evidence.
    ensure_can(actor, "edit_entry", office.id)
    lock_office_work(session, office.id)
    entry = find_entry(session, office.id, item.id, round_no)
    source = entry.current if entry else None
    target = next((e for e in source.evidence if e.id == evidence_id), None) if source else None
    if source is None or target is None:
        raise ServiceError(404, N_("No such evidence on this report."))
    position = source.evidence.index(target)
    _entry, rev = editable_revision(session, actor, office, item, round_no, expected_version)
    removed = rev.evidence.pop(position)
    rev.source = "manual"
    rev.updated_at = actor.now
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
    session: Session, fiscal_year: int, item_id: int | None = None
) -> dict[str, dict[int, str]]:
    """{office_code: {item_id: status}} from the latest approved round of each item."""
    stmt = (
        select(Office.code, ProgressEntry.item_id, ProgressEntry.round_no, ProgressRevision.status)
        .join(ProgressEntry, ProgressEntry.office_id == Office.id)
        .join(ProgressRevision, ProgressRevision.id == ProgressEntry.approved_revision_id)
        .where(ProgressEntry.fiscal_year == fiscal_year)
        .order_by(Office.code, ProgressEntry.item_id, ProgressEntry.round_no)
    )
    if item_id is not None:
        stmt = stmt.where(ProgressEntry.item_id == item_id)
    out: dict[str, dict[int, str]] = {}
    for code, item, _round, status in session.execute(stmt):
        out.setdefault(code, {})[item] = status  # later rounds overwrite earlier ones
    return out


def progress_summary(session: Session, fiscal_year: int) -> list[OfficeProgress]:
    total = (
        session.scalar(
            select(func.count())
            .select_from(PolicyItem)
            .where(PolicyItem.fiscal_year == fiscal_year)
        )
        or 0
    )
    statuses = approved_status_by_office(session, fiscal_year)
    result = []
    for code in session.scalars(select(Office.code).order_by(Office.code)):
        items = statuses.get(code, {})
        by_status = {s: 0 for s in PROGRESS_STATUSES}
        for status in items.values():
            by_status[status] += 1
        result.append(OfficeProgress(code, total, len(items), by_status))
    return result


def approved_for_office(
    session: Session, office_id: int, fiscal_year: int
) -> dict[int, list[ProgressEntry]]:
    """{item_id: entries with an approved revision, by round} — what the public may read."""
    entries = session.scalars(
        select(ProgressEntry)
        .options(joinedload(ProgressEntry.approved))
        .where(
            ProgressEntry.office_id == office_id,
            ProgressEntry.fiscal_year == fiscal_year,
            ProgressEntry.approved_revision_id.is_not(None),
        )
        .order_by(ProgressEntry.item_id, ProgressEntry.round_no)
    ).unique()
    out: dict[int, list[ProgressEntry]] = {}
    for entry in entries:
        out.setdefault(entry.item_id, []).append(entry)
    return out


def office_work(
    session: Session, actor: Actor, office: Office, fiscal_year: int
) -> list[ProgressEntry]:
    """All of an office's entries for a year, drafts included (own staff and OBEC only)."""
    if not can_read_office_work(actor.user, office.id):
        raise ServiceError(403, N_("You may not see this office's unpublished reports."))
    return list(
        session.scalars(
            select(ProgressEntry)
            .options(joinedload(ProgressEntry.current), joinedload(ProgressEntry.item))
            .filter_by(office_id=office.id, fiscal_year=fiscal_year)
            .order_by(ProgressEntry.round_no, ProgressEntry.item_id)
        ).unique()
    )


def review_queue(
    session: Session,
    fiscal_year: int,
    state: str = "submitted",
    *,
    cluster_no: int | None = None,
    item_id: int | None = None,
    limit: int = 500,
) -> list[ProgressEntry]:
    """Entries whose current revision is in `state`, the longest-waiting submission first."""
    stmt = (
        select(ProgressEntry)
        .join(ProgressRevision, ProgressRevision.id == ProgressEntry.current_revision_id)
        .join(Office, Office.id == ProgressEntry.office_id)
        .options(
            joinedload(ProgressEntry.current),
            joinedload(ProgressEntry.office),
            joinedload(ProgressEntry.item),
        )
        .where(ProgressEntry.fiscal_year == fiscal_year, ProgressRevision.state == state)
        .order_by(ProgressRevision.submitted_at.asc().nulls_last(), Office.code)
    )
    if cluster_no:
        stmt = stmt.where(Office.cluster_no == cluster_no)
    if item_id:
        stmt = stmt.where(ProgressEntry.item_id == item_id)
    return list(session.scalars(stmt.limit(limit)).unique())
