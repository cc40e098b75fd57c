"""Best practices: written by an office, reviewed by OBEC, then public, searchable, mapped."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import any_, delete, literal, or_, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError

from ..fiscal import fiscal_year_of
from ..models import (
    BestPractice,
    BestPracticeItem,
    Office,
    Photo,
    PolicyDimension,
    PolicyItem,
)
from .audit import Actor, emit_change, record
from .errors import N_, Labels, ServiceError
from .lookups import get_or_404
from .review import (
    check_editable,
    check_version,
    ensure_can,
    lock_office_work,
    mark_reviewed,
    mark_submitted,
    require_complete,
)
from .sanitize import clean_html, clean_text

RICH_FIELDS: Final = ("background", "objectives", "process", "results", "success_factors")
MAX_RICH: Final = 10_000
MAX_ATTACHMENTS: Final = 10
FIRST_YEAR: Final = 2562
# What a new version of a practice may change (copied to a working copy and back on approval).
_CONTENT: Final = (
    "fiscal_year",
    "title",
    "owner",
    "dimensions",
    *RICH_FIELDS,
    "infographic_photo_id",
    "attachments",
)


def get(session: Session, bp_id: int) -> BestPractice | None:
    return session.get(BestPractice, bp_id)


def bp_or_404(session: Session, bp_id: int) -> BestPractice:
    return get_or_404(session, BestPractice, bp_id, N_("No such best practice."))


def item_ids(session: Session, bp: BestPractice) -> list[int]:
    return list(
        session.scalars(
            select(BestPracticeItem.item_id)
            .filter_by(best_practice_id=bp.id)
            .order_by(BestPracticeItem.item_id)
        )
    )


def items_of(session: Session, bp: BestPractice) -> list[PolicyItem]:
    return list(
        session.scalars(
            select(PolicyItem)
            .join(BestPracticeItem, BestPracticeItem.item_id == PolicyItem.id)
            .where(BestPracticeItem.best_practice_id == bp.id)
            .order_by(PolicyItem.kind, PolicyItem.no)
        )
    )


def bp_dict(session: Session, bp: BestPractice) -> dict[str, Any]:
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
    }


def _still_there(session: Session, bp: BestPractice) -> None:
    """A working copy disappears when its approval folds it into the original; an edit that
    waited for that approval's lock finds nothing to change."""
    try:
        session.refresh(bp)
    except (ObjectDeletedError, InvalidRequestError) as exc:
        raise ServiceError(
            409, N_("This best practice was changed by someone else; reload the page.")
        ) from exc


def _clean(
    session: Session, office: Office, data: dict[str, Any], actor: Actor
) -> tuple[dict[str, Any], list[int]]:
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
    }
    for key in RICH_FIELDS:
        text = str(data.get(key) or "")
        if len(text) > MAX_RICH:
            raise ServiceError(
                400, N_("%(field)s is longer than %(n)s characters."), field=Labels(key), n=MAX_RICH
            )
        out[key] = clean_html(text, max_length=MAX_RICH)
    return out, sorted(set(wanted))


def _set_items(session: Session, bp: BestPractice, wanted: list[int]) -> None:
    session.execute(delete(BestPracticeItem).where(BestPracticeItem.best_practice_id == bp.id))
    for item_id in wanted:
        session.add(BestPracticeItem(best_practice_id=bp.id, item_id=item_id))


def _working_copy(session: Session, actor: Actor, bp: BestPractice) -> BestPractice:
    """What an edit changes: the practice itself, or for an approved one a new draft copy.

    The approved text stays public while the new version is written and reviewed.
    """
    if bp.state != "approved":
        return bp
    if session.scalar(select(BestPractice.id).filter_by(replaces_id=bp.id)) is not None:
        raise ServiceError(
            409,
            N_(
                "A new version of this best practice is already being "
                "edited; continue there (see the office's list)."
            ),
        )
    copy = BestPractice(
        office_id=bp.office_id,
        replaces_id=bp.id,
        state="draft",
        created_by_id=actor.user.id if actor.user else None,
        attachments=[dict(a) for a in bp.attachments or []],
        **{k: getattr(bp, k) for k in _CONTENT if k != "attachments"},
    )
    session.add(copy)
    session.flush()
    _set_items(session, copy, item_ids(session, bp))
    return copy


def _merge_into_original(session: Session, copy: BestPractice) -> BestPractice:
    """Approving a new version: the original (its id, its links) takes the copy's content."""
    original = session.get_one(BestPractice, copy.replaces_id, with_for_update=True)
    for key in _CONTENT:
        setattr(original, key, getattr(copy, key))
    for key in ("reviewed_by_id", "reviewed_at", "review_comment", "updated_at"):
        setattr(original, key, getattr(copy, key))
    _set_items(session, original, item_ids(session, copy))
    session.delete(copy)
    session.flush()
    return original


def save(
    session: Session,
    actor: Actor,
    office: Office,
    bp: BestPractice | None,
    data: dict[str, Any],
    expected_version: int | None,
) -> BestPractice:
    """Create (bp None) or update a best practice's text, items and dimensions."""
    ensure_can(actor, "edit_profile", office.id)
    lock_office_work(session, office.id)
    if bp is not None:
        _still_there(session, bp)
        if bp.office_id != office.id:
            raise ServiceError(404, N_("No such best practice."))
        check_version(bp, expected_version)
        check_editable(bp)
    fields, wanted = _clean(session, office, data, actor)
    before = bp_dict(session, bp) if bp else None
    if bp is None:
        author = actor.user.id if actor.user else None
        bp = BestPractice(
            office_id=office.id, state="draft", attachments=[], created_by_id=author, **fields
        )
        session.add(bp)
    else:
        bp = _working_copy(session, actor, bp)
        for key, value in fields.items():
            setattr(bp, key, value)
        bp.updated_at = actor.now  # always an UPDATE, so the version moves on every save
    session.flush()
    _set_items(session, bp, wanted)
    session.flush()
    record(
        session,
        actor,
        "best_practice.save",
        "best_practice",
        bp.id,
        before=before,
        after=bp_dict(session, bp),
        office_id=office.id,
    )
    return bp


def _editable(
    session: Session, actor: Actor, bp: BestPractice, expected: int | None
) -> tuple[Office, BestPractice]:
    """The office and the row to change (a working copy when `bp` is approved)."""
    office = session.get_one(Office, bp.office_id)
    ensure_can(actor, "edit_profile", office.id)
    lock_office_work(session, office.id)
    _still_there(session, bp)
    check_version(bp, expected)
    check_editable(bp)
    return office, _working_copy(session, actor, bp)


def add_attachment(
    session: Session,
    actor: Actor,
    bp: BestPractice,
    expected_version: int | None,
    attachment: dict[str, Any],
) -> BestPractice:
    """`attachment`: stored_name, original_name, title, mime, size_bytes, sha256 (uploads.py)."""
    office, bp = _editable(session, actor, bp, expected_version)
    if len(bp.attachments or []) >= MAX_ATTACHMENTS:
        raise ServiceError(
            400, N_("A best practice can have at most %(n)s attachments."), n=MAX_ATTACHMENTS
        )
    bp.attachments = [*(bp.attachments or []), attachment]  # a new list, so JSONB sees a change
    bp.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "best_practice.attach",
        "best_practice",
        bp.id,
        office_id=office.id,
        after={k: attachment.get(k) for k in ("title", "original_name", "mime")},
    )
    return bp


def remove_attachment(
    session: Session, actor: Actor, bp: BestPractice, expected_version: int | None, index: int
) -> BestPractice:
    office, bp = _editable(session, actor, bp, expected_version)
    files = list(bp.attachments or [])
    if not 0 <= index < len(files):
        raise ServiceError(404, N_("No such attachment."))
    removed = files.pop(index)
    bp.attachments = files
    bp.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "best_practice.detach",
        "best_practice",
        bp.id,
        office_id=office.id,
        before={k: removed.get(k) for k in ("title", "original_name", "mime")},
    )
    return bp


def set_infographic(
    session: Session,
    actor: Actor,
    bp: BestPractice,
    expected_version: int | None,
    photo: Photo | None,
) -> BestPractice:
    office, bp = _editable(session, actor, bp, expected_version)
    if photo is not None and photo.office_id != office.id:
        raise ServiceError(400, N_("A photo does not belong to this office; upload it again."))
    before = bp.infographic_photo_id
    bp.infographic_photo_id = photo.id if photo else None
    bp.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "best_practice.infographic",
        "best_practice",
        bp.id,
        office_id=office.id,
        before={"photo_id": before},
        after={"photo_id": bp.infographic_photo_id},
    )
    return bp


def submit(
    session: Session, actor: Actor, bp: BestPractice, expected_version: int | None
) -> BestPractice:
    ensure_can(actor, "submit_profile", bp.office_id)
    office_id = bp.office_id
    lock_office_work(session, office_id)
    _still_there(session, bp)
    check_version(bp, expected_version)
    missing = [k for k in ("background", "objectives", "process", "results") if not getattr(bp, k)]
    require_complete(bp, missing, N_("The best practice is incomplete: fill in %(fields)s."))
    before = bp_dict(session, bp)
    mark_submitted(bp, actor)
    session.flush()
    record(
        session,
        actor,
        "best_practice.submit",
        "best_practice",
        bp.id,
        before=before,
        after=bp_dict(session, bp),
        office_id=bp.office_id,
    )
    return bp


def review(
    session: Session,
    actor: Actor,
    bp: BestPractice,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> BestPractice:
    ensure_can(actor, "review_profile")
    office_id = bp.office_id
    lock_office_work(session, office_id)
    _still_there(session, bp)
    check_version(bp, expected_version)
    before = bp_dict(session, bp)
    mark_reviewed(bp, actor, decision, comment)
    session.flush()
    if bp.state == "approved" and bp.replaces_id is not None:
        before = bp_dict(session, session.get_one(BestPractice, bp.replaces_id))
        bp = _merge_into_original(session, bp)
    record(
        session,
        actor,
        f"best_practice.{decision}",
        "best_practice",
        bp.id,
        before=before,
        after=bp_dict(session, bp),
        office_id=bp.office_id,
    )
    if bp.state == "approved":
        office = session.get(Office, bp.office_id)
        items = items_of(session, bp)
        emit_change(
            session,
            "best_practice.approved",
            office.code if office else None,
            {
                "id": bp.id,
                "fiscal_year": bp.fiscal_year,
                "dimensions": list(bp.dimensions or []),
                "items": [{"kind": i.kind, "no": i.no} for i in items],
            },
        )
    return bp


# --- reading ---------------------------------------------------------------------------------


def of_office(session: Session, office_id: int, *, approved_only: bool) -> list[BestPractice]:
    stmt = select(BestPractice).filter_by(office_id=office_id)
    if approved_only:
        stmt = stmt.filter_by(state="approved")
    return list(session.scalars(stmt.order_by(BestPractice.fiscal_year.desc(), BestPractice.id)))


def submitted(session: Session) -> list[BestPractice]:
    return list(
        session.scalars(
            select(BestPractice).filter_by(state="submitted").order_by(BestPractice.updated_at)
        )
    )


def search(
    session: Session,
    *,
    q: str = "",
    item_id: int | None = None,
    dimension: str = "",
    cluster_no: int | None = None,
    fiscal_year: int | None = None,
    limit: int = 200,
) -> list[tuple[BestPractice, Office]]:
    """Approved best practices matching every filter given (the public sees nothing else)."""
    stmt = (
        select(BestPractice, Office)
        .join(Office, Office.id == BestPractice.office_id)
        .where(BestPractice.state == "approved")
        .order_by(BestPractice.fiscal_year.desc(), Office.code, BestPractice.id)
    )
    if q.strip():
        pattern = (
            "%" + q.strip().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        )
        stmt = stmt.where(
            or_(
                *(
                    col.ilike(pattern)
                    for col in (
                        BestPractice.title,
                        BestPractice.owner,
                        BestPractice.background,
                        BestPractice.objectives,
                        BestPractice.process,
                        BestPractice.results,
                        BestPractice.success_factors,
                        Office.name_th,
                        Office.code,
                    )
                )
            )
        )
    if item_id:
        stmt = stmt.where(
            BestPractice.id.in_(
                select(BestPracticeItem.best_practice_id).where(BestPracticeItem.item_id == item_id)
            )
        )
    if dimension:
        stmt = stmt.where(literal(dimension) == any_(BestPractice.dimensions))
    if cluster_no:
        stmt = stmt.where(Office.cluster_no == cluster_no)
    if fiscal_year:
        stmt = stmt.where(BestPractice.fiscal_year == fiscal_year)
    return [(bp, office) for bp, office in session.execute(stmt.limit(limit))]


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
        .where(BestPractice.state == "approved", BestPractice.fiscal_year == fiscal_year)
    )
    if item_kind and item_no:
        stmt = (
            stmt.join(BestPracticeItem, BestPracticeItem.best_practice_id == BestPractice.id)
            .join(PolicyItem, PolicyItem.id == BestPracticeItem.item_id)
            .where(
                PolicyItem.kind == item_kind,
                PolicyItem.no == item_no,
                PolicyItem.fiscal_year == fiscal_year,
            )
        )
    return sorted(session.scalars(stmt))
