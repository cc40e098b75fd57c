"""A fiscal year's reporting framework as data: item sets, items and sub-items, their fields
and rounds; its CSV/XLSX form, checked whole before anything changes; starting the next year.

The file is one table (one sheet), a row per thing, told apart by `kind`:
- `set`: an item set; `code` is its code (policy, quick_win, action_plan, ...), `no` its order.
- `dimension`: a policy dimension (as in data/policy_items.csv); `dimension` is its key.
- any set's code: an item of that set; `no` is "4" or "4.1" (a sub-item of 4, any depth),
  `fields` the report fields it asks for, `rounds` the rounds it is asked in (empty: every
  round), `retired` yes when it is asked no more.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    DEFAULT_FIELDS,
    ITEM_FIELDS,
    ITEM_NO_PATTERN,
    SET_CODE_PATTERN,
    STANDARD_SETS,
    BestPracticeItem,
    FiscalYear,
    ItemSet,
    PolicyDimension,
    PolicyItem,
    ProgressEntry,
    ReportingWindow,
)
from ..tables import ImportRejected, Problem, csv_text, read_table, unescape_cell, xlsx_bytes
from .audit import Actor, record
from .catalogue import assign, ensure_fiscal_year, parse_int, upsert_dimensions
from .errors import N_, ServiceError

COLUMNS = (
    "fiscal_year",
    "kind",
    "no",
    "code",
    "title_th",
    "title_en",
    "dimension",
    "fields",
    "rounds",
    "retired",
    "verified",
    "source_note",
)
REQUIRED = ("fiscal_year", "kind", "no", "title_th", "title_en")
SET, DIMENSION = "set", "dimension"
MAX_TITLE = 2_000
MAX_NOTE = 2_000
MAX_ROUND = 12
MAX_ITEMS = 2_000
_SPLIT = re.compile(r"[\s,;]+")


@dataclass
class ParsedFramework:
    """One fiscal year's checked rows; each keeps the row it came from (`row`)."""

    fiscal_year: int
    sets: list[dict[str, Any]]
    dimensions: list[dict[str, Any]]
    items: list[dict[str, Any]]


@dataclass
class Summary:
    fiscal_year: int
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted}


# --- reading ----------------------------------------------------------------------------------


def sets_of(session: Session, fiscal_year: int) -> list[ItemSet]:
    return list(
        session.scalars(
            select(ItemSet)
            .filter_by(fiscal_year=fiscal_year)
            .order_by(ItemSet.position, ItemSet.id)
        )
    )


def items_of(session: Session, fiscal_year: int, *, with_retired: bool = True) -> list[PolicyItem]:
    """A year's items, set by set in the sets' order, each set's by number (4, 4.1, 4.2, 5)."""
    stmt = (
        select(PolicyItem)
        .join(ItemSet, ItemSet.id == PolicyItem.set_id)
        .where(PolicyItem.fiscal_year == fiscal_year)
        .order_by(ItemSet.position, ItemSet.id, PolicyItem.no)
    )
    if not with_retired:
        stmt = stmt.where(PolicyItem.retired.is_(False))
    return list(session.scalars(stmt))


def has_framework(session: Session, fiscal_year: int) -> bool:
    return (
        session.scalar(select(PolicyItem.id).filter_by(fiscal_year=fiscal_year).limit(1))
        is not None
    )


def years(session: Session) -> list[int]:
    """Fiscal years that have a framework (or sets, or windows), newest first."""
    found = set(session.scalars(select(PolicyItem.fiscal_year).distinct()))
    found |= set(session.scalars(select(ItemSet.fiscal_year).distinct()))
    return sorted(found, reverse=True)


def reported_item_ids(session: Session, ids: Iterable[int]) -> set[int]:
    """Items some report or best practice points at: these are retired, never deleted."""
    wanted = list(ids)
    if not wanted:
        return set()
    used = set(
        session.scalars(
            select(ProgressEntry.item_id).where(ProgressEntry.item_id.in_(wanted)).distinct()
        )
    )
    used |= set(
        session.scalars(
            select(BestPracticeItem.item_id).where(BestPracticeItem.item_id.in_(wanted)).distinct()
        )
    )
    return used


# --- checking a file --------------------------------------------------------------------------


def _yes_no(value: str, default: bool | None) -> bool | None:
    v = value.strip().lower()
    if not v:
        return default
    return {"yes": True, "no": False, "y": True, "n": False}.get(v)


def parse_fields(text: str) -> list[str] | None:
    """'narrative problems' → the fields in ITEM_FIELDS order; None if one is unknown."""
    names = [n for n in _SPLIT.split(text.strip().lower()) if n]
    if not names:
        return list(DEFAULT_FIELDS)
    if any(n not in ITEM_FIELDS for n in names):
        return None
    return [f for f in ITEM_FIELDS if f in names]


def parse_rounds(text: str) -> list[int] | None:
    """'1 2' → [1, 2]; '' → [] (every round); None if a round is not 1..MAX_ROUND."""
    out: set[int] = set()
    for part in (p for p in _SPLIT.split(text.strip()) if p):
        n = parse_int(part)
        if n is None or not 1 <= n <= MAX_ROUND:
            return None
        out.add(n)
    return sorted(out)


def check_framework(filename: str, rows: Iterable[tuple[int, dict[str, str]]]) -> ParsedFramework:
    """Check one fiscal year's rows (text by COLUMNS; missing ones read as empty).

    Raises ImportRejected naming the file and every problem's row and column.
    """
    problems: list[Problem] = []
    years: dict[int, int] = {}
    sets: list[dict[str, Any]] = []
    dims: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    set_codes: set[str] = set()
    dim_keys: set[str] = set()
    seen: set[tuple[str, str]] = set()

    for row_no, raw in rows:
        row = {c: unescape_cell(raw.get(c, "") or "").strip() for c in COLUMNS}

        def bad(column: str, msgid: str, row_no: int = row_no, **params: Any) -> None:
            problems.append(Problem(row_no, column, msgid, params))

        fy = parse_int(row["fiscal_year"])
        if fy is None or not 2500 <= fy <= 2700:
            bad(
                "fiscal_year", N_("Not a Buddhist Era year: “%(value)s”."), value=row["fiscal_year"]
            )
            continue
        years.setdefault(fy, row_no)
        kind = row["kind"].lower()
        if not kind:
            bad("kind", N_("Give the kind: set, dimension, or a set's code."))
            continue
        if not row["title_th"] or not row["title_en"]:
            bad(
                "title_th" if not row["title_th"] else "title_en",
                N_("Give the title in Thai and in English."),
            )
            continue
        if len(row["title_th"]) > MAX_TITLE or len(row["title_en"]) > MAX_TITLE:
            bad("title_th", N_("A title is longer than %(n)s characters."), n=MAX_TITLE)
            continue
        if len(row["source_note"]) > MAX_NOTE:
            bad("source_note", N_("The note is longer than %(n)s characters."), n=MAX_NOTE)
            continue
        verified = _yes_no(row["verified"], kind == SET)
        if verified is None:
            bad("verified", N_("Write yes or no, not “%(value)s”."), value=row["verified"])
            continue
        base = {
            "row": row_no,
            "title_th": row["title_th"],
            "title_en": row["title_en"],
            "verified": verified,
            "source_note": row["source_note"],
        }
        if kind == SET:
            code = row["code"].lower()
            position = parse_int(row["no"])
            if not re.fullmatch(SET_CODE_PATTERN, code):
                bad(
                    "code",
                    N_("A set's code is 2–30 lower-case letters, digits or _, not “%(value)s”."),
                    value=row["code"],
                )
            elif code in (SET, DIMENSION):
                bad("code", N_("“%(value)s” cannot be a set's code."), value=code)
            elif code in set_codes:
                bad("code", N_("The set %(code)s appears twice."), code=code)
            elif position is None or not 1 <= position <= 99:
                bad(
                    "no",
                    N_("A set's number is its order, 1 to 99, not “%(value)s”."),
                    value=row["no"],
                )
            else:
                set_codes.add(code)
                sets.append({**base, "code": code, "position": position})
            continue
        if kind == DIMENSION:
            no = parse_int(row["no"])
            key = row["dimension"]
            if no is None or not 1 <= no <= 99:
                bad("no", N_("A dimension's number is 1 to 99, not “%(value)s”."), value=row["no"])
            elif not key:
                bad("dimension", N_("A dimension row needs its key in this column."))
            elif key in dim_keys:
                bad("dimension", N_("The dimension %(key)s appears twice."), key=key)
            else:
                dim_keys.add(key)
                dims.append({**base, "no": no, "key": key})
            continue
        if not re.fullmatch(SET_CODE_PATTERN, kind):
            bad(
                "kind",
                N_("Unknown kind “%(value)s”: use set, dimension or a set's code."),
                value=kind,
            )
            continue
        no_text = row["no"]
        if not re.fullmatch(ITEM_NO_PATTERN, no_text):
            bad(
                "no",
                N_("An item's number is like 4 or 4.1 (sub-item of 4), not “%(value)s”."),
                value=no_text,
            )
            continue
        if (kind, no_text) in seen:
            bad("no", N_("Item %(kind)s %(no)s appears twice."), kind=kind, no=no_text)
            continue
        fields_ = parse_fields(row["fields"])
        if fields_ is None:
            bad(
                "fields",
                N_("Unknown field in “%(value)s”; the fields are %(allowed)s."),
                value=row["fields"],
                allowed=", ".join(ITEM_FIELDS),
            )
            continue
        rounds = parse_rounds(row["rounds"])
        if rounds is None:
            bad(
                "rounds",
                N_("Rounds are numbers 1 to %(max)s (empty: every round), not “%(value)s”."),
                max=MAX_ROUND,
                value=row["rounds"],
            )
            continue
        retired = _yes_no(row["retired"], False)
        if retired is None:
            bad("retired", N_("Write yes or no, not “%(value)s”."), value=row["retired"])
            continue
        seen.add((kind, no_text))
        items.append(
            {
                **base,
                "kind": kind,
                "no": no_text,
                "dimension": row["dimension"],
                "fields": fields_,
                "rounds": rounds,
                "retired": retired,
            }
        )

    standard = {code for code, _, _ in STANDARD_SETS}
    for item in items:
        parent = item["no"].rsplit(".", 1)[0] if "." in item["no"] else None
        if item["kind"] not in set_codes and item["kind"] not in standard:
            problems.append(
                Problem(
                    item["row"],
                    "kind",
                    N_("No set %(code)s: add a row of kind set with this code."),
                    {"code": item["kind"]},
                )
            )
        elif parent is not None and (item["kind"], parent) not in seen:
            problems.append(
                Problem(
                    item["row"],
                    "no",
                    N_("Sub-item %(no)s needs its parent item %(parent)s in the file."),
                    {"no": item["no"], "parent": parent},
                )
            )
        elif item["dimension"] and item["dimension"] not in dim_keys:
            problems.append(
                Problem(
                    item["row"],
                    "dimension",
                    N_("Unknown dimension “%(key)s”."),
                    {"key": item["dimension"]},
                )
            )
    if len(items) > MAX_ITEMS:
        problems.append(Problem(0, "", N_("More than %(n)s items in one year."), {"n": MAX_ITEMS}))
    if len(years) > 1:
        later = sorted(years.items(), key=lambda kv: kv[1])[1]
        problems.append(
            Problem(
                later[1],
                "fiscal_year",
                N_("The file holds more than one fiscal year (%(years)s); import one at a time."),
                {"years": ", ".join(str(y) for y in sorted(years))},
            )
        )
    if not problems and not years:
        problems.append(Problem(2, "", N_("The file has no rows.")))
    if problems:
        raise ImportRejected(filename, sorted(problems, key=lambda p: p.row))
    # Standard sets an item names but the file does not declare come with their usual titles.
    for code, th, en in STANDARD_SETS:
        if code not in set_codes and any(i["kind"] == code for i in items):
            position = 1 + max((s["position"] for s in sets), default=0)
            sets.append(
                {"row": 0, "code": code, "position": position, "title_th": th, "title_en": en}
            )
    return ParsedFramework(next(iter(years)), sets, dims, items)


def parse_upload(data: bytes, filename: str) -> ParsedFramework:
    """An uploaded CSV or XLSX framework, read within tables' bounds and checked whole."""
    table = read_table(data, filename, COLUMNS, REQUIRED)
    return check_framework(table.filename, table.rows)


# --- writing ----------------------------------------------------------------------------------


def _label(kind: str, no: str) -> str:
    return f"{kind} {no}"


def apply_framework(
    session: Session, actor: Actor, data: ParsedFramework, *, audit: bool = True
) -> Summary:
    """Make `data.fiscal_year`'s sets, dimensions and items those of the file.

    Items missing from the file are deleted, unless a report or best practice names them: then
    it refuses (409), nothing changed, and says to mark them retired instead. Adds and flushes.
    """
    fy = data.fiscal_year
    summary = Summary(fy)
    current = {
        (i.kind, i.no): i for i in session.scalars(select(PolicyItem).filter_by(fiscal_year=fy))
    }
    wanted = {(r["kind"], r["no"]) for r in data.items}
    dropped = [item for key, item in current.items() if key not in wanted]
    used = reported_item_ids(session, (i.id for i in dropped))
    blocked = sorted((i.kind, i.no) for i in dropped if i.id in used)
    if blocked:
        raise ServiceError(
            409,
            N_(
                "These items have reports and cannot be removed; keep them in the file with "
                "retired = yes: %(items)s"
            ),
            items=", ".join(_label(k, n) for k, n in blocked),
        )
    ensure_fiscal_year(session, fy)

    sets = {s.code: s for s in session.scalars(select(ItemSet).filter_by(fiscal_year=fy))}
    for row in data.sets:
        values: dict[str, Any] = {k: row[k] for k in ("position", "title_th", "title_en")}
        found = sets.get(row["code"])
        if found is None:
            sets[row["code"]] = ItemSet(fiscal_year=fy, code=row["code"], **values)
            session.add(sets[row["code"]])
            summary.created.append(f"set {row['code']}")
        elif assign(found, values):
            summary.updated.append(f"set {row['code']}")

    dims = upsert_dimensions(
        session, fy, [(r["key"], r) for r in data.dimensions], summary.created, summary.updated
    )

    # Parents first, so a sub-item finds its parent's id.
    by_key: dict[tuple[str, str], PolicyItem] = {}
    for row in sorted(data.items, key=lambda r: r["no"].count(".")):
        parent_no = row["no"].rsplit(".", 1)[0] if "." in row["no"] else None
        parent = by_key.get((row["kind"], parent_no)) if parent_no else None
        dim = dims.get(row["dimension"]) if row["dimension"] else None
        values = {
            "set_id": sets[row["kind"]].id,
            "parent_id": parent.id if parent else None,
            "title_th": row["title_th"],
            "title_en": row["title_en"],
            "dimension_id": dim.id if dim else None,
            "fields": row["fields"],
            "rounds": row["rounds"],
            "retired": row["retired"],
            "verified": row["verified"],
            "source_note": row["source_note"],
        }
        item = current.get((row["kind"], row["no"]))
        if item is None:
            item = PolicyItem(fiscal_year=fy, kind=row["kind"], no=row["no"], **values)
            session.add(item)
            summary.created.append(_label(row["kind"], row["no"]))
        elif assign(item, values):
            summary.updated.append(_label(row["kind"], row["no"]))
        session.flush()
        by_key[(row["kind"], row["no"])] = item
    for item in sorted(dropped, key=lambda i: -i.no.count(".")):
        session.delete(item)
        session.flush()
        summary.deleted.append(_label(item.kind, item.no))
    keep_sets = {r["code"] for r in data.sets}
    for code, item_set in sets.items():
        if code not in keep_sets:
            session.delete(item_set)
            summary.deleted.append(f"set {code}")
    keep_dims = {r["key"] for r in data.dimensions}
    for key, dim in dims.items():
        if key not in keep_dims:
            session.delete(dim)
            summary.deleted.append(f"dimension {key}")
    session.flush()
    if audit and summary.changed:
        record(session, actor, "framework.import", "fiscal_year", fy, after=summary.as_dict())
    return summary


def import_upload(session: Session, actor: Actor, data: bytes, filename: str) -> Summary:
    """Check an uploaded file whole, then apply it. Adds and flushes; the caller commits once."""
    return apply_framework(session, actor, parse_upload(data, filename))


# --- exporting --------------------------------------------------------------------------------


def export_rows(session: Session, fiscal_year: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for s in sets_of(session, fiscal_year):
        rows.append(
            [
                fiscal_year,
                SET,
                s.position,
                s.code,
                s.title_th,
                s.title_en,
                "",
                "",
                "",
                "",
                "yes",
                "",
            ]
        )
    dims = session.scalars(
        select(PolicyDimension).filter_by(fiscal_year=fiscal_year).order_by(PolicyDimension.no)
    )
    for d in dims:
        rows.append(
            [fiscal_year, DIMENSION, d.no, "", d.title_th, d.title_en, d.key, "", "", "", "yes", ""]
        )
    for i in items_of(session, fiscal_year):
        rows.append(
            [
                fiscal_year,
                i.kind,
                i.no,
                "",
                i.title_th,
                i.title_en,
                i.dimension.key if i.dimension else "",
                " ".join(i.fields or ()),
                " ".join(str(r) for r in i.rounds or ()),
                "yes" if i.retired else "no",
                "yes" if i.verified else "no",
                i.source_note,
            ]
        )
    return rows


def export_csv(session: Session, fiscal_year: int) -> bytes:
    return csv_text(COLUMNS, export_rows(session, fiscal_year)).encode("utf-8")


def export_xlsx(session: Session, fiscal_year: int) -> bytes:
    return xlsx_bytes({f"framework {fiscal_year}": (COLUMNS, export_rows(session, fiscal_year))})


# --- editing one thing ------------------------------------------------------------------------


def _text(value: str, name: str, limit: int = MAX_TITLE, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ServiceError(400, N_("Give the %(field)s."), field=name)
    if len(text) > limit:
        raise ServiceError(
            400, N_("%(field)s is longer than %(n)s characters."), field=name, n=limit
        )
    return text


def save_set(
    session: Session,
    actor: Actor,
    fiscal_year: int,
    *,
    code: str,
    title_th: str,
    title_en: str,
    position: int | str,
) -> ItemSet:
    """Create or update the set `code` of a year. Adds and flushes only."""
    code = (code or "").strip().lower()
    if not re.fullmatch(SET_CODE_PATTERN, code) or code in (SET, DIMENSION):
        raise ServiceError(
            400, N_("A set's code is 2–30 lower-case letters, digits or _ (such as kpi_2570).")
        )
    pos = position if isinstance(position, int) else parse_int(str(position).strip())
    if pos is None or not 1 <= pos <= 99:
        raise ServiceError(400, N_("A set's order is a number from 1 to 99."))
    values = {
        "title_th": _text(title_th, "Thai title"),
        "title_en": _text(title_en, "English title"),
        "position": pos,
    }
    ensure_fiscal_year(session, fiscal_year)
    item_set = session.scalars(
        select(ItemSet).filter_by(fiscal_year=fiscal_year, code=code)
    ).first()
    if item_set is None:
        item_set = ItemSet(fiscal_year=fiscal_year, code=code, **values)
        session.add(item_set)
        session.flush()
        record(
            session,
            actor,
            "framework.set_create",
            "item_set",
            item_set.id,
            after={"code": code, **values},
        )
    elif assign(item_set, values):
        session.flush()
        record(
            session,
            actor,
            "framework.set_update",
            "item_set",
            item_set.id,
            after={"code": code, **values},
        )
    return item_set


def save_item(
    session: Session,
    actor: Actor,
    fiscal_year: int,
    *,
    kind: str,
    no: str,
    title_th: str,
    title_en: str,
    fields: list[str],
    rounds: list[str],
    dimension: str = "",
    verified: bool = False,
    source_note: str = "",
) -> PolicyItem:
    """Create or update item `no` of set `kind` in a year. Adds and flushes only."""
    item_set = session.scalars(
        select(ItemSet).filter_by(fiscal_year=fiscal_year, code=kind)
    ).first()
    if item_set is None:
        raise ServiceError(400, N_("Choose one of the year's item sets."))
    no = (no or "").strip()
    if not re.fullmatch(ITEM_NO_PATTERN, no):
        raise ServiceError(400, N_("An item's number is like 4 or 4.1 (a sub-item of 4)."))
    chosen = [f for f in ITEM_FIELDS if f in fields]
    if not chosen:
        raise ServiceError(400, N_("Choose at least one field the item asks for."))
    round_numbers = parse_rounds(" ".join(rounds))
    if round_numbers is None:
        raise ServiceError(400, N_("Rounds are numbers from 1 to %(max)s."), max=MAX_ROUND)
    parent = None
    if "." in no:
        parent = session.scalars(
            select(PolicyItem).filter_by(
                fiscal_year=fiscal_year, kind=kind, no=no.rsplit(".", 1)[0]
            )
        ).first()
        if parent is None:
            raise ServiceError(
                400,
                N_("Add item %(parent)s first: %(no)s is its sub-item."),
                parent=no.rsplit(".", 1)[0],
                no=no,
            )
    dim = None
    if dimension:
        dim = session.scalars(
            select(PolicyDimension).filter_by(fiscal_year=fiscal_year, key=dimension)
        ).first()
        if dim is None:
            raise ServiceError(400, N_("Choose one of the year's dimensions."))
    values: dict[str, Any] = {
        "set_id": item_set.id,
        "parent_id": parent.id if parent else None,
        "title_th": _text(title_th, "Thai title"),
        "title_en": _text(title_en, "English title"),
        "dimension_id": dim.id if dim else None,
        "fields": chosen,
        "rounds": round_numbers,
        "verified": bool(verified),
        "source_note": _text(source_note, "note", MAX_NOTE, required=False),
    }
    item = session.scalars(
        select(PolicyItem).filter_by(fiscal_year=fiscal_year, kind=kind, no=no)
    ).first()
    if item is None:
        item = PolicyItem(fiscal_year=fiscal_year, kind=kind, no=no, retired=False, **values)
        session.add(item)
        session.flush()
        record(
            session, actor, "framework.item_create", "policy_item", item.id, after=_item_dict(item)
        )
    else:
        before = _item_dict(item)
        if assign(item, values):
            session.flush()
            record(
                session,
                actor,
                "framework.item_update",
                "policy_item",
                item.id,
                before=before,
                after=_item_dict(item),
            )
    return item


def _item_dict(item: PolicyItem) -> dict[str, Any]:
    return {
        "fiscal_year": item.fiscal_year,
        "kind": item.kind,
        "no": item.no,
        "title_th": item.title_th,
        "title_en": item.title_en,
        "fields": list(item.fields or ()),
        "rounds": list(item.rounds or ()),
        "retired": item.retired,
        "verified": item.verified,
    }


def item_or_404(session: Session, item_id: int) -> PolicyItem:
    item = session.get(PolicyItem, item_id) if 0 < item_id < 2**31 else None
    if item is None:
        raise ServiceError(404, N_("No such item."))
    return item


def set_retired(session: Session, actor: Actor, item: PolicyItem, retired: bool) -> None:
    """Retire an item (asked no more, reports kept and readable) or bring it back."""
    if item.retired == retired:
        return
    item.retired = retired
    session.flush()
    record(
        session,
        actor,
        "framework.item_retire" if retired else "framework.item_restore",
        "policy_item",
        item.id,
        after=_item_dict(item),
    )


def delete_item(session: Session, actor: Actor, item: PolicyItem) -> None:
    """Delete an item nobody reported on and that has no sub-items; else refuse (409)."""
    if reported_item_ids(session, [item.id]):
        raise ServiceError(
            409,
            N_("Item %(kind)s %(no)s has reports and cannot be deleted; retire it instead."),
            kind=item.kind,
            no=item.no,
        )
    if session.scalar(select(PolicyItem.id).filter_by(parent_id=item.id).limit(1)):
        raise ServiceError(409, N_("Delete or move the item's sub-items first."))
    before = _item_dict(item)
    session.delete(item)
    session.flush()
    record(session, actor, "framework.item_delete", "policy_item", before["no"], before=before)


# --- a new year -------------------------------------------------------------------------------


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def source_year(session: Session, year: int) -> int | None:
    """The latest year before `year` that has a framework: what starting `year` copies."""
    return session.scalar(
        select(PolicyItem.fiscal_year)
        .where(PolicyItem.fiscal_year < year)
        .order_by(PolicyItem.fiscal_year.desc())
        .limit(1)
    )


def start_year(
    session: Session, actor: Actor, from_year: int, to_year: int | None = None
) -> Summary:
    """Copy year N's sets, dimensions, items (not retired ones), fields and round plan (its
    reporting windows, as many years later) into `to_year` (N+1 unless given), which must
    have no framework yet.

    Reports are not copied. The copies' wording is marked unverified until checked against
    the new year's official text. Adds and flushes only.
    """
    to_year = from_year + 1 if to_year is None else to_year
    if not from_year < to_year <= from_year + 10:
        raise ServiceError(400, N_("Start a year from an earlier one (at most ten years before)."))
    if not has_framework(session, from_year):
        raise ServiceError(
            404, N_("Fiscal year %(year)s has no framework to start from."), year=from_year
        )
    if has_framework(session, to_year) or sets_of(session, to_year):
        raise ServiceError(
            409, N_("Fiscal year %(year)s already has a framework; edit it instead."), year=to_year
        )
    ensure_fiscal_year(session, to_year)
    summary = Summary(to_year)
    sets: dict[int, ItemSet] = {}
    for s in sets_of(session, from_year):
        sets[s.id] = ItemSet(
            fiscal_year=to_year,
            code=s.code,
            position=s.position,
            title_th=s.title_th,
            title_en=s.title_en,
        )
        session.add(sets[s.id])
        summary.created.append(f"set {s.code}")
    dims: dict[int, PolicyDimension] = {}
    for d in session.scalars(select(PolicyDimension).filter_by(fiscal_year=from_year)):
        dims[d.id] = PolicyDimension(
            fiscal_year=to_year, no=d.no, key=d.key, title_th=d.title_th, title_en=d.title_en
        )
        session.add(dims[d.id])
    session.flush()
    copies: dict[int, PolicyItem] = {}
    for i in sorted(items_of(session, from_year), key=lambda i: i.no.count(".")):
        if i.retired or (i.parent_id is not None and i.parent_id not in copies):
            continue  # a retired item's sub-items go with it
        parent = copies.get(i.parent_id) if i.parent_id else None
        copy = PolicyItem(
            fiscal_year=to_year,
            set_id=sets[i.set_id].id,
            parent_id=parent.id if parent else None,
            kind=i.kind,
            no=i.no,
            title_th=i.title_th,
            title_en=i.title_en,
            dimension_id=dims[i.dimension_id].id if i.dimension_id else None,
            fields=list(i.fields or ()),
            rounds=list(i.rounds or ()),
            retired=False,
            verified=False,
            source_note=f"copied from FY{from_year}; check against the FY{to_year} text",
        )
        session.add(copy)
        session.flush()
        copies[i.id] = copy
        summary.created.append(_label(i.kind, i.no))
    for w in session.scalars(select(ReportingWindow).filter_by(fiscal_year=from_year)):
        session.add(
            ReportingWindow(
                fiscal_year=to_year,
                round_no=w.round_no,
                label_th=w.label_th,
                label_en=w.label_en,
                opens_on=_years_later(w.opens_on, to_year - from_year),
                closes_on=_years_later(w.closes_on, to_year - from_year),
            )
        )
        summary.created.append(f"round {w.round_no}")
    session.flush()
    record(
        session,
        actor,
        "framework.start_year",
        "fiscal_year",
        to_year,
        after={"from": from_year, **summary.as_dict()},
    )
    return summary


def fiscal_year_or_404(session: Session, year: int) -> FiscalYear | None:
    return session.get(FiscalYear, year) if 2500 <= year <= 2700 else None
