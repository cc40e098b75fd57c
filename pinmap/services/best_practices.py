"""Best practices: written by an office, reviewed by OBEC through the one workflow engine, then
public, searchable, mapped.

A best practice keeps its id (`BestPractice`, the address every page and link uses) and is a
workflow report of kind "best_practice" whose revisions hold its content: title, owner, fiscal
year, dimensions, aligned items, the five texts, infographic and attachments. The office
director certifies it and OBEC reviews it (two levels, as before the engine). A finally
approved revision is locked: a change (text, file, infographic) opens a new revision and the
approved one stays public until the new one is approved. Readers get a `Practice`: one
revision of one practice, with the attributes pages, the API and exports read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Integer, delete, func, or_, select
from sqlalchemy.orm import Session

from ..fiscal import fiscal_year_of
from ..models import (
    BestPractice,
    BestPracticeItem,
    Office,
    Photo,
    PolicyDimension,
    PolicyItem,
    WorkflowReport,
    WorkflowRevision,
)
from . import workflow as wf
from .audit import Actor, emit_change, record
from .errors import FIELD_LABELS, N_, Labels, ServiceError
from .review import ensure_can, lock_office_work
from .sanitize import clean_html, clean_text

KIND: Final = "best_practice"
RICH_FIELDS: Final = ("background", "objectives", "process", "results", "success_factors")
REQUIRED: Final = ("background", "objectives", "process", "results")
MAX_RICH: Final = 10_000
MAX_ATTACHMENTS: Final = 10
FIRST_YEAR: Final = 2562
# Everything a revision's data holds (the engine copies it into a new revision whole).
CONTENT: Final = (
    "fiscal_year",
    "title",
    "owner",
    "dimensions",
    "items",
    *RICH_FIELDS,
    "infographic_photo_id",
    "attachments",
)
ATTACHMENT_KEYS: Final = ("stored_name", "original_name", "title", "mime", "size_bytes", "sha256")


def subject_of(bp_id: int) -> str:
    return f"best_practice:{bp_id}"


def _stored(report: WorkflowReport, data: dict[str, Any]) -> dict[str, Any]:
    """The engine's cleaning step: the service checked the form already (it needs the
    session and the catalogue); here only the known keys are kept, in their stored shapes."""
    out: dict[str, Any] = {
        "fiscal_year": int(data.get("fiscal_year") or report.fiscal_year),
        "title": str(data.get("title") or ""),
        "owner": str(data.get("owner") or ""),
        "dimensions": [str(d) for d in data.get("dimensions") or []],
        "items": sorted({int(i) for i in data.get("items") or []}),
        **{k: str(data.get(k) or "") for k in RICH_FIELDS},
        "infographic_photo_id": data.get("infographic_photo_id"),
        "attachments": [
            {k: a.get(k) for k in ATTACHMENT_KEYS} for a in data.get("attachments") or []
        ],
    }
    return out


def _missing(report: WorkflowReport, data: dict[str, Any]) -> list[str]:
    return [k for k in REQUIRED if not data.get(k)]


# Office director certifies → OBEC reviews: the two steps best practices had before the engine.
SPEC: Final = wf.register(
    wf.KindSpec(
        kind=KIND,
        entity="best_practice",
        levels=(wf.CERTIFY, wf.REVIEW),
        clean=_stored,
        missing=_missing,
        labels={k: FIELD_LABELS[k] for k in REQUIRED},
        edit_action="edit_profile",
        incomplete_msgid=N_("The best practice is incomplete: fill in %(fields)s."),
    )
)


# --- what readers get --------------------------------------------------------------------------


@dataclass
class Practice:
    """One revision of a best practice (the working one, or the approved one), as read."""

    id: int
    office_id: int
    report_id: int
    revision_no: int
    state: str
    level: int
    version: int
    fiscal_year: int
    title: str
    owner: str
    dimensions: list[str]
    items: list[int]
    background: str
    objectives: str
    process: str
    results: str
    success_factors: str
    infographic_photo_id: int | None
    attachments: list[dict[str, Any]]
    updated_at: dt.datetime | None
    approved_at: dt.datetime | None
    # This is a newer revision of a practice whose approved revision stays public meanwhile.
    pending: bool = False
    review_comment: str = ""
    trail: list[Any] = field(default_factory=list)

    @property
    def replaces_id(self) -> int | None:
        """The approved practice this working revision revises (the same id), else None."""
        return self.id if self.pending else None


def _view(
    bp: BestPractice, report: WorkflowReport, rev: WorkflowRevision, comment: str = ""
) -> Practice:
    data = rev.data or {}
    return Practice(
        id=bp.id,
        office_id=bp.office_id,
        report_id=report.id,
        revision_no=rev.revision_no,
        state=rev.state,
        level=rev.level,
        version=rev.version,
        fiscal_year=int(data.get("fiscal_year") or report.fiscal_year),
        title=str(data.get("title") or ""),
        owner=str(data.get("owner") or ""),
        dimensions=list(data.get("dimensions") or []),
        items=list(data.get("items") or []),
        background=str(data.get("background") or ""),
        objectives=str(data.get("objectives") or ""),
        process=str(data.get("process") or ""),
        results=str(data.get("results") or ""),
        success_factors=str(data.get("success_factors") or ""),
        infographic_photo_id=data.get("infographic_photo_id"),
        attachments=list(data.get("attachments") or []),
        updated_at=rev.updated_at,
        approved_at=rev.approved_at,
        pending=report.approved_revision_id is not None and report.approved_revision_id != rev.id,
        review_comment=comment,
    )


def _report(session: Session, bp: BestPractice) -> WorkflowReport:
    report = session.get(WorkflowReport, bp.report_id) if bp.report_id is not None else None
    if report is None or report.current is None:
        raise ServiceError(404, N_("No such best practice."))
    return report


def _comment(session: Session, report: WorkflowReport) -> str:
    """What the reviewer said when returning or un-approving the working revision."""
    rev = report.current
    if rev is None or rev.state not in ("returned", "draft"):
        return ""
    event = wf.last_comment(session, report)
    return event.comment if event is not None else ""


def working(session: Session, bp: BestPractice) -> Practice:
    """The revision the office works on (for the office and OBEC)."""
    report = _report(session, bp)
    assert report.current is not None  # noqa: S101 (_report refuses a report without one)
    return _view(bp, report, report.current, _comment(session, report))


def public(session: Session, bp: BestPractice) -> Practice | None:
    """The approved revision (what everyone sees), or None before the first approval."""
    report = _report(session, bp)
    if report.approved is None:
        return None
    return _view(bp, report, report.approved)


def row_or_404(session: Session, bp_id: int) -> BestPractice:
    found = session.get(BestPractice, bp_id) if -(2**31) <= bp_id < 2**31 else None
    if found is None or found.report_id is None:
        raise ServiceError(404, N_("No such best practice."))
    return found


def get(session: Session, bp_id: int) -> Practice | None:
    try:
        return bp_or_404(session, bp_id)
    except ServiceError:
        return None


def bp_or_404(session: Session, bp_id: int) -> Practice:
    """The working revision of practice `bp_id` (404 when there is none)."""
    return working(session, row_or_404(session, bp_id))


def public_or_none(session: Session, bp_id: int) -> Practice | None:
    try:
        return public(session, row_or_404(session, bp_id))
    except ServiceError:
        return None


def item_ids(session: Session, bp: Practice) -> list[int]:
    return sorted(bp.items)


def items_of(session: Session, bp: Practice) -> list[PolicyItem]:
    if not bp.items:
        return []
    return list(
        session.scalars(
            select(PolicyItem)
            .where(PolicyItem.id.in_(bp.items))
            .order_by(PolicyItem.kind, PolicyItem.no)
        )
    )


def bp_dict(session: Session, bp: Practice) -> dict[str, Any]:
    """The content and state, as stored in the audit log and served by the API."""
    return {
        "id": bp.id,
        "fiscal_year": bp.fiscal_year,
        "title": bp.title,
        "owner": bp.owner,
        "dimensions": list(bp.dimensions or []),
        "items": item_ids(session, bp),
        **{k: getattr(bp, k) for k in RICH_FIELDS},
        "infographic_photo_id": bp.infographic_photo_id,
        "attachments": [
            {k: a.get(k) for k in ("title", "original_name", "mime", "size_bytes")}
            for a in bp.attachments or []
        ],
        "state": bp.state,
        "review_comment": bp.review_comment,
        "version": bp.version,
        "replaces_id": bp.replaces_id,
        "revision_no": bp.revision_no,
        "level": bp.level,
    }


# --- checking a form ---------------------------------------------------------------------------


def _clean(session: Session, data: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """The form's fields checked against the catalogue; refusals name the field."""
    title = clean_text(str(data.get("title") or ""), max_length=1_200)
    if not title:
        raise ServiceError(400, N_("Title: give the best practice a title."))
    if len(title) > 300:
        raise ServiceError(
            400, N_("%(field)s is longer than %(n)s characters."), field=Labels("title"), n=300
        )
    owner = clean_text(str(data.get("owner") or ""), max_length=1_200)
    if len(owner) > 300:
        raise ServiceError(
            400, N_("%(field)s is longer than %(n)s characters."), field=Labels("owner"), n=300
        )
    year_s = str(data.get("fiscal_year") or "").strip()
    last = fiscal_year_of(actor.today_bangkok) + 1
    if not year_s.isdigit() or not FIRST_YEAR <= int(year_s) <= last:
        raise ServiceError(
            400,
            N_("Fiscal year: a Buddhist-Era year from %(first)s to %(last)s."),
            first=FIRST_YEAR,
            last=last,
        )
    year = int(year_s)
    dims = [str(d) for d in data.get("dimensions") or []]
    known = set(session.scalars(select(PolicyDimension.key).distinct()))
    unknown = [d for d in dims if d not in known]
    if unknown:
        raise ServiceError(400, N_("Unknown dimension: %(names)s."), names=", ".join(unknown))
    wanted: list[int] = []
    for raw in data.get("item_ids") or []:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError) as exc:
            raise ServiceError(400, N_("Unknown policy item.")) from exc
    if wanted:
        found = set(
            session.scalars(
                select(PolicyItem.id).where(
                    PolicyItem.id.in_(wanted), PolicyItem.fiscal_year == year
                )
            )
        )
        if set(wanted) - found:
            raise ServiceError(400, N_("Choose policy items of fiscal year %(fy)s only."), fy=year)
    out: dict[str, Any] = {
        "title": title,
        "owner": owner,
        "fiscal_year": year,
        "dimensions": sorted(set(dims)),
        "items": sorted(set(wanted)),
    }
    for key in RICH_FIELDS:
        text = str(data.get(key) or "")
        if len(text) > MAX_RICH:
            raise ServiceError(
                400, N_("%(field)s is longer than %(n)s characters."), field=Labels(key), n=MAX_RICH
            )
        out[key] = clean_html(text, max_length=MAX_RICH)
    return out


# --- writing -----------------------------------------------------------------------------------


def _index_items(session: Session, rev: WorkflowRevision) -> None:
    """Keep the revision's aligned items in best_practice_items (search and the framework)."""
    session.execute(delete(BestPracticeItem).where(BestPracticeItem.revision_id == rev.id))
    for item_id in (rev.data or {}).get("items") or []:
        session.add(BestPracticeItem(revision_id=rev.id, item_id=int(item_id)))
    session.flush()


def _write(
    session: Session,
    actor: Actor,
    office: Office,
    bp: BestPractice,
    data: dict[str, Any],
    expected_version: int | None,
) -> Practice:
    """Save `data` through the engine (a new revision when the working one is approved)."""
    report = session.get_one(WorkflowReport, bp.report_id)
    report = wf.save(
        session,
        actor,
        KIND,
        office,
        report.fiscal_year,
        report.subject,
        data,
        expected_version,
        subject_id=bp.id,
    )
    assert report.current is not None  # noqa: S101 (save leaves a working revision)
    _index_items(session, report.current)
    return working(session, bp)


def _office_of(session: Session, practice: Practice | BestPractice) -> tuple[Office, BestPractice]:
    return session.get_one(Office, practice.office_id), session.get_one(BestPractice, practice.id)


def save(
    session: Session,
    actor: Actor,
    office: Office,
    bp: Practice | BestPractice | None,
    data: dict[str, Any],
    expected_version: int | None,
) -> Practice:
    """Create (bp None) or update a best practice's text, items and dimensions."""
    ensure_can(actor, "edit_profile", office.id)
    if bp is not None and bp.office_id != office.id:
        raise ServiceError(404, N_("No such best practice."))
    fields = _clean(session, data, actor)
    if bp is not None:
        row = session.get_one(BestPractice, bp.id)
        current = working(session, row)
        kept: dict[str, Any] = {
            "infographic_photo_id": current.infographic_photo_id,
            "attachments": current.attachments,
        }
        return _write(session, actor, office, row, {**fields, **kept}, expected_version)
    lock_office_work(session, office.id)
    row = BestPractice(office_id=office.id, created_by_id=actor.user.id if actor.user else None)
    session.add(row)
    session.flush()
    report = wf.save(
        session,
        actor,
        KIND,
        office,
        fields["fiscal_year"],
        subject_of(row.id),
        {**fields, "infographic_photo_id": None, "attachments": []},
        expected_version,
        subject_id=row.id,
    )
    row.report_id = report.id
    session.flush()
    assert report.current is not None  # noqa: S101 (save leaves a working revision)
    _index_items(session, report.current)
    return working(session, row)


def _change(
    session: Session,
    actor: Actor,
    bp: Practice | BestPractice,
    expected: int | None,
    **changes: Any,
) -> tuple[Office, Practice]:
    """The working revision's content with `changes`, saved (a new revision if approved)."""
    office, row = _office_of(session, bp)
    ensure_can(actor, "edit_profile", office.id)
    lock_office_work(session, office.id)
    current = working(session, row)
    data = {k: getattr(current, k) for k in CONTENT}
    return office, _write(session, actor, office, row, {**data, **changes}, expected)


def add_attachment(
    session: Session,
    actor: Actor,
    bp: Practice | BestPractice,
    expected_version: int | None,
    attachment: dict[str, Any],
) -> Practice:
    """`attachment`: stored_name, original_name, title, mime, size_bytes, sha256 (uploads.py)."""
    if len(bp.attachments or []) >= MAX_ATTACHMENTS:
        raise ServiceError(
            400, N_("A best practice can have at most %(n)s attachments."), n=MAX_ATTACHMENTS
        )
    office, saved = _change(
        session, actor, bp, expected_version, attachments=[*(bp.attachments or []), attachment]
    )
    record(
        session,
        actor,
        "best_practice.attach",
        "best_practice",
        bp.id,
        office_id=office.id,
        after={k: attachment.get(k) for k in ("title", "original_name", "mime")},
    )
    return saved


def remove_attachment(
    session: Session,
    actor: Actor,
    bp: Practice | BestPractice,
    expected_version: int | None,
    index: int,
) -> Practice:
    files = list(bp.attachments or [])
    if not 0 <= index < len(files):
        raise ServiceError(404, N_("No such attachment."))
    removed = files.pop(index)
    office, saved = _change(session, actor, bp, expected_version, attachments=files)
    record(
        session,
        actor,
        "best_practice.detach",
        "best_practice",
        bp.id,
        office_id=office.id,
        before={k: removed.get(k) for k in ("title", "original_name", "mime")},
    )
    return saved


def set_infographic(
    session: Session,
    actor: Actor,
    bp: Practice | BestPractice,
    expected_version: int | None,
    photo: Photo | None,
) -> Practice:
    if photo is not None and photo.office_id != bp.office_id:
        raise ServiceError(400, N_("A photo does not belong to this office; upload it again."))
    before = bp.infographic_photo_id
    office, saved = _change(
        session, actor, bp, expected_version, infographic_photo_id=photo.id if photo else None
    )
    record(
        session,
        actor,
        "best_practice.infographic",
        "best_practice",
        bp.id,
        office_id=office.id,
        before={"photo_id": before},
        after={"photo_id": saved.infographic_photo_id},
    )
    return saved


def submit(
    session: Session, actor: Actor, bp: Practice | BestPractice, expected_version: int | None
) -> Practice:
    """The office director certifies the working revision and sends it to OBEC."""
    ensure_can(actor, "submit_profile", bp.office_id)
    row = session.get_one(BestPractice, bp.id)
    wf.submit(session, actor, _report(session, row), expected_version)
    return working(session, row)


def review(
    session: Session,
    actor: Actor,
    bp: Practice | BestPractice,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> Practice:
    """approve (public once finally approved), return or unapprove (both with a comment)."""
    ensure_can(actor, "review_profile")
    row = session.get_one(BestPractice, bp.id)
    report = wf.decide(session, actor, _report(session, row), decision, expected_version, comment)
    done = working(session, row)
    if done.state == "approved" and decision == "approve":
        office = session.get(Office, done.office_id)
        items = items_of(session, done)
        emit_change(
            session,
            "best_practice.approved",
            office.code if office else None,
            {
                "id": done.id,
                "fiscal_year": done.fiscal_year,
                "dimensions": list(done.dimensions or []),
                "items": [{"kind": i.kind, "no": i.no} for i in items],
                "revision_no": done.revision_no,
                "report_id": report.id,
            },
        )
    return done


# --- reading many --------------------------------------------------------------------------------


def _joined(approved: bool) -> Any:
    rev_col = (
        WorkflowReport.approved_revision_id if approved else WorkflowReport.current_revision_id
    )
    return (
        select(BestPractice, WorkflowReport, WorkflowRevision)
        .join(WorkflowReport, WorkflowReport.id == BestPractice.report_id)
        .join(WorkflowRevision, WorkflowRevision.id == rev_col)
    )


def _year() -> Any:
    return WorkflowRevision.data["fiscal_year"].astext.cast(Integer)


def _views(session: Session, stmt: Any) -> list[Practice]:
    out = []
    for bp, report, rev in session.execute(stmt).all():
        assert isinstance(bp, BestPractice)  # noqa: S101 (the statement selects these three)
        assert isinstance(report, WorkflowReport)  # noqa: S101
        assert isinstance(rev, WorkflowRevision)  # noqa: S101
        out.append(_view(bp, report, rev))
    return out


def of_office(session: Session, office_id: int, *, approved_only: bool) -> list[Practice]:
    """The office's practices: approved revisions only, or every working revision."""
    stmt = (
        _joined(approved_only)
        .where(BestPractice.office_id == office_id)
        .order_by(_year().desc(), BestPractice.id)
    )
    out = _views(session, stmt)
    if not approved_only:
        for p in out:
            if p.state == "returned":
                p.review_comment = _comment(session, session.get_one(WorkflowReport, p.report_id))
    return out


def submitted(session: Session, user: Any = None) -> list[Practice]:
    """Practices waiting for a level `user` may pass (every sent one without a user)."""
    if user is not None:
        reports = wf.waiting_for(session, KIND, user)
        ids = [r.id for r in reports]
    else:
        ids = list(
            session.scalars(
                select(WorkflowReport.id)
                .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
                .where(WorkflowReport.kind == KIND, WorkflowRevision.state == "submitted")
            )
        )
    if not ids:
        return []
    stmt = _joined(False).where(WorkflowReport.id.in_(ids)).order_by(WorkflowRevision.updated_at)
    return _views(session, stmt)


def _escape_like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"


def search(
    session: Session,
    *,
    q: str = "",
    item_id: int | None = None,
    dimension: str = "",
    cluster_no: int | None = None,
    fiscal_year: int | None = None,
    limit: int = 200,
) -> list[tuple[Practice, Office]]:
    """Approved best practices matching every filter given (the public sees nothing else)."""
    stmt = (
        select(BestPractice, WorkflowReport, WorkflowRevision, Office)
        .join(WorkflowReport, WorkflowReport.id == BestPractice.report_id)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
        .join(Office, Office.id == BestPractice.office_id)
        .order_by(_year().desc(), Office.code, BestPractice.id)
    )
    if q.strip():
        pattern = _escape_like(q.strip())
        texts = [WorkflowRevision.data[k].astext for k in ("title", "owner", *RICH_FIELDS)]
        stmt = stmt.where(
            or_(*(col.ilike(pattern) for col in (*texts, Office.name_th, Office.code)))
        )
    if item_id:
        stmt = stmt.where(
            WorkflowRevision.id.in_(
                select(BestPracticeItem.revision_id).where(BestPracticeItem.item_id == item_id)
            )
        )
    if dimension:
        stmt = stmt.where(WorkflowRevision.data["dimensions"].contains([dimension]))
    if cluster_no:
        stmt = stmt.where(Office.cluster_no == cluster_no)
    if fiscal_year:
        stmt = stmt.where(_year() == fiscal_year)
    rows = session.execute(stmt.limit(limit))
    return [(_view(bp, report, rev), office) for bp, report, rev, office in rows]


def approved_in_cluster(session: Session, no: int) -> list[tuple[Practice, Office]]:
    """The approved practices of a coaching cluster's offices (the cluster page)."""
    stmt = (
        select(BestPractice, WorkflowReport, WorkflowRevision, Office)
        .join(WorkflowReport, WorkflowReport.id == BestPractice.report_id)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
        .join(Office, Office.id == BestPractice.office_id)
        .where(Office.cluster_no == no)
        .order_by(_year().desc(), Office.code, WorkflowRevision.data["title"].astext)
    )
    return [(_view(bp, r, v), o) for bp, r, v, o in session.execute(stmt)]


def infographic_is_public(session: Session, photo_id: int) -> bool:
    """Whether an approved revision shows the photo as a practice's infographic."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(WorkflowReport)
            .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
            .where(
                WorkflowReport.kind == KIND,
                WorkflowRevision.data["infographic_photo_id"].astext == str(photo_id),
            )
        )
    )


def offices_with_approved(
    session: Session,
    fiscal_year: int,
    item_kind: str | None = None,
    item_no: int | str | None = None,
) -> list[str]:
    """Codes of offices with an approved best practice of that year (aligned with the item)."""
    stmt = (
        select(Office.code)
        .distinct()
        .join(BestPractice, BestPractice.office_id == Office.id)
        .join(WorkflowReport, WorkflowReport.id == BestPractice.report_id)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
        .where(_year() == fiscal_year)
    )
    if item_kind and item_no:
        stmt = (
            stmt.join(BestPracticeItem, BestPracticeItem.revision_id == WorkflowRevision.id)
            .join(PolicyItem, PolicyItem.id == BestPracticeItem.item_id)
            .where(
                PolicyItem.kind == item_kind,
                PolicyItem.no == item_no,
                PolicyItem.fiscal_year == fiscal_year,
            )
        )
    return sorted(session.scalars(stmt))
