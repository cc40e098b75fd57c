"""Admin maintenance of reporting windows and of each fiscal year's item catalogue.

A catalogue arrives as rows (from an admin's CSV upload, or from data/policy_items.csv through
the data load): `check_catalogue` validates rows with their line numbers, `apply_catalogue`
writes one checked year, and `import_catalogue` is the two for an uploaded text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..fiscal import fiscal_year_bounds
from ..models import (
    DEFAULT_FIELDS,
    ITEM_KINDS,
    STANDARD_SETS,
    FiscalYear,
    ItemSet,
    PolicyDimension,
    PolicyItem,
    ProgressEntry,
    ReportingWindow,
)
from ..tables import LineProblem, csv_dict_records, csv_text, unescape_cell
from .audit import Actor, record
from .errors import N_, ServiceError

# The columns of data/policy_items.csv, which the admin's export and import use too.
CSV_COLUMNS = [
    "fiscal_year",
    "kind",
    "no",
    "title_th",
    "title_en",
    "dimension",
    "verified",
    "source_note",
]
DIMENSION = "dimension"
MAX_ROUND = 12
MAX_ERRORS = 50


def parse_int(value: str) -> int | None:
    return int(value) if re.fullmatch(r"-?\d+", value) else None


def assign(obj: object, values: dict[str, object]) -> bool:
    """Set the attributes that differ; whether any did."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def item_values(row: dict[str, object], dims: dict[str, PolicyDimension]) -> dict[str, object]:
    """A catalogue row's stored fields, its dimension resolved to the year's dimension row."""
    dim = dims.get(str(row["dimension"])) if row["dimension"] else None
    return {
        "title_th": row["title_th"],
        "title_en": row["title_en"],
        "dimension_id": dim.id if dim else None,
        "verified": row["verified"],
        "source_note": row["source_note"],
    }


def upsert_dimensions(
    session: Session,
    fiscal_year: int,
    rows: Iterable[tuple[str, dict[str, Any]]],
    created: list[str],
    updated: list[str],
) -> dict[str, PolicyDimension]:
    """Create or update the year's dimensions from (key, row) pairs; every dimension of the year
    by key (the caller deletes the ones it no longer wants). Notes what changed by number."""
    dims = {
        d.key: d
        for d in session.scalars(select(PolicyDimension).filter_by(fiscal_year=fiscal_year))
    }
    # Dimension numbers are unique per year: park renumbered ones out of the way first.
    for d in dims.values():
        d.no = -abs(d.no)
    session.flush()
    for key, row in rows:
        values = {"no": row["no"], "title_th": row["title_th"], "title_en": row["title_en"]}
        dim = dims.get(key)
        if dim is None:
            dims[key] = PolicyDimension(fiscal_year=fiscal_year, key=key, **values)
            session.add(dims[key])
            created.append(f"dimension {row['no']}")
        else:
            before = {"no": -dim.no, "title_th": dim.title_th, "title_en": dim.title_en}
            assign(dim, values)
            if before != values:
                updated.append(f"dimension {row['no']}")
    session.flush()
    return dims


def ensure_fiscal_year(session: Session, year_be: int) -> FiscalYear:
    year = session.get(FiscalYear, year_be)
    if year is None:
        starts, ends = fiscal_year_bounds(year_be)
        year = FiscalYear(year_be=year_be, starts_on=starts, ends_on=ends)
        session.add(year)
        session.flush()
    return year


def ensure_item_sets(session: Session, fiscal_year: int, codes: set[str]) -> dict[str, ItemSet]:
    """The year's sets of the standard `codes`, created with their usual titles if missing."""
    found = {s.code: s for s in session.scalars(select(ItemSet).filter_by(fiscal_year=fiscal_year))}
    for position, (code, title_th, title_en) in enumerate(STANDARD_SETS, start=1):
        if code in codes and code not in found:
            found[code] = ItemSet(
                fiscal_year=fiscal_year,
                code=code,
                position=position,
                title_th=title_th,
                title_en=title_en,
            )
            session.add(found[code])
    session.flush()
    return found


def _year(value: int | str) -> int:
    year = value if isinstance(value, int) else parse_int(str(value).strip())
    if year is None or not 2500 <= year <= 2700:
        raise ServiceError(
            400,
            N_("The fiscal year must be a Buddhist Era year such as 2567, not %(value)s."),
            value=value,
        )
    return year


def _date(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ServiceError(
            400,
            N_("%(field)s must be a date (YYYY-MM-DD, Gregorian), not %(value)s."),
            field=name,
            value=value,
        ) from exc


def _window_dict(w: ReportingWindow) -> dict[str, Any]:
    return {
        "fiscal_year": w.fiscal_year,
        "round_no": w.round_no,
        "label_th": w.label_th,
        "label_en": w.label_en,
        "opens_on": w.opens_on.isoformat(),
        "closes_on": w.closes_on.isoformat(),
    }


def upsert_window(
    session: Session,
    actor: Actor,
    *,
    fiscal_year: int | str,
    round_no: int | str,
    label_th: str,
    label_en: str,
    opens_on: dt.date | str,
    closes_on: dt.date | str,
) -> ReportingWindow:
    """Create or update the window of (fiscal_year, round_no). Adds and flushes only."""
    year = _year(fiscal_year)
    rnd = round_no if isinstance(round_no, int) else parse_int(str(round_no).strip())
    if rnd is None or not 1 <= rnd <= MAX_ROUND:
        raise ServiceError(400, N_("The round must be a number from 1 to %(max)s."), max=MAX_ROUND)
    label_th, label_en = label_th.strip(), label_en.strip()
    if not label_th or not label_en:
        raise ServiceError(400, N_("Give the window a Thai and an English label."))
    opens, closes = _date(opens_on, "opens_on"), _date(closes_on, "closes_on")
    if opens > closes:
        raise ServiceError(400, N_("The window must open on or before the day it closes."))
    starts, ends = fiscal_year_bounds(year)
    if not starts <= opens <= closes <= ends:
        raise ServiceError(
            400,
            N_("The window must lie inside fiscal year %(year)s (%(starts)s to %(ends)s)."),
            year=year,
            starts=starts.isoformat(),
            ends=ends.isoformat(),
        )
    ensure_fiscal_year(session, year)
    values = {"label_th": label_th, "label_en": label_en, "opens_on": opens, "closes_on": closes}
    window = session.scalars(
        select(ReportingWindow).filter_by(fiscal_year=year, round_no=rnd)
    ).first()
    if window is None:
        window = ReportingWindow(fiscal_year=year, round_no=rnd, **values)
        session.add(window)
        session.flush()
        record(
            session,
            actor,
            "window.create",
            "reporting_window",
            window.id,
            after=_window_dict(window),
        )
        return window
    before = _window_dict(window)
    if assign(window, values):
        session.flush()
        record(
            session,
            actor,
            "window.update",
            "reporting_window",
            window.id,
            before=before,
            after=_window_dict(window),
        )
    return window


def delete_window(session: Session, actor: Actor, window: ReportingWindow) -> None:
    """Remove a reporting window nobody has reported in; refused (409) once reports exist,
    since they were written for it. Its reopenings go with it."""
    reports = session.scalar(
        select(func.count())
        .select_from(ProgressEntry)
        .where(
            ProgressEntry.fiscal_year == window.fiscal_year,
            ProgressEntry.round_no == window.round_no,
        )
    )
    if reports:
        raise ServiceError(
            409,
            N_(
                "Round %(round)s of fiscal year %(year)s has %(n)s reports, so it cannot be "
                "deleted; change its dates instead."
            ),
            round=window.round_no,
            year=window.fiscal_year,
            n=reports,
        )
    before, window_id = _window_dict(window), window.id
    session.delete(window)
    session.flush()
    record(session, actor, "window.delete", "reporting_window", window_id, before=before)


# --- Catalogue CSV ------------------------------------------------------------------------


def export_catalogue(session: Session, fiscal_year: int) -> str:
    """One fiscal year's catalogue as CSV text (columns of data/policy_items.csv), BOM first."""
    rows: list[list[Any]] = []
    dims = session.scalars(
        select(PolicyDimension).filter_by(fiscal_year=fiscal_year).order_by(PolicyDimension.no)
    ).all()
    for d in dims:
        # Dimensions keep no verified flag or note of their own.
        rows.append([fiscal_year, DIMENSION, d.no, d.title_th, d.title_en, d.key, "yes", ""])
    # This form carries the policy and Quick Win sets' top-level items only (the framework's
    # own file, services/framework.py, carries every set, sub-item, field and round).
    items = session.scalars(
        select(PolicyItem).where(
            PolicyItem.fiscal_year == fiscal_year,
            PolicyItem.kind.in_(ITEM_KINDS),
            PolicyItem.no.not_like("%.%"),
        )
    ).all()
    items = sorted(items, key=lambda i: (ITEM_KINDS.index(i.kind), int(i.no)))
    for i in items:
        rows.append(
            [
                fiscal_year,
                i.kind,
                i.no,
                i.title_th,
                i.title_en,
                i.dimension.key if i.dimension else "",
                "yes" if i.verified else "no",
                i.source_note,
            ]
        )
    return csv_text(CSV_COLUMNS, rows)


@dataclass(frozen=True)
class LineError:
    """A problem on one line of an uploaded file; `msgid` % `params` is the English reason."""

    line: int
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid % self.params if self.params else self.msgid}"


class CatalogueFileError(ServiceError):
    """The uploaded catalogue is invalid; `errors` lists every problem found (nothing changed)."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(
            400, N_("The file has %(n)s error(s); nothing was changed."), n=len(errors)
        )
        self.errors = errors[:MAX_ERRORS]


@dataclass
class ImportSummary:
    fiscal_year: int
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted}


@dataclass
class ParsedCatalogue:
    """One fiscal year's checked rows, each keeping the line it came from (`line`)."""

    fiscal_year: int
    dimensions: list[dict[str, Any]]
    items: list[dict[str, Any]]


def parse_catalogue(text: str) -> ParsedCatalogue:
    """Check an uploaded catalogue text (policy_items.csv form); CatalogueFileError if bad."""
    problems: list[LineProblem] = []
    rows = [
        (line, {k: unescape_cell(v) for k, v in row.items()})
        for line, row in csv_dict_records(text, CSV_COLUMNS, problems)
    ]
    errors = [LineError(p.line, p.msgid, p.params) for p in problems]
    if any(p.line == 1 for p in problems):  # no header to read rows by
        raise CatalogueFileError(errors)
    return check_catalogue(rows, errors)


def check_catalogue(
    rows: Iterable[tuple[int, dict[str, str]]], errors: list[LineError] | None = None
) -> ParsedCatalogue:
    """Check one fiscal year's rows (text values by CSV_COLUMNS), each with its line number.

    Raises CatalogueFileError listing every problem, with `errors` found before (reading).
    """
    errors = list(errors or [])
    years: dict[int, int] = {}  # year -> first line naming it
    dims: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    dim_keys: set[str] = set()
    for line, row in rows:

        def bad(msgid: str, line: int = line, **params: Any) -> None:
            errors.append(LineError(line, msgid, params))

        fy, no, kind = parse_int(row["fiscal_year"]), parse_int(row["no"]), row["kind"]
        if fy is None or not 2500 <= fy <= 2700:
            bad(
                N_("fiscal_year must be a Buddhist Era year, not “%(value)s”"),
                value=row["fiscal_year"],
            )
            continue
        years.setdefault(fy, line)
        if kind != DIMENSION and kind not in ITEM_KINDS:
            bad(N_("unknown kind “%(kind)s” (use dimension, policy or quick_win)"), kind=kind)
            continue
        if no is None or not 1 <= no <= 999:
            bad(N_("bad number “%(value)s”"), value=row["no"])
            continue
        if (kind, no) in seen:
            bad(N_("duplicate %(kind)s %(no)s"), kind=kind, no=no)
            continue
        seen.add((kind, no))
        if row["verified"] not in ("yes", "no"):
            bad(N_("verified must be yes or no, not “%(value)s”"), value=row["verified"])
            continue
        if not row["title_th"] or not row["title_en"]:
            bad(N_("title_th and title_en must not be empty"))
            continue
        rec: dict[str, Any] = {**row, "line": line, "fiscal_year": fy, "no": no}
        rec["verified"] = row["verified"] == "yes"
        if kind != DIMENSION:
            rec["no"] = str(no)  # an item's number is text ("4", "4.1")
        if kind == DIMENSION:
            if not row["dimension"]:
                bad(N_("a dimension row needs its key in the dimension column"))
                continue
            if row["dimension"] in dim_keys:
                bad(N_("duplicate dimension %(key)s"), key=row["dimension"])
                continue
            dim_keys.add(row["dimension"])
            dims.append(rec)
        else:
            items.append(rec)
    for item in items:
        if item["dimension"] and item["dimension"] not in dim_keys:
            errors.append(
                LineError(
                    item["line"], N_("unknown dimension “%(key)s”"), {"key": item["dimension"]}
                )
            )
        elif item["kind"] == "policy" and not item["dimension"]:
            errors.append(LineError(item["line"], N_("a policy item needs a dimension")))
    if len(years) > 1:
        later = sorted(years.items(), key=lambda kv: kv[1])[1]
        errors.append(
            LineError(
                later[1],
                N_("the file holds more than one fiscal year (%(years)s); import one at a time"),
                {"years": ", ".join(str(y) for y in sorted(years))},
            )
        )
    if not errors and not years:
        errors.append(LineError(2, N_("the file has no rows")))
    if errors:
        raise CatalogueFileError(sorted(errors, key=lambda e: e.line))
    return ParsedCatalogue(next(iter(years)), dims, items)


def import_catalogue(session: Session, actor: Actor, text: str) -> ImportSummary:
    """Replace one fiscal year's dimensions and items with those in `text` (policy_items.csv form).

    Validates the whole file first; refuses (409) to drop items that already have reports.
    Adds and flushes only; the caller commits once.
    """
    return apply_catalogue(session, actor, parse_catalogue(text))


def apply_catalogue(session: Session, actor: Actor, data: ParsedCatalogue) -> ImportSummary:
    """Replace `data.fiscal_year`'s dimensions and items with the checked rows.

    Refuses (409) to drop items that already have reports. Adds and flushes only.
    """
    fy = data.fiscal_year
    summary = ImportSummary(fy)
    current_items = {
        (i.kind, i.no): i
        for i in session.scalars(
            select(PolicyItem).where(
                PolicyItem.fiscal_year == fy,
                PolicyItem.kind.in_(ITEM_KINDS),
                PolicyItem.no.not_like("%.%"),
            )
        )
    }
    wanted = {(r["kind"], r["no"]) for r in data.items}
    dropped = [item for key, item in current_items.items() if key not in wanted]
    if dropped:
        reported = set(
            session.scalars(
                select(ProgressEntry.item_id)
                .where(ProgressEntry.item_id.in_([i.id for i in dropped]))
                .distinct()
            )
        )
        blocked = sorted((i.kind, i.no) for i in dropped if i.id in reported)
        if blocked:
            raise ServiceError(
                409,
                N_(
                    "These items already have progress reports and cannot be removed; keep "
                    "them in the file: %(items)s"
                ),
                items=", ".join(f"{kind} {no}" for kind, no in blocked),
            )

    ensure_fiscal_year(session, fy)
    sets = ensure_item_sets(session, fy, {str(r["kind"]) for r in data.items})
    dims = upsert_dimensions(
        session,
        fy,
        [(r["dimension"], r) for r in data.dimensions],
        summary.created,
        summary.updated,
    )

    for row in data.items:
        values = item_values(row, dims)
        item = current_items.get((row["kind"], row["no"]))
        if item is None:
            session.add(
                PolicyItem(
                    fiscal_year=fy,
                    kind=row["kind"],
                    no=row["no"],
                    set_id=sets[row["kind"]].id,
                    fields=list(DEFAULT_FIELDS),
                    rounds=[],
                    retired=False,
                    **values,
                )
            )
            summary.created.append(f"{row['kind']} {row['no']}")
        elif assign(item, values):
            summary.updated.append(f"{row['kind']} {row['no']}")
    for item in dropped:
        if session.scalar(select(PolicyItem.id).filter_by(parent_id=item.id).limit(1)):
            raise ServiceError(
                409,
                N_("Item %(kind)s %(no)s has sub-items; remove them on the framework page first."),
                kind=item.kind,
                no=item.no,
            )
        session.delete(item)
        summary.deleted.append(f"{item.kind} {item.no}")
    session.flush()
    keys = {r["dimension"] for r in data.dimensions}
    for key, dim in dims.items():
        if key not in keys:
            session.delete(dim)
            summary.deleted.append(f"dimension {key}")
    session.flush()
    if summary.changed:
        record(session, actor, "catalogue.import", "fiscal_year", fy, after=summary.as_dict())
    return summary
