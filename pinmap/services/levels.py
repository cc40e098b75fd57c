"""Performance levels: admins' level scales (per fiscal year, per result category or indicator),
checked whole before anything changes; each result's level; the share of offices at or above a
level, nationally and per cluster, with exact (truncated, never rounded up) percentages.

A scale's levels are ordered from the highest (position 1) down. Each has an inclusive lower
bound; a value belongs to the highest level whose bound it reaches. Bounds strictly decrease
down the scale and the lowest level starts at the scale's range minimum, so the levels cover
the whole range with no gap and no overlap. A value outside the range has no level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..auth import can
from ..models import RESULT_CATEGORIES, Cluster, LevelScale, Office, PerformanceLevel, ResultRecord
from ..tables import ImportRejected, Problem, csv_text, read_table, unescape_cell, xlsx_bytes
from .audit import Actor, record
from .errors import N_, ServiceError
from .sanitize import clean_text

COLUMNS: Final = (
    "fiscal_year",
    "category",
    "indicator",
    "range_min",
    "range_max",
    "position",
    "name_th",
    "name_en",
    "min_value",
    "verified",
    "source_note",
)
REQUIRED: Final = ("fiscal_year", "category", "position", "name_th", "name_en", "min_value")
MIN_LEVELS: Final = 2
MAX_LEVELS: Final = 10
MAX_NAME: Final = 60
MAX_INDICATOR: Final = 200
MAX_NOTE: Final = 500
YEARS: Final = (2500, 2700)
# Bounds people type: results are percentages, scores and counts, never astronomically large.
MAX_ABS: Final = 1e9


class ScaleRefused(ServiceError):
    """A scale typed on the form was refused; `problems` name the level (row) and the field."""

    def __init__(self, problems: list[Problem]) -> None:
        msgid = N_("The scale was not saved: %(n)s problem(s), listed below.")
        super().__init__(400, msgid, n=len(problems))
        self.problems = problems


@dataclass(frozen=True)
class LevelInput:
    """One level as typed (text): its row on the form or in the file is kept for messages."""

    name_th: str
    name_en: str
    min_value: str
    row: int = 0


@dataclass
class ScaleInput:
    fiscal_year: int
    category: str
    indicator: str
    range_min: str
    range_max: str
    levels: list[LevelInput]
    source_note: str = ""
    verified: bool = False
    first_row: int = 0  # the row of the scale's first level (file) or 0 (form)


@dataclass(frozen=True)
class CheckedScale:
    fiscal_year: int
    category: str
    indicator: str
    range_min: float
    range_max: float
    levels: tuple[tuple[str, str, float], ...]  # (name_th, name_en, min_value), highest first
    source_note: str
    verified: bool


def _number(text: str) -> float | None:
    raw = text.strip().replace(",", "")
    if not raw or len(raw) > 30:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= MAX_ABS else None


def check_scale(data: ScaleInput) -> tuple[CheckedScale | None, list[Problem]]:
    """The scale as stored, or the problems: each names a row (a level; 0 the scale) and a field."""
    problems: list[Problem] = []
    head = data.first_row

    def bad(at: int, column: str, msgid: str, /, **params: Any) -> None:
        problems.append(Problem(at, column, msgid, params))

    if not YEARS[0] <= data.fiscal_year <= YEARS[1]:
        bad(head, "fiscal_year", N_("A Buddhist-Era fiscal year such as 2567."))
    if data.category not in RESULT_CATEGORIES:
        bad(head, "category", N_("One of %(allowed)s."), allowed=", ".join(RESULT_CATEGORIES))
    indicator = clean_text(data.indicator, max_length=1_000)
    if len(indicator) > MAX_INDICATOR:
        bad(head, "indicator", N_("Longer than %(n)s characters."), n=MAX_INDICATOR)
    note = clean_text(data.source_note, max_length=2_000)
    if len(note) > MAX_NOTE:
        bad(head, "source_note", N_("Longer than %(n)s characters."), n=MAX_NOTE)
    low = _number(data.range_min) if data.range_min.strip() else 0.0
    high = _number(data.range_max) if data.range_max.strip() else 100.0
    if low is None:
        bad(head, "range_min", N_("Not a number: %(text)s."), text=data.range_min[:40])
    if high is None:
        bad(head, "range_max", N_("Not a number: %(text)s."), text=data.range_max[:40])
    if low is not None and high is not None and low >= high:
        bad(head, "range_max", N_("The top of the range must be above its bottom."))
    levels = [lv for lv in data.levels if lv.name_th.strip() or lv.name_en.strip() or lv.min_value]
    if not MIN_LEVELS <= len(levels) <= MAX_LEVELS:
        bad(
            head,
            "position",
            N_("A scale has from %(low)s to %(high)s levels."),
            low=MIN_LEVELS,
            high=MAX_LEVELS,
        )
    checked: list[tuple[str, str, float]] = []
    seen: dict[tuple[str, str], int] = {}
    previous: float | None = None
    for lv in levels:
        names = []
        for column, text in (("name_th", lv.name_th), ("name_en", lv.name_en)):
            name = clean_text(text, max_length=1_000)
            if not name:
                bad(lv.row, column, N_("Give the level's name."))
            elif len(name) > MAX_NAME:
                bad(lv.row, column, N_("Longer than %(n)s characters."), n=MAX_NAME)
            elif (column, name.casefold()) in seen:
                bad(
                    lv.row,
                    column,
                    N_("The same name is on row %(row)s."),
                    row=seen[(column, name.casefold())],
                )
            else:
                seen[(column, name.casefold())] = lv.row
            names.append(name)
        bound = _number(lv.min_value)
        if bound is None:
            bad(lv.row, "min_value", N_("Not a number: %(text)s."), text=lv.min_value[:40])
        elif low is not None and high is not None and not low <= bound <= high:
            bad(
                lv.row,
                "min_value",
                N_("Outside the range %(low)s to %(high)s."),
                low=_plain(low),
                high=_plain(high),
            )
        elif previous is not None and bound >= previous:
            # Levels are listed from the highest down: a lower level must start lower.
            bad(
                lv.row,
                "min_value",
                N_("Must be below the level above it (%(above)s)."),
                above=_plain(previous),
            )
        if bound is not None:
            previous = bound if previous is None or bound < previous else previous
        checked.append((names[0], names[1], bound if bound is not None else 0.0))
    if levels and not problems and low is not None and checked[-1][2] != low:
        # Else values between the range's bottom and the lowest bound would have no level.
        bad(
            levels[-1].row,
            "min_value",
            N_("The lowest level must start at the bottom of the range (%(low)s)."),
            low=_plain(low),
        )
    if problems or low is None or high is None:
        return None, problems
    return (
        CheckedScale(
            data.fiscal_year,
            data.category,
            indicator,
            low,
            high,
            tuple(checked),
            note,
            data.verified,
        ),
        [],
    )


def _plain(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.0f}"


def _snapshot(scale: LevelScale) -> dict[str, Any]:
    return {
        "fiscal_year": scale.fiscal_year,
        "category": scale.category,
        "indicator": scale.indicator,
        "range": [scale.range_min, scale.range_max],
        "levels": [[lv.name_th, lv.name_en, lv.min_value] for lv in scale.levels],
        "verified": scale.verified,
    }


def _find(session: Session, year: int, category: str, indicator: str) -> LevelScale | None:
    return session.scalars(
        select(LevelScale).filter_by(fiscal_year=year, category=category, indicator=indicator)
    ).one_or_none()


def _store(session: Session, actor: Actor, checked: CheckedScale) -> LevelScale:
    scale = _find(session, checked.fiscal_year, checked.category, checked.indicator)
    before = _snapshot(scale) if scale is not None else None
    if scale is None:
        scale = LevelScale(
            fiscal_year=checked.fiscal_year,
            category=checked.category,
            indicator=checked.indicator,
            range_min=checked.range_min,
            range_max=checked.range_max,
        )
        try:
            # Two admins adding the same scale at once: the second gets a 409, not a 500.
            with session.begin_nested():
                session.add(scale)
        except IntegrityError:
            raise ServiceError(
                409,
                N_("Someone saved this scale at the same moment; reload the page and check it."),
            ) from None
    scale.range_min, scale.range_max = checked.range_min, checked.range_max
    scale.source_note, scale.verified = checked.source_note, checked.verified
    scale.levels.clear()
    session.flush()  # the old positions go before the new ones take them
    scale.levels.extend(
        PerformanceLevel(position=n, name_th=th, name_en=en, min_value=bound)
        for n, (th, en, bound) in enumerate(checked.levels, start=1)
    )
    session.flush()
    after = _snapshot(scale)
    if before != after:
        record(session, actor, "levels.save", "level_scales", scale.id, before=before, after=after)
    return scale


def _allowed(actor: Actor) -> None:
    if not can(actor.user, "manage_catalogue"):
        raise ServiceError(403, N_("Only administrators may change level scales."))


def save_scale(session: Session, actor: Actor, data: ScaleInput) -> LevelScale:
    """Create or replace the scale of (fiscal year, category, indicator) as typed."""
    _allowed(actor)
    checked, problems = check_scale(data)
    if checked is None:
        raise ScaleRefused(problems)
    return _store(session, actor, checked)


def scale_or_404(session: Session, scale_id: int) -> LevelScale:
    scale = session.get(LevelScale, scale_id)
    if scale is None:
        raise ServiceError(404, N_("No such level scale."))
    return scale


def delete_scale(session: Session, actor: Actor, scale: LevelScale) -> None:
    _allowed(actor)
    record(session, actor, "levels.delete", "level_scales", scale.id, before=_snapshot(scale))
    session.delete(scale)
    session.flush()


def scales_of(session: Session, year: int) -> list[LevelScale]:
    order = {c: n for n, c in enumerate(RESULT_CATEGORIES)}
    found = session.scalars(
        select(LevelScale).filter_by(fiscal_year=year).options(selectinload(LevelScale.levels))
    ).all()
    return sorted(found, key=lambda s: (order[s.category], s.indicator))


def years_with_scales(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(LevelScale.fiscal_year).distinct().order_by(LevelScale.fiscal_year.desc())
        )
    )


@dataclass
class CopySummary:
    source: int
    copied: int
    kept: int


def copy_year(session: Session, actor: Actor, source: int, target: int) -> CopySummary:
    """Copy every scale of `source` to `target`; a scale `target` already has is kept as it is."""
    _allowed(actor)
    if source == target:
        raise ServiceError(400, N_("Copy from another fiscal year."))
    if not YEARS[0] <= target <= YEARS[1]:
        raise ServiceError(400, N_("A Buddhist-Era fiscal year such as 2567."))
    scales = scales_of(session, source)
    if not scales:
        raise ServiceError(404, N_("Fiscal year %(year)s has no level scales."), year=source)
    copied = kept = 0
    for s in scales:
        if _find(session, target, s.category, s.indicator) is not None:
            kept += 1
            continue
        checked = CheckedScale(
            target,
            s.category,
            s.indicator,
            s.range_min,
            s.range_max,
            tuple((lv.name_th, lv.name_en, lv.min_value) for lv in s.levels),
            s.source_note,
            s.verified,
        )
        _store(session, actor, checked)
        copied += 1
    return CopySummary(source, copied, kept)


# --- the file form ---------------------------------------------------------------------------


def export_rows(session: Session, year: int) -> list[list[Any]]:
    return [
        [
            s.fiscal_year,
            s.category,
            s.indicator,
            s.range_min,
            s.range_max,
            lv.position,
            lv.name_th,
            lv.name_en,
            lv.min_value,
            "yes" if s.verified else "no",
            s.source_note,
        ]
        for s in scales_of(session, year)
        for lv in s.levels
    ]


def export_csv(session: Session, year: int) -> str:
    return csv_text(COLUMNS, export_rows(session, year))


def export_xlsx(session: Session, year: int) -> bytes:
    return xlsx_bytes({f"levels-{year}": (COLUMNS, export_rows(session, year))})


@dataclass
class ImportSummary:
    scales: int
    levels: int
    years: list[int] = field(default_factory=list)


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


def import_upload(session: Session, actor: Actor, data: bytes, filename: str) -> ImportSummary:
    """Replace the scales the file names (a row per level), all or nothing; other scales stay."""
    _allowed(actor)
    table = read_table(data, filename, COLUMNS, REQUIRED)
    problems: list[Problem] = []
    grouped: dict[tuple[int, str, str], ScaleInput] = {}
    positions: dict[tuple[int, str, str], dict[int, int]] = {}
    for number, row in table.rows:
        cells = {k: unescape_cell(v) for k, v in row.items()}
        year = _int(cells.get("fiscal_year", ""))
        if year is None:
            problems.append(
                Problem(number, "fiscal_year", N_("A Buddhist-Era fiscal year such as 2567."))
            )
            continue
        position = _int(cells.get("position", ""))
        if position is None or not 1 <= position <= MAX_LEVELS:
            problems.append(
                Problem(
                    number, "position", N_("A whole number from 1 to %(n)s."), {"n": MAX_LEVELS}
                )
            )
            continue
        key = (year, cells.get("category", ""), clean_text(cells.get("indicator", "")))
        scale = grouped.get(key)
        if scale is None:
            scale = grouped[key] = ScaleInput(
                year,
                key[1],
                cells.get("indicator", ""),
                cells.get("range_min", ""),
                cells.get("range_max", ""),
                [],
                cells.get("source_note", ""),
                cells.get("verified", "").lower() in ("yes", "true", "1"),
                first_row=number,
            )
            positions[key] = {}
        elif (cells.get("range_min", ""), cells.get("range_max", "")) != (
            scale.range_min,
            scale.range_max,
        ):
            problems.append(
                Problem(
                    number,
                    "range_min",
                    N_("The same scale has another range on row %(row)s."),
                    {"row": scale.first_row},
                )
            )
            continue
        if position in positions[key]:
            problems.append(
                Problem(
                    number,
                    "position",
                    N_("The same level is on row %(row)s."),
                    {"row": positions[key][position]},
                )
            )
            continue
        positions[key][position] = number
        scale.levels.append(
            LevelInput(
                cells.get("name_th", ""),
                cells.get("name_en", ""),
                cells.get("min_value", ""),
                number,
            )
        )
    checked: list[CheckedScale] = []
    for key, scale in grouped.items():
        scale.levels.sort(key=lambda lv: _position_of(positions[key], lv.row))
        ok, found = check_scale(scale)
        problems.extend(found)
        if ok is not None:
            checked.append(ok)
    if not grouped and not problems:
        problems.append(Problem(2, "", N_("The file has no level rows.")))
    if problems:
        raise ImportRejected(table.filename, sorted(problems, key=lambda p: p.row))
    for c in checked:
        _store(session, actor, c)
    return ImportSummary(
        len(checked), sum(len(c.levels) for c in checked), sorted({c.fiscal_year for c in checked})
    )


def _position_of(rows: dict[int, int], row: int) -> int:
    return next(p for p, r in rows.items() if r == row)


# --- levels of results -------------------------------------------------------------------------


def level_of(scale: LevelScale, value: float | None) -> PerformanceLevel | None:
    """The highest level whose lower bound `value` reaches; None outside the range or no value."""
    if value is None or not scale.range_min <= value <= scale.range_max:
        return None
    for lv in scale.levels:
        if value >= lv.min_value:
            return lv
    return None


class Scales:
    """Which scale reads a result: the indicator's own, else its category's."""

    def __init__(self, scales: Iterable[LevelScale]) -> None:
        self._by_key = {(s.fiscal_year, s.category, s.indicator): s for s in scales}

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def of(self, year: int, category: str, indicator: str) -> LevelScale | None:
        return self._by_key.get((year, category, indicator)) or self._by_key.get(
            (year, category, "")
        )


def all_scales(session: Session, years: Iterable[int] | None = None) -> Scales:
    stmt = select(LevelScale).options(selectinload(LevelScale.levels))
    if years is not None:
        stmt = stmt.where(LevelScale.fiscal_year.in_(list(years)))
    return Scales(session.scalars(stmt).all())


@dataclass
class LevelCell:
    value: float | None
    level: PerformanceLevel | None
    scale: LevelScale


@dataclass
class IndicatorLevels:
    category: str
    indicator: str
    unit: str
    cells: dict[int, LevelCell]


def office_levels(session: Session, office: Office) -> tuple[list[int], list[IndicatorLevels]]:
    """The office's level per category and indicator in each year a scale reads its result."""
    results = session.scalars(
        select(ResultRecord)
        .filter_by(office_id=office.id)
        .order_by(ResultRecord.category, ResultRecord.indicator, ResultRecord.fiscal_year)
    ).all()
    scales = all_scales(session, {r.fiscal_year for r in results})
    rows: dict[tuple[str, str], IndicatorLevels] = {}
    years: set[int] = set()
    for r in results:
        scale = scales.of(r.fiscal_year, r.category, r.indicator)
        if scale is None:
            continue
        item = rows.setdefault(
            (r.category, r.indicator), IndicatorLevels(r.category, r.indicator, r.unit, {})
        )
        item.cells[r.fiscal_year] = LevelCell(r.value, level_of(scale, r.value), scale)
        years.add(r.fiscal_year)
    order = {c: n for n, c in enumerate(RESULT_CATEGORIES)}
    return sorted(years), sorted(rows.values(), key=lambda i: (order[i.category], i.indicator))


# --- shares ----------------------------------------------------------------------------------


def percent(part: int, whole: int) -> Decimal:
    """part/whole in per cent, cut (not rounded) to two decimals, as OBEC writes it: 242 of
    245 is 98.77, never 100.00 unless all are; anything above none shows at least 0.01."""
    if whole <= 0:
        return Decimal("0.00")
    cents = part * 10_000 // whole
    if part > 0 and cents == 0:
        cents = 1
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


@dataclass
class Share:
    key: str  # "all" or the cluster number
    label_th: str
    label_en: str
    offices: int
    with_result: int = 0
    at_or_above: int = 0
    out_of_range: int = 0

    @property
    def percent(self) -> Decimal:
        return percent(self.at_or_above, self.offices)

    @property
    def percent_of_results(self) -> Decimal:
        return percent(self.at_or_above, self.with_result)

    @property
    def below(self) -> int:
        return self.with_result - self.at_or_above - self.out_of_range

    @property
    def no_result(self) -> int:
        return self.offices - self.with_result


@dataclass
class ShareReport:
    fiscal_year: int
    category: str
    indicator: str
    scale: LevelScale | None
    level: PerformanceLevel | None
    national: Share | None = None
    clusters: list[Share] = field(default_factory=list)


def choices(session: Session) -> dict[int, list[tuple[str, str]]]:
    """Per fiscal year, the (category, indicator) pairs with results and a scale to read them."""
    pairs = session.execute(
        select(ResultRecord.fiscal_year, ResultRecord.category, ResultRecord.indicator).distinct()
    ).all()
    scales = all_scales(session)
    out: dict[int, list[tuple[str, str]]] = {}
    order = {c: n for n, c in enumerate(RESULT_CATEGORIES)}
    for year, category, indicator in pairs:
        if scales.of(year, category, indicator) is not None:
            out.setdefault(year, []).append((category, indicator))
    for found in out.values():
        found.sort(key=lambda p: (order[p[0]], p[1]))
    return dict(sorted(out.items(), reverse=True))


def shares(
    session: Session, year: int, category: str, indicator: str, position: int
) -> ShareReport:
    """Offices at or above the level at `position` of the year's scale, nationally and per
    cluster. The whole is every office (an office with no result is not at the level)."""
    scale = all_scales(session, [year]).of(year, category, indicator)
    report = ShareReport(year, category, indicator, scale, None)
    if scale is None:
        return report
    level = next((lv for lv in scale.levels if lv.position == position), None)
    report.level = level
    if level is None:
        return report
    values = dict(
        session.execute(
            select(ResultRecord.office_id, ResultRecord.value).filter_by(
                fiscal_year=year, category=category, indicator=indicator
            )
        ).all()
    )
    clusters = {
        c.no: Share(str(c.no), c.name_th, c.name_en, 0)
        for c in session.scalars(select(Cluster).order_by(Cluster.no))
    }
    national = Share("all", "ทั้งประเทศ", "Nationwide", 0)
    for office_id, cluster_no in session.execute(select(Office.id, Office.cluster_no)):
        targets = [national] + ([clusters[cluster_no]] if cluster_no in clusters else [])
        value = values.get(office_id)
        reached = level_of(scale, value)
        for share in targets:
            share.offices += 1
            if value is not None:
                share.with_result += 1
                if reached is None:
                    share.out_of_range += 1
                elif reached.position <= position:
                    share.at_or_above += 1
    report.national = national
    report.clusters = [c for c in clusters.values() if c.offices]
    return report


def trend(session: Session, category: str, indicator: str, position: int) -> list[ShareReport]:
    """The shares at or above the level at `position`, in every year with a scale for it."""
    years = sorted(
        set(
            session.scalars(
                select(ResultRecord.fiscal_year)
                .filter_by(category=category, indicator=indicator)
                .distinct()
            )
        )
    )
    scales = all_scales(session, years)
    return [
        shares(session, year, category, indicator, position)
        for year in years
        if scales.of(year, category, indicator) is not None
    ]


def cluster_names(session: Session) -> list[tuple[int, str, str]]:
    return [
        (c.no, c.name_th, c.name_en) for c in session.scalars(select(Cluster).order_by(Cluster.no))
    ]


SHARE_COLUMNS: Final = (
    "fiscal_year",
    "category",
    "indicator",
    "level",
    "area",
    "offices",
    "with_result",
    "at_or_above",
    "below",
    "out_of_range",
    "no_result",
    "percent",
)


def share_rows(report: ShareReport, thai: bool) -> list[list[Any]]:
    if report.national is None or report.level is None:
        return []
    name = report.level.name_th if thai else report.level.name_en
    return [
        [
            report.fiscal_year,
            report.category,
            report.indicator,
            name,
            s.label_th if thai else s.label_en,
            s.offices,
            s.with_result,
            s.at_or_above,
            s.below,
            s.out_of_range,
            s.no_result,
            str(s.percent),
        ]
        for s in [report.national, *report.clusters]
    ]


def level_names(scale: LevelScale | None) -> Sequence[PerformanceLevel]:
    return list(scale.levels) if scale is not None else []
