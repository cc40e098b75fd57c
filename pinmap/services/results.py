"""Five-year results per office (FY 2562 on): all-or-nothing import and series for the charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Float, func, select, tuple_
from sqlalchemy.orm import Session

from ..auth import can
from ..fiscal import fiscal_year_of
from ..models import RESULT_CATEGORIES, Office, ResultRecord
from ..tables import ImportRejected, Problem, parse_number, read_table
from .audit import Actor, emit_change, record
from .errors import N_, ServiceError
from .sanitize import clean_text

FIRST_YEAR: Final = 2562
RESULT_COLUMNS: Final = (
    "office_code",
    "fiscal_year",
    "category",
    "indicator",
    "value",
    "unit",
    "office_target",
    "obec_target",
)
RESULT_REQUIRED: Final = ("office_code", "fiscal_year", "category", "indicator", "value")
CATEGORY_LABELS: Final = {
    "policy": N_("OBEC policy"),
    "action_plan": N_("Action plan"),
    "office_standards": N_("Office standards"),
    "onet_rt_nt": N_("O-NET, RT and NT scores"),
    "drugs": N_("Drug prevention"),
}


@dataclass
class ResultImport:
    rows: int
    created: int
    updated: int
    offices: list[str]


def _parse_row(
    number: int,
    row: dict[str, str],
    codes: dict[str, int],
    last_year: int,
    only_office: Office | None,
    problems: list[Problem],
) -> dict[str, Any] | None:
    bad_before = len(problems)
    code = row.get("office_code", "")
    office_id = codes.get(code)
    if office_id is None:
        problems.append(
            Problem(number, "office_code", N_("No office with code %(code)s."), {"code": code})
        )
    elif only_office is not None and office_id != only_office.id:
        problems.append(
            Problem(
                number,
                "office_code",
                N_("This import is for %(code)s only."),
                {"code": only_office.code},
            )
        )
    year_s = row.get("fiscal_year", "")
    year = int(year_s) if year_s.isdigit() else None
    if year is None or not FIRST_YEAR <= year <= last_year:
        problems.append(
            Problem(
                number,
                "fiscal_year",
                N_("A Buddhist-Era fiscal year from %(first)s to %(last)s."),
                {"first": FIRST_YEAR, "last": last_year},
            )
        )
    category = row.get("category", "")
    if category not in RESULT_CATEGORIES:
        problems.append(
            Problem(
                number,
                "category",
                N_("One of %(allowed)s."),
                {"allowed": ", ".join(RESULT_CATEGORIES)},
            )
        )
    indicator = clean_text(row.get("indicator", ""), max_length=1_000)
    if not indicator or len(indicator) > 200:
        problems.append(
            Problem(number, "indicator", N_("Give the indicator, up to 200 characters."))
        )
    unit = clean_text(row.get("unit", ""), max_length=100)
    if len(unit) > 20:
        problems.append(Problem(number, "unit", N_("Longer than %(n)s characters."), {"n": 20}))
    numbers: dict[str, float | None] = {}
    for col in ("value", "office_target", "obec_target"):
        try:
            numbers[col] = parse_number(row.get(col, ""))
        except ValueError:
            problems.append(
                Problem(number, col, N_("Not a number: %(text)s."), {"text": row.get(col, "")[:40]})
            )
    if len(problems) > bad_before:
        return None
    return {
        "office_id": office_id,
        "fiscal_year": year,
        "category": category,
        "indicator": indicator,
        "unit": unit,
        **numbers,
    }


def import_results(
    session: Session, actor: Actor, filename: str, data: bytes, *, office: Office | None = None
) -> ResultImport:
    """Insert or update results from a file, all or nothing; `office` limits it to one office.

    OBEC (reviewers, admins) only: these are its monitoring results, published as loaded.
    """
    if not can(actor.user, "import_results", office.id if office else None):
        raise ServiceError(403, N_("You may not import data for this office."))
    table = read_table(data, filename, RESULT_COLUMNS, RESULT_REQUIRED)
    codes = dict(session.execute(select(Office.code, Office.id)).all())
    last_year = fiscal_year_of(actor.today_bangkok)
    problems: list[Problem] = []
    parsed: dict[tuple[int, int, str, str], dict[str, Any]] = {}
    first_seen: dict[tuple[int, int, str, str], int] = {}
    for number, row in table.rows:
        rec = _parse_row(number, row, codes, last_year, office, problems)
        if rec is None:
            continue
        key = (rec["office_id"], rec["fiscal_year"], rec["category"], rec["indicator"])
        if key in first_seen:
            problems.append(
                Problem(
                    number,
                    "indicator",
                    N_("The same result is on row %(row)s."),
                    {"row": first_seen[key]},
                )
            )
            continue
        first_seen[key] = number
        parsed[key] = rec
    if not parsed and not problems:
        problems.append(Problem(2, "", N_("The file has no result rows.")))
    if problems:
        raise ImportRejected(table.filename, problems)
    office_ids = {k[0] for k in parsed}
    existing = {
        (r.office_id, r.fiscal_year, r.category, r.indicator): r
        for r in session.scalars(select(ResultRecord).where(ResultRecord.office_id.in_(office_ids)))
    }
    created = updated = 0
    for key, rec in parsed.items():
        row_obj = existing.get(key)
        if row_obj is None:
            row_obj = ResultRecord(
                **{k: rec[k] for k in ("office_id", "fiscal_year", "category", "indicator")}
            )
            session.add(row_obj)
            created += 1
        else:
            updated += 1
        row_obj.value, row_obj.unit = rec["value"], rec["unit"]
        row_obj.office_target, row_obj.obec_target = rec["office_target"], rec["obec_target"]
        row_obj.source = "import"
    session.flush()
    by_id = {v: k for k, v in codes.items()}
    touched = sorted(by_id[i] for i in office_ids)
    result = ResultImport(len(parsed), created, updated, touched)
    record(
        session,
        actor,
        "results.import",
        "result_records",
        table.filename,
        office_id=office.id if office else None,
        after={
            "file": table.filename,
            "rows": len(parsed),
            "created": created,
            "updated": updated,
            "offices": touched[:50],
        },
    )
    for code in touched:
        emit_change(session, "office.updated", code, {"fields": ["results"]})
    return result


# --- series for the office page ------------------------------------------------------------------


@dataclass
class Series:
    category: str
    indicator: str
    unit: str
    years: list[int]
    office: dict[int, float | None]
    cluster_avg: dict[int, float] = field(default_factory=dict)
    national_avg: dict[int, float] = field(default_factory=dict)
    office_target: dict[int, float | None] = field(default_factory=dict)
    obec_target: dict[int, float | None] = field(default_factory=dict)


def _averages(
    session: Session, keys: set[tuple[str, str]], cluster_no: int | None
) -> dict[tuple[str, str, int], float]:
    stmt = (
        select(
            ResultRecord.category,
            ResultRecord.indicator,
            ResultRecord.fiscal_year,
            func.avg(ResultRecord.value, type_=Float),
        )
        .where(
            ResultRecord.value.is_not(None),
            tuple_(ResultRecord.category, ResultRecord.indicator).in_(list(keys)),
        )
        .group_by(ResultRecord.category, ResultRecord.indicator, ResultRecord.fiscal_year)
    )
    if cluster_no is not None:
        stmt = stmt.join(Office, Office.id == ResultRecord.office_id).where(
            Office.cluster_no == cluster_no
        )
    return {(c, i, y): round(float(avg), 2) for c, i, y, avg in session.execute(stmt)}


def office_series(session: Session, office: Office) -> list[Series]:
    """Each indicator of the office across its years, next to cluster and national averages."""
    rows = session.scalars(
        select(ResultRecord)
        .filter_by(office_id=office.id)
        .order_by(ResultRecord.category, ResultRecord.indicator, ResultRecord.fiscal_year)
    ).all()
    if not rows:
        return []
    by_key: dict[tuple[str, str], Series] = {}
    for r in rows:
        s = by_key.setdefault(
            (r.category, r.indicator), Series(r.category, r.indicator, r.unit, [], {})
        )
        s.years.append(r.fiscal_year)
        s.office[r.fiscal_year] = r.value
        s.office_target[r.fiscal_year] = r.office_target
        s.obec_target[r.fiscal_year] = r.obec_target
    keys = set(by_key)
    cluster = _averages(session, keys, office.cluster_no)
    national = _averages(session, keys, None)
    for (cat, ind), s in by_key.items():
        s.cluster_avg = {y: cluster[(cat, ind, y)] for y in s.years if (cat, ind, y) in cluster}
        s.national_avg = {y: national[(cat, ind, y)] for y in s.years if (cat, ind, y) in national}
    order = {c: n for n, c in enumerate(RESULT_CATEGORIES)}
    return sorted(by_key.values(), key=lambda s: (order[s.category], s.indicator))
