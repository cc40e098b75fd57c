"""Reading CSV/XLSX tables with a row-and-column report, importing schools, and office counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any, Final

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from geo.validate import in_thailand

from ..models import Office, OfficeStats, School
from .audit import Actor, emit_change, record
from .errors import N_, ServiceError
from .review import require
from .sanitize import clean_text

MAX_TABLE_BYTES: Final = 5 * 1024 * 1024
MAX_ROWS: Final = 50_000
MAX_PROBLEMS: Final = 200
SCHOOL_COLUMNS: Final = ("code", "name_th", "amphoe_th", "level", "lat", "lon")
SCHOOL_REQUIRED: Final = ("code", "name_th")
_SCHOOL_CODE = re.compile(r"[0-9A-Za-z-]{1,20}")


@dataclass(frozen=True)
class Problem:
    """One reason a file was refused: `row` 1 is the header line, data starts at 2."""

    row: int
    column: str
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


class ImportRejected(ServiceError):
    """Nothing was loaded; `problems` says where and why."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        msgid = N_("%(file)s was not loaded: %(n)s problem(s), listed below. Nothing was changed.")
        super().__init__(400, msgid, file=filename, n=len(problems))
        self.filename = filename
        self.problems = problems[:MAX_PROBLEMS]


@dataclass
class Table:
    filename: str
    rows: list[tuple[int, dict[str, str]]]  # (row number in the file, column → text)


def read_table(data: bytes, filename: str, columns: tuple[str, ...],
               required: tuple[str, ...]) -> Table:  # fmt: skip
    """A CSV (UTF-8, or Thai Windows cp874) or XLSX file as text cells, or ImportRejected."""
    name = (filename or "").strip() or "upload"
    if len(data) > MAX_TABLE_BYTES:
        raise ImportRejected(name, [Problem(0, "", N_("The file is larger than %(n)s MB."),
                                            {"n": MAX_TABLE_BYTES // (1024 * 1024)})])  # fmt: skip
    lower = name.lower()
    if lower.endswith(".xlsx"):
        raw = _xlsx_rows(data, name)
    elif lower.endswith(".csv"):
        raw = _csv_rows(data, name)
    else:
        raise ImportRejected(name, [Problem(0, "", N_("Upload a .csv or .xlsx file."))])
    if not raw:
        raise ImportRejected(name, [Problem(1, "", N_("The file is empty."))])
    header = [str(h or "").strip().lower().lstrip("\ufeff") for h in raw[0]]
    problems = [Problem(1, c, N_("Unknown column; the columns are %(columns)s."),
                        {"columns": ", ".join(columns)})
                for c in header if c and c not in columns]  # fmt: skip
    problems += [Problem(1, c, N_("Required column is missing.")) for c in required
                 if c not in header]  # fmt: skip
    seen: set[str] = set()
    for c in header:
        if c and c in seen:
            problems.append(Problem(1, c, N_("The column appears twice.")))
        seen.add(c)
    if problems:
        raise ImportRejected(name, problems)
    if len(raw) - 1 > MAX_ROWS:
        raise ImportRejected(name, [Problem(0, "", N_("The file has more than %(n)s rows."),
                                            {"n": MAX_ROWS})])  # fmt: skip
    rows = []
    for number, cells in enumerate(raw[1:], start=2):
        values = {c: _cell_text(cells[i]) if i < len(cells) else "" for i, c in enumerate(header)
                  if c}  # fmt: skip
        if any(values.values()):  # blank lines at the end of a sheet are common
            rows.append((number, values))
    return Table(name, rows)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 1234567890 as 1234567890.0
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(data: bytes, name: str) -> list[list[str]]:
    if b"\x00" in data[:4096]:
        raise ImportRejected(name, [Problem(0, "", N_("This is not a text (CSV) file."))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Excel on Thai Windows saves CSV as TIS-620/cp874 unless told otherwise.
            text = data.decode("cp874")
        except UnicodeDecodeError as exc:
            raise ImportRejected(name, [Problem(0, "", N_("Save the CSV as UTF-8."))]) from exc
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise ImportRejected(name, [Problem(0, "", N_("The CSV cannot be read: %(reason)s."),
                                            {"reason": str(exc)})]) from exc  # fmt: skip


def _xlsx_rows(data: bytes, name: str) -> list[list[Any]]:
    from openpyxl import load_workbook

    if not data.startswith(b"PK\x03\x04"):
        raise ImportRejected(name, [Problem(0, "", N_("This is not an XLSX workbook."))])
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter here.
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                rows = [list(r) for r in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
            finally:
                book.close()
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
        raise ImportRejected(name, [Problem(0, "", N_("The workbook cannot be read."))]) from exc
    return rows


def parse_number(text: str) -> float | None:
    """A decimal number; commas as thousands separators are accepted. ValueError otherwise."""
    cleaned = text.replace(",", "").strip()
    if not cleaned:
        return None
    number = float(cleaned)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number


# --- schools ---------------------------------------------------------------------------------


@dataclass
class SchoolImport:
    count: int
    created: int
    updated: int
    removed: int


def _school_row(number: int, row: dict[str, str], problems: list[Problem]) -> dict[str, Any]:
    code = row.get("code", "")
    if not _SCHOOL_CODE.fullmatch(code):
        problems.append(Problem(number, "code", N_("A school code is 1 to 20 letters or digits.")))
    out: dict[str, Any] = {"code": code}
    for col, limit in (("name_th", 300), ("amphoe_th", 100), ("level", 100)):
        value = clean_text(row.get(col, ""), max_length=limit * 4)
        if len(value) > limit:
            problems.append(Problem(number, col, N_("Longer than %(n)s characters."), {"n": limit}))
        out[col] = value
    if not out["name_th"]:
        problems.append(Problem(number, "name_th", N_("The school's name is missing.")))
    lat_s, lon_s = row.get("lat", ""), row.get("lon", "")
    out["point"] = None
    if lat_s or lon_s:
        try:
            lat, lon = parse_number(lat_s), parse_number(lon_s)
        except ValueError:
            lat = lon = None
            bad = "lat" if not _is_number(lat_s) else "lon"
            problems.append(Problem(number, bad, N_("Not a number in decimal degrees.")))
        else:
            if lat is None or lon is None:
                problems.append(Problem(number, "lat" if lat is None else "lon",
                                        N_("Give both lat and lon, or neither.")))  # fmt: skip
            elif not in_thailand(lon, lat):
                problems.append(Problem(number, "lat", N_("(%(lat)s, %(lon)s) is outside "
                                                          "Thailand; are lat and lon swapped?"),
                                        {"lat": lat, "lon": lon}))  # fmt: skip
            else:
                out["point"] = (lon, lat)
    return out


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def import_schools(
    session: Session, actor: Actor, office: Office, filename: str, data: bytes
) -> SchoolImport:
    """Replace the office's school list with the file's, all or nothing."""
    require(actor, "import_office_data", office.id)
    table = read_table(data, filename, SCHOOL_COLUMNS, SCHOOL_REQUIRED)
    problems: list[Problem] = []
    parsed: dict[str, dict[str, Any]] = {}
    first_seen: dict[str, int] = {}
    for number, row in table.rows:
        school = _school_row(number, row, problems)
        code = school["code"]
        if code in first_seen:
            problems.append(Problem(number, "code", N_("Code %(code)s is also on row %(row)s."),
                                    {"code": code, "row": first_seen[code]}))  # fmt: skip
            continue
        first_seen[code] = number
        parsed[code] = school
    elsewhere = dict(session.execute(
        select(School.code, Office.code).join(Office, Office.id == School.office_id)
        .where(School.code.in_(list(parsed)), School.office_id != office.id)
    ).all()) if parsed else {}  # fmt: skip
    for code, other in elsewhere.items():
        problems.append(Problem(first_seen[code], "code",
                                N_("School %(code)s belongs to office %(office)s."),
                                {"code": code, "office": other}))  # fmt: skip
    if not parsed and not problems:
        problems.append(Problem(2, "", N_("The file has no school rows.")))
    if problems:
        raise ImportRejected(table.filename, sorted(problems, key=lambda p: (p.row, p.column)))
    existing = {s.code: s for s in session.scalars(select(School).filter_by(office_id=office.id))}
    removed = [code for code in existing if code not in parsed]
    if removed:
        session.execute(delete(School).where(School.office_id == office.id,
                                             School.code.in_(removed)))  # fmt: skip
    created = updated = 0
    for code, row in parsed.items():
        school = existing.get(code)
        if school is None:
            school = School(office_id=office.id, code=code)
            session.add(school)
            created += 1
        else:
            updated += 1
        school.name_th, school.amphoe_th, school.level = (
            row["name_th"],
            row["amphoe_th"],
            row["level"],
        )
        school.geom = from_shape(Point(*row["point"]), srid=4326) if row["point"] else None
    session.flush()
    result = SchoolImport(len(parsed), created, updated, len(removed))
    record(session, actor, "schools.import", "office", office.code, office_id=office.id,
           after={"file": table.filename, **result.__dict__})  # fmt: skip
    emit_change(session, "office.updated", office.code, {"fields": ["schools"]})
    return result


def school_count(session: Session, office_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(School).where(School.office_id == office_id)
    ) or 0  # fmt: skip


def school_counts(session: Session) -> dict[int, int]:
    return dict(session.execute(  # type: ignore[arg-type]
        select(School.office_id, func.count()).group_by(School.office_id)
    ).all())  # fmt: skip


def schools_of(session: Session, office_id: int) -> list[School]:
    return list(session.scalars(select(School).filter_by(office_id=office_id)
                                .order_by(School.amphoe_th, School.name_th)))  # fmt: skip


# --- teacher, student and staff counts ---------------------------------------------------------

STAT_FIELDS: Final = ("schools", "teachers", "students", "staff")


def save_stats(
    session: Session, actor: Actor, office: Office, as_of: str, counts: dict[str, Any]
) -> OfficeStats:
    """Record counts typed by the office (source "manual"); the same date overwrites."""
    require(actor, "edit_profile", office.id)
    try:
        day = dt.date.fromisoformat(str(as_of or "").strip())
    except ValueError as exc:
        raise ServiceError(400, N_("As of: give a date such as 2024-06-10.")) from exc
    if day > actor.today_bangkok:
        raise ServiceError(400, N_("As of: the date is in the future."))
    values: dict[str, int | None] = {}
    for key in STAT_FIELDS:
        text = str(counts.get(key) or "").replace(",", "").strip()
        if text and not text.isdigit():
            raise ServiceError(400, N_("%(field)s must be a whole number, zero or more."),
                               field=key)  # fmt: skip
        values[key] = int(text) if text else None
    if all(v is None for v in values.values()):
        raise ServiceError(400, N_("Give at least one count."))
    row = session.scalars(
        select(OfficeStats).filter_by(office_id=office.id, source="manual", as_of=day)
    ).first()
    before = {k: getattr(row, k) for k in STAT_FIELDS} if row else None
    if row is None:
        row = OfficeStats(office_id=office.id, source="manual", as_of=day)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    record(session, actor, "stats.save", "office_stats", row.id, office_id=office.id,
           before=before, after={"as_of": day.isoformat(), **values})  # fmt: skip
    emit_change(session, "office.updated", office.code, {"fields": ["stats"]})
    return row


def latest_stats(session: Session, office_id: int) -> OfficeStats | None:
    return session.scalars(
        select(OfficeStats).filter_by(office_id=office_id)
        .order_by(OfficeStats.as_of.desc(), OfficeStats.id.desc()).limit(1)
    ).first()  # fmt: skip


def latest_stats_all(session: Session) -> dict[int, OfficeStats]:
    out: dict[int, OfficeStats] = {}
    for row in session.scalars(select(OfficeStats).order_by(OfficeStats.as_of, OfficeStats.id)):
        out[row.office_id] = row  # later dates overwrite earlier ones
    return out
