"""Work inside an office: giving framework items to staff with internal due dates, "my items",
and who is late (issue #14, requirement 3). Takes a session, never commits.

An internal due date is the office's own deadline for an item's report in one round: on or
before OBEC's window close for that round (the office's earlier deadline of seed 001), and never
set in the past. An item is late once its due date has passed and its report in that round is
not yet certified and sent (submitted) or approved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..auth import OFFICE_ROLES, can, can_read_office_work
from ..models import (
    MAX_ASSIGNMENT_NOTE,
    ItemAssignment,
    Office,
    PolicyItem,
    ReportingWindow,
    User,
    WorkflowReport,
    WorkflowRevision,
)
from . import progress
from .audit import Actor, record
from .errors import N_, ServiceError
from .review import lock_office_work

# Report states in which the item's work has left the assignee's hands.
DONE_STATES = frozenset({"submitted", "approved"})
# At most this many rows in one save: a year's framework is a few dozen items.
MAX_ROWS = 500


@dataclass(frozen=True)
class RowInput:
    """One item's row as the director sent it; `user_id` None takes the item back."""

    item_id: int
    user_id: int | None
    round_no: int | None
    due_on: dt.date | None
    note: str = ""


@dataclass(frozen=True)
class AssignedItem:
    """An assignment read with its round's window and its report's state (None: not reported)."""

    assignment: ItemAssignment
    window: ReportingWindow | None
    state: str | None
    today: dt.date

    @property
    def item(self) -> PolicyItem:
        return self.assignment.item

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def days_late(self) -> int:
        """Days since the internal due date passed (0 while it has not, or once sent)."""
        if self.done:
            return 0
        return max(0, (self.today - self.assignment.due_on).days)


# --- reading -----------------------------------------------------------------------------------


def assignable_users(session: Session, office_id: int) -> list[User]:
    """The office's active staff, by name: the people an item may be given to."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.office_id == office_id,
                User.active.is_(True),
                User.role.in_(sorted(OFFICE_ROLES)),
            )
            .order_by(User.name, User.id)
        )
    )


def of_office(session: Session, office_id: int, fiscal_year: int) -> dict[int, ItemAssignment]:
    """The office's assignments of a fiscal year's items, by item id."""
    if fiscal_year not in progress.SMALLINT:
        return {}
    rows = session.scalars(
        select(ItemAssignment)
        .join(PolicyItem, PolicyItem.id == ItemAssignment.item_id)
        .options(joinedload(ItemAssignment.user))
        .where(ItemAssignment.office_id == office_id, PolicyItem.fiscal_year == fiscal_year)
    )
    return {a.item_id: a for a in rows}


def default_round(
    windows: Iterable[ReportingWindow], item: PolicyItem, today: dt.date
) -> int | None:
    """The round a new assignment is for: the item's open round, else its next one to open,
    else its last (an assignment can still be read; a new due date there will be refused)."""
    asked = [w for w in windows if item.asked_in(w.round_no)]
    for w in asked:
        if w.opens_on <= today <= w.closes_on:
            return w.round_no
    coming = [w for w in asked if w.opens_on > today]
    if coming:
        return min(coming, key=lambda w: w.opens_on).round_no
    return asked[-1].round_no if asked else None


def _states(session: Session, pairs: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], str]:
    """The current state of the progress report of each (office, item, round)."""
    if not pairs:
        return {}
    offices = {o for o, _i, _r in pairs}
    items = {i for _o, i, _r in pairs}
    rows = session.execute(
        select(
            WorkflowReport.office_id,
            WorkflowReport.subject_id,
            WorkflowReport.period,
            WorkflowRevision.state,
        )
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
        .where(
            WorkflowReport.kind == progress.KIND,
            WorkflowReport.office_id.in_(offices),
            WorkflowReport.subject_id.in_(items),
        )
    )
    found = {(o, i or 0, r or 0): s for o, i, r, s in rows}
    return {k: s for k, s in found.items() if k in pairs}


def _read(
    session: Session, assignments: list[ItemAssignment], today: dt.date
) -> list[AssignedItem]:
    windows = {
        (w.fiscal_year, w.round_no): w
        for w in session.scalars(
            select(ReportingWindow).where(
                ReportingWindow.fiscal_year.in_({a.item.fiscal_year for a in assignments})
            )
        )
    }
    states = _states(session, {(a.office_id, a.item_id, a.round_no) for a in assignments})
    return [
        AssignedItem(
            a,
            windows.get((a.item.fiscal_year, a.round_no)),
            states.get((a.office_id, a.item_id, a.round_no)),
            today,
        )
        for a in assignments
    ]


def _ordered(stmt: Any) -> Any:
    return stmt.join(PolicyItem, PolicyItem.id == ItemAssignment.item_id).order_by(
        ItemAssignment.due_on, PolicyItem.fiscal_year, PolicyItem.kind, PolicyItem.no
    )


def my_items(session: Session, user: User, today: dt.date) -> list[AssignedItem]:
    """What `user` answers for, the earliest due first; nothing once they left the office."""
    if user.office_id is None:
        return []
    stmt = _ordered(
        select(ItemAssignment)
        .options(joinedload(ItemAssignment.item))
        .where(ItemAssignment.user_id == user.id, ItemAssignment.office_id == user.office_id)
    )
    return _read(session, list(session.scalars(stmt)), today)


def office_items(
    session: Session, office_id: int, fiscal_year: int, today: dt.date
) -> list[AssignedItem]:
    """Every assignment of the office in a fiscal year, the earliest due first."""
    if fiscal_year not in progress.SMALLINT:
        return []
    stmt = _ordered(
        select(ItemAssignment)
        .options(joinedload(ItemAssignment.item), joinedload(ItemAssignment.user))
        .where(ItemAssignment.office_id == office_id, PolicyItem.fiscal_year == fiscal_year)
    )
    return _read(session, list(session.scalars(stmt)), today)


def late(
    session: Session, office_id: int, fiscal_year: int, today: dt.date
) -> list[tuple[User, list[AssignedItem]]]:
    """Items past their internal due date whose report is not yet sent, grouped by person
    (the most days late first; each person's items the longest late first)."""
    by_user: dict[int, tuple[User, list[AssignedItem]]] = {}
    for row in office_items(session, office_id, fiscal_year, today):
        if row.days_late > 0:
            user = row.assignment.user
            by_user.setdefault(user.id, (user, []))[1].append(row)
    groups = [(u, sorted(rows, key=lambda r: -r.days_late)) for u, rows in by_user.values()]
    return sorted(groups, key=lambda g: (-g[1][0].days_late, g[0].name))


def check_can_read(actor: Actor, office_id: int) -> None:
    if not can_read_office_work(actor.user, office_id):
        raise ServiceError(403, N_("You may not see this office's unpublished work."))


def check_can_assign(actor: Actor, office_id: int) -> None:
    if not can(actor.user, "assign_items", office_id):
        raise ServiceError(
            403, N_("Only the office's director (or an administrator) assigns its items.")
        )


# --- writing -----------------------------------------------------------------------------------


def _as_dict(a: ItemAssignment) -> dict[str, Any]:
    """An assignment as the audit log and the API keep it."""
    return {
        "item_id": a.item_id,
        "round_no": a.round_no,
        "user_id": a.user_id,
        "due_on": a.due_on.isoformat(),
        "note": a.note,
    }


class ItemName:
    """An item's name for a message ("Policy 4.1", or its set's title and number), in the
    language of the request that formats the message (services cannot know it)."""

    def __init__(self, item: PolicyItem) -> None:
        self.item_id, self.kind, self.no = item.id, item.kind, item.no
        self.titles = (item.item_set.title_th, item.item_set.title_en)

    def __str__(self) -> str:
        from flask_babel import get_locale, gettext

        if self.kind == "policy":
            return f"{gettext('Policy')} {self.no}"
        thai = str(get_locale() or "th") == "th"
        return f"{self.titles[0] if thai else self.titles[1]} {self.no}"

    def __repr__(self) -> str:
        return f"ItemName({self.kind!r}, {self.no!r})"


def _item_label(item: PolicyItem) -> ItemName:
    return ItemName(item)


def _check_user(session: Session, office: Office, user_id: int, item: PolicyItem) -> User:
    user = session.get(User, user_id) if user_id in range(1, 2**31) else None
    if user is None or user.office_id != office.id or user.role not in OFFICE_ROLES:
        raise ServiceError(
            400,
            N_("Item %(item)s: the person chosen is not on this office's staff."),
            item=_item_label(item),
        )
    if not user.active:
        raise ServiceError(
            400,
            N_("Item %(item)s: %(name)s's account is switched off; choose someone else."),
            item=_item_label(item),
            name=user.name,
        )
    return user


def _check_dates(
    session: Session,
    item: PolicyItem,
    row: RowInput,
    existing: ItemAssignment | None,
    today: dt.date,
) -> tuple[int, dt.date]:
    label = _item_label(item)
    if row.round_no is None:
        raise ServiceError(400, N_("Item %(item)s: choose the round."), item=label)
    window = progress.get_window(session, item.fiscal_year, row.round_no)
    if window is None or not item.asked_in(row.round_no):
        raise ServiceError(
            400,
            N_("Item %(item)s is not reported in round %(round)s of fiscal year %(fy)s."),
            item=label,
            round=row.round_no,
            fy=item.fiscal_year,
        )
    if row.due_on is None:
        raise ServiceError(400, N_("Item %(item)s: type the internal due date."), item=label)
    if row.due_on > window.closes_on:
        raise ServiceError(
            400,
            N_(
                "Item %(item)s: the internal due date %(due)s is after OBEC's window for round "
                "%(round)s closes (%(closes)s); choose that day or earlier."
            ),
            item=label,
            due=row.due_on,
            round=row.round_no,
            closes=window.closes_on,
        )
    # A due date kept as it was may have passed (that is what "late" means); a new one may not.
    unchanged = existing is not None and existing.due_on == row.due_on
    if row.due_on < today and not unchanged:
        raise ServiceError(
            400,
            N_("Item %(item)s: the internal due date %(due)s has already passed."),
            item=label,
            due=row.due_on,
        )
    return row.round_no, row.due_on


def save(
    session: Session,
    actor: Actor,
    office: Office,
    fiscal_year: int,
    rows: list[RowInput],
) -> int:
    """Apply the director's rows (all or nothing: the caller commits once or rolls back).

    Returns how many assignments changed. A refusal names the item it is about."""
    check_can_assign(actor, office.id)
    if len(rows) > MAX_ROWS:
        raise ServiceError(400, N_("Send at most %(n)s items at once."), n=MAX_ROWS)
    # Two directors saving at once: the second waits and reads the first one's rows.
    lock_office_work(session, office.id)
    items = {i.id: i for i in progress.items_of(session, fiscal_year)}
    current = of_office(session, office.id, fiscal_year)
    today = actor.today_bangkok
    changed = 0
    seen: set[int] = set()
    for row in rows:
        item = items.get(row.item_id)
        if item is None:
            raise ServiceError(404, N_("No such item in fiscal year %(fy)s."), fy=fiscal_year)
        if row.item_id in seen:
            raise ServiceError(400, N_("Item %(item)s is sent twice."), item=_item_label(item))
        seen.add(row.item_id)
        existing = current.get(row.item_id)
        if row.user_id is None:
            if existing is not None:
                record(
                    session,
                    actor,
                    "assignment.remove",
                    "item_assignment",
                    existing.id,
                    before=_as_dict(existing),
                    office_id=office.id,
                )
                session.delete(existing)
                changed += 1
            continue
        note = row.note.strip()
        if len(note) > MAX_ASSIGNMENT_NOTE:
            raise ServiceError(
                400,
                N_("Item %(item)s: the note is longer than %(n)s characters."),
                item=_item_label(item),
                n=MAX_ASSIGNMENT_NOTE,
            )
        user = _check_user(session, office, row.user_id, item)
        round_no, due_on = _check_dates(session, item, row, existing, today)
        if existing is None:
            existing = ItemAssignment(office_id=office.id, item_id=item.id)
            session.add(existing)
            before = None
        elif (existing.user_id, existing.round_no, existing.due_on, existing.note) == (
            user.id,
            round_no,
            due_on,
            note,
        ):
            continue
        else:
            before = _as_dict(existing)
        existing.user_id = user.id
        existing.round_no = round_no
        existing.due_on = due_on
        existing.note = note
        existing.assigned_by_id = actor.user.id if actor.user else None
        existing.assigned_at = actor.now
        session.flush()
        action = (
            "assignment.create"
            if before is None
            else "assignment.reassign"
            if before["user_id"] != user.id
            else "assignment.change"
        )
        record(
            session,
            actor,
            action,
            "item_assignment",
            existing.id,
            before=before,
            after=_as_dict(existing),
            office_id=office.id,
        )
        changed += 1
    session.flush()
    return changed


def assignment_dict(row: AssignedItem) -> dict[str, Any]:
    """An assignment as the API serves it."""
    a = row.assignment
    return {
        "item": {"kind": a.item.kind, "no": a.item.no, "fiscal_year": a.item.fiscal_year},
        "round_no": a.round_no,
        "assignee": {"id": a.user.id, "name": a.user.name},
        "due_on": a.due_on,
        "note": a.note,
        "window_closes_on": row.window.closes_on if row.window else None,
        "report_state": row.state,
        "days_late": row.days_late,
        "assigned_at": a.assigned_at,
    }
