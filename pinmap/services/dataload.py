"""Validating and loading the reference data files (data/*.csv) into the database.

Every file is checked in full before anything is written; errors name file, line and reason.
What only the database can tell (a point in no imported province, a removed item that has
reports) is refused by `load`, inside the caller's transaction, which then rolls back.
Loading is an upsert by natural key, so loading the same files twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import Float, String, column, func, select
from sqlalchemy import values as sql_values
from sqlalchemy.orm import Session

from geo.validate import in_thailand

from ..fiscal import fiscal_year_bounds
from ..models import (
    DEFAULT_FIELDS,
    ITEM_KINDS,
    LOCATION_PRECISIONS,
    OFFICE_KINDS,
    SET_CODE_PATTERN,
    Cluster,
    ClusterMove,
    DataLoad,
    FiscalYear,
    ItemSet,
    Office,
    OfficeProvince,
    PolicyDimension,
    PolicyItem,
    Province,
    ReportingWindow,
)
from ..shapes import point_of
from ..tables import LineProblem, csv_dict_records, unescape_cell
from .audit import Actor, emit_change
from .catalogue import (
    CSV_COLUMNS,
    MAX_ERRORS,
    CatalogueFileError,
    apply_catalogue,
    check_catalogue,
    ensure_item_sets,
    item_values,
)
from .catalogue import assign as _assign
from .catalogue import parse_int as _int
from .errors import ServiceError
from .profiles import offices_with_approved_pin

FILES = (
    "clusters.csv",
    "provinces.csv",
    "offices.csv",
    "policy_items.csv",
    "item_sets.csv",
    "reporting_windows.csv",
)
COLUMNS = {
    "clusters.csv": ["cluster_no", "name_th", "name_en"],
    "provinces.csv": ["code", "name_th", "name_en", "cluster_no"],
    "offices.csv": [
        "code",
        "kind",
        "name_th",
        "name_full_th",
        "name_en",
        "provinces_th",
        "office_province_th",
        "office_amphoe_th",
        "lat",
        "lon",
        "location_precision",
        "cluster_no",
        "source_note",
    ],
    "policy_items.csv": CSV_COLUMNS,
    "item_sets.csv": ["fiscal_year", "code", "position", "title_th", "title_en", "source_note"],
    "reporting_windows.csv": [
        "fiscal_year",
        "round_no",
        "label_th",
        "label_en",
        "opens_on",
        "closes_on",
    ],
}
OFFICE_CODE = re.compile(r"sp[pm]-[a-z0-9-]+")


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class DataFileError(ValueError):
    """One or more data files are invalid; `errors` lists each with file, line and reason."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "\n".join(str(e) for e in errors[:MAX_ERRORS])
        more = f"\n… and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        super().__init__(f"{len(errors)} error(s); nothing was loaded:\n{shown}{more}")


@dataclass
class LoadSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    kept_not_in_file: list[str] = field(default_factory=list)
    changed_offices: list[str] = field(default_factory=list)
    # Offices whose pin or cluster people changed in the app: the file does not undo that.
    kept_app_changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (
            any(self.created.values()) or any(self.updated.values()) or any(self.deleted.values())
        )

    def bump(self, bucket: dict[str, int], table: str) -> None:
        bucket[table] = bucket.get(table, 0) + 1


def _undecodable_lines(raw: bytes) -> list[tuple[int, UnicodeDecodeError]]:
    """(line, error) of every line that is not UTF-8, numbered as a text editor shows them."""
    found = []
    for line, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            found.append((line, exc))
    return found


def _rows(path: Path, errors: list[RowError]) -> Iterator[tuple[int, dict[str, str]]]:
    name = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        errors.append(RowError(name, 0, f"file not found: {path}"))
        return
    # Decoded whole, before parsing: a streaming decoder fails a whole buffer ahead of the CSV
    # reader, which then names a line far before the bad byte.
    bad = _undecodable_lines(raw)
    if bad:
        for line, exc in bad[:MAX_ERRORS]:
            byte = exc.object[exc.start : exc.start + 1].hex()
            errors.append(
                RowError(
                    name, line, f"not UTF-8: byte 0x{byte} at byte {exc.start + 1} of the line"
                )
            )
        return
    problems: list[LineProblem] = []
    for line, row in csv_dict_records(raw.decode("utf-8"), COLUMNS[name], problems):
        # Reported in line order, between the rows' own problems.
        errors.extend(RowError(name, p.line, p.reason) for p in problems)
        problems.clear()
        yield line, row
    errors.extend(RowError(name, p.line, p.reason) for p in problems)


@dataclass
class ParsedData:
    clusters: dict[int, dict[str, str]]
    provinces: dict[str, dict[str, str]]
    # Parsed rows hold values of several types (text, numbers, dates, lists) under their keys.
    offices: dict[str, dict[str, Any]]
    dimensions: list[dict[str, Any]]
    items: list[dict[str, Any]]
    windows: list[dict[str, Any]]
    files: dict[str, str]
    item_sets: list[dict[str, Any]] = field(default_factory=list)


def parse_data_dir(data_dir: Path) -> ParsedData:
    """Read and validate all reference files; raise DataFileError listing every problem."""
    errors: list[RowError] = []

    clusters: dict[int, dict[str, str]] = {}
    for line, row in _rows(data_dir / "clusters.csv", errors):
        no = _int(row["cluster_no"])
        if no is None or not 1 <= no <= 99:
            errors.append(RowError("clusters.csv", line, f"bad cluster_no {row['cluster_no']!r}"))
        elif no in clusters:
            errors.append(RowError("clusters.csv", line, f"duplicate cluster_no {no}"))
        elif not row["name_th"]:
            errors.append(RowError("clusters.csv", line, "empty name_th"))
        else:
            clusters[no] = row

    provinces: dict[str, dict[str, str]] = {}
    province_by_name: dict[str, str] = {}
    for line, row in _rows(data_dir / "provinces.csv", errors):
        code, name = row["code"], row["name_th"]
        if not re.fullmatch(r"\d{2}", code):
            errors.append(RowError("provinces.csv", line, f"bad DOPA province code {code!r}"))
        elif code in provinces:
            errors.append(RowError("provinces.csv", line, f"duplicate code {code}"))
        elif name in province_by_name:
            errors.append(RowError("provinces.csv", line, f"duplicate name_th {name}"))
        elif _int(row["cluster_no"]) not in clusters:
            errors.append(RowError("provinces.csv", line, f"unknown cluster {row['cluster_no']!r}"))
        else:
            provinces[code] = {**row, "line": str(line)}
            province_by_name[name] = code

    offices: dict[str, dict[str, Any]] = {}
    names: set[str] = set()
    for line, row in _rows(data_dir / "offices.csv", errors):

        def bad(reason: str, line: int = line) -> None:
            errors.append(RowError("offices.csv", line, reason))

        code = row["code"]
        if not OFFICE_CODE.fullmatch(code):
            bad(f"bad office code {code!r} (expected spp-… or spm-…)")
            continue
        if code in offices:
            bad(f"duplicate code {code}")
            continue
        if row["name_th"] in names:
            bad(f"duplicate name_th {row['name_th']}")
            continue
        if row["kind"] not in OFFICE_KINDS:
            bad(f"kind must be one of {', '.join(OFFICE_KINDS)}, not {row['kind']!r}")
            continue
        if not row["name_th"] or not row["name_full_th"] or not row["name_en"]:
            bad("name_th, name_full_th and name_en must not be empty")
            continue
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except ValueError:
            bad(f"lat/lon must be decimal degrees, got {row['lat']!r}, {row['lon']!r}")
            continue
        if not in_thailand(lon, lat):
            bad(f"coordinate lat={lat}, lon={lon} is outside Thailand")
            continue
        if row["location_precision"] not in LOCATION_PRECISIONS:
            bad(f"location_precision must be one of {', '.join(LOCATION_PRECISIONS)}")
            continue
        covered = [p.strip() for p in row["provinces_th"].split("|") if p.strip()]
        unknown = [p for p in covered + [row["office_province_th"]] if p not in province_by_name]
        if not covered or unknown:
            bad(f"unknown province {', '.join(unknown) or '(none given)'}")
            continue
        cluster_no = _int(row["cluster_no"])
        if cluster_no not in clusters:
            bad(f"unknown cluster {row['cluster_no']!r}")
            continue
        # An office belongs to the cluster of the province its building is in (data/README.md);
        # a covered province may lie in another cluster (spm-uthaithani-chainat does).
        home = provinces[province_by_name[row["office_province_th"]]]
        if _int(home["cluster_no"]) != cluster_no:
            bad(
                f"cluster_no {cluster_no} differs from cluster {home['cluster_no']} of "
                f"{home['name_th']}, the office's province (provinces.csv:{home['line']})"
            )
            continue
        names.add(row["name_th"])
        offices[code] = {
            **row,
            "line": line,
            "lat": lat,
            "lon": lon,
            "cluster_no": cluster_no,
            "province_codes": [province_by_name[p] for p in covered],
            "office_province_code": province_by_name[row["office_province_th"]],
        }

    dimensions: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    seen_items: set[tuple[int, str, int]] = set()
    dim_keys: dict[tuple[int, str], int] = {}
    item_rows = list(_rows(data_dir / "policy_items.csv", errors))
    for line, row in item_rows:
        fy, no = _int(row["fiscal_year"]), _int(row["no"])
        if fy is None or not 2500 <= fy <= 2700:
            errors.append(RowError("policy_items.csv", line, "fiscal_year must be a BE year"))
            continue
        if no is None or no < 1:
            errors.append(RowError("policy_items.csv", line, f"bad item number {row['no']!r}"))
            continue
        if row["verified"] not in ("yes", "no"):
            errors.append(RowError("policy_items.csv", line, "verified must be yes or no"))
            continue
        key = (fy, row["kind"], no)
        if key in seen_items:
            errors.append(RowError("policy_items.csv", line, f"duplicate {row['kind']} {no}"))
            continue
        seen_items.add(key)
        record = {
            **row,
            "line": line,
            "fiscal_year": fy,
            "no": no,
            "verified": row["verified"] == "yes",
        }
        if row["kind"] == "dimension":
            dim_keys[(fy, row["dimension"])] = no
            dimensions.append(record)
        elif row["kind"] in ITEM_KINDS:
            items.append(record)
        else:
            errors.append(RowError("policy_items.csv", line, f"unknown kind {row['kind']!r}"))
    for line, row in item_rows:
        fy = _int(row["fiscal_year"])
        if row["kind"] == "policy" and fy is not None and (fy, row["dimension"]) not in dim_keys:
            errors.append(
                RowError("policy_items.csv", line, f"unknown dimension {row['dimension']!r}")
            )

    item_sets: list[dict[str, Any]] = []
    seen_sets: set[tuple[int, str]] = set()
    for line, row in _rows(data_dir / "item_sets.csv", errors):
        fy, position = _int(row["fiscal_year"]), _int(row["position"])
        if fy is None or not 2500 <= fy <= 2700:
            errors.append(RowError("item_sets.csv", line, "fiscal_year must be a BE year"))
        elif not re.fullmatch(SET_CODE_PATTERN, row["code"]):
            errors.append(RowError("item_sets.csv", line, f"bad set code {row['code']!r}"))
        elif (fy, row["code"]) in seen_sets:
            errors.append(RowError("item_sets.csv", line, f"duplicate set {row['code']}"))
        elif position is None or not 1 <= position <= 99:
            errors.append(RowError("item_sets.csv", line, f"bad position {row['position']!r}"))
        elif not row["title_th"] or not row["title_en"]:
            errors.append(RowError("item_sets.csv", line, "title_th and title_en are required"))
        else:
            seen_sets.add((fy, row["code"]))
            item_sets.append({**row, "fiscal_year": fy, "position": position, "line": line})

    windows: list[dict[str, Any]] = []
    seen_rounds: set[tuple[int, int]] = set()
    years = {int(r["fiscal_year"]) for r in dimensions + items}
    for line, row in _rows(data_dir / "reporting_windows.csv", errors):

        def wbad(reason: str, line: int = line) -> None:
            errors.append(RowError("reporting_windows.csv", line, reason))

        fy, rnd = _int(row["fiscal_year"]), _int(row["round_no"])
        if fy is None or fy not in years:
            wbad(f"fiscal year {row['fiscal_year']!r} has no policy items")
            continue
        if rnd is None or not 1 <= rnd <= 12:
            wbad(f"bad round_no {row['round_no']!r}")
            continue
        if (fy, rnd) in seen_rounds:
            wbad(f"duplicate round {rnd}")
            continue
        try:
            opens, closes = (
                dt.date.fromisoformat(row["opens_on"]),
                dt.date.fromisoformat(row["closes_on"]),
            )
        except ValueError:
            wbad("opens_on and closes_on must be dates (YYYY-MM-DD, Gregorian)")
            continue
        starts, ends = fiscal_year_bounds(fy)
        if not starts <= opens <= closes <= ends:
            wbad(f"window {opens}..{closes} is not inside fiscal year {fy} ({starts}..{ends})")
            continue
        seen_rounds.add((fy, rnd))
        windows.append(
            {**row, "fiscal_year": fy, "round_no": rnd, "opens_on": opens, "closes_on": closes}
        )

    if errors:
        raise DataFileError(errors)
    files = {name: hashlib.sha256((data_dir / name).read_bytes()).hexdigest() for name in FILES}
    return ParsedData(clusters, provinces, offices, dimensions, items, windows, files, item_sets)


def _create_catalogue(session: Session, data: ParsedData, fy: int, s: LoadSummary) -> None:
    """A year's first catalogue: it replaces nothing, so it is added as it stands, unaudited
    like the rest of a first load (the DataLoad row records it)."""
    dims: dict[str, PolicyDimension] = {}
    for row in (r for r in data.dimensions if r["fiscal_year"] == fy):
        key = str(row["dimension"])
        dims[key] = PolicyDimension(
            fiscal_year=fy,
            key=key,
            no=row["no"],
            title_th=row["title_th"],
            title_en=row["title_en"],
        )
        session.add(dims[key])
        s.bump(s.created, "policy_dimensions")
    session.flush()
    rows = [r for r in data.items if r["fiscal_year"] == fy]
    sets = ensure_item_sets(session, fy, {str(r["kind"]) for r in rows})
    for row in rows:
        session.add(
            PolicyItem(
                fiscal_year=fy,
                kind=row["kind"],
                no=str(row["no"]),
                set_id=sets[str(row["kind"])].id,
                fields=list(DEFAULT_FIELDS),
                rounds=[],
                retired=False,
                **item_values(row, dims),
            )
        )
        s.bump(s.created, "policy_items")


def _replace_catalogue(
    session: Session, actor: Actor, data: ParsedData, fy: int, s: LoadSummary
) -> None:
    """Replace fiscal year `fy`'s catalogue through the admin import, so both refuse alike.

    The import refuses to drop items that have progress reports and parks dimension numbers
    while renumbering; its refusals come back as DataFileError naming policy_items.csv lines.
    Like an admin's upload, a change is audited (by no user: the command line).
    """
    rows = sorted(
        (r for r in data.dimensions + data.items if r["fiscal_year"] == fy),
        key=lambda r: int(r["line"]),
    )
    # The admin import reads its cells through unescape_cell; the data file's go the same way.
    texts = [
        (
            int(r["line"]),
            {
                c: unescape_cell(("yes" if r[c] else "no") if c == "verified" else str(r[c]))
                for c in CSV_COLUMNS
            },
        )
        for r in rows
    ]
    try:
        summary = apply_catalogue(session, actor, check_catalogue(texts))
    except CatalogueFileError as err:
        raise DataFileError(
            [
                RowError("policy_items.csv", e.line, e.msgid % e.params if e.params else e.msgid)
                for e in err.errors
            ]
        ) from err
    except ServiceError as err:
        # A removed item has no line of its own: name the year's first line in the file.
        reason = err.msgid % err.params if err.params else err.msgid
        raise DataFileError(
            [RowError("policy_items.csv", texts[0][0], f"fiscal year {fy}: {reason}")]
        ) from err
    for bucket, entries in (
        (s.created, summary.created),
        (s.updated, summary.updated),
        (s.deleted, summary.deleted),
    ):
        for entry in entries:
            s.bump(
                bucket, "policy_dimensions" if entry.startswith("dimension ") else "policy_items"
            )


def check_points_in_provinces(session: Session, data: ParsedData) -> list[RowError]:
    """Offices whose point lies in no province polygon, once every province has its boundary.

    Before `boundaries import` (a fresh database loads data first) the bounding-box check of
    parse_data_dir is all there is; with only some provinces imported, a point outside them
    may still be in Thailand, so nothing is refused either.
    """
    total, with_geom = session.execute(select(func.count(), func.count(Province.geom))).one()
    if not data.offices or not total or with_geom < total:
        return []
    points = sql_values(
        column("code", String), column("lon", Float), column("lat", Float), name="points"
    ).data([(code, float(o["lon"]), float(o["lat"])) for code, o in data.offices.items()])
    point = func.ST_SetSRID(func.ST_MakePoint(points.c.lon, points.c.lat), 4326)
    inside = select(Province.code).where(
        Province.geom.is_not(None), func.ST_Intersects(Province.geom, point)
    )
    outside: Sequence[str] = session.scalars(select(points.c.code).where(~inside.exists())).all()
    return [
        RowError(
            "offices.csv",
            int(data.offices[code]["line"]),
            f"coordinate lat={data.offices[code]['lat']}, lon={data.offices[code]['lon']} "
            "is outside Thailand (in no imported province boundary)",
        )
        for code in sorted(outside, key=lambda c: int(data.offices[c]["line"]))
    ]


def load(session: Session, data: ParsedData, actor: Actor | None = None) -> LoadSummary:
    """Upsert parsed reference data. Adds and flushes; the caller commits once.

    Raises DataFileError for what only the database can tell (a point outside every imported
    province, a removed item that has reports); the caller's rollback then keeps everything.
    """
    outside = check_points_in_provinces(session, data)
    if outside:
        raise DataFileError(outside)
    s = LoadSummary()

    existing_clusters = {c.no: c for c in session.scalars(select(Cluster))}
    # Each loop names its own row: the files' rows differ in type (text, or parsed values).
    for no, cluster_row in data.clusters.items():
        values: dict[str, object] = {
            "name_th": cluster_row["name_th"],
            "name_en": cluster_row["name_en"],
        }
        if no in existing_clusters:
            if _assign(existing_clusters[no], values):
                s.bump(s.updated, "clusters")
        else:
            session.add(Cluster(no=no, **values))
            s.bump(s.created, "clusters")
    session.flush()

    existing_provinces = {p.code: p for p in session.scalars(select(Province))}
    for code, province_row in data.provinces.items():
        values = {
            "name_th": province_row["name_th"],
            "name_en": province_row["name_en"],
            "cluster_no": int(province_row["cluster_no"]),
        }
        if code in existing_provinces:
            if _assign(existing_provinces[code], values):
                s.bump(s.updated, "provinces")
        else:
            session.add(Province(code=code, **values))
            s.bump(s.created, "provinces")
    session.flush()

    existing_offices = {o.code: o for o in session.scalars(select(Office))}
    # The file seeds these; after an approved profile placed the pin, or a cluster move, the
    # app owns them (a reload at every `make run` must not quietly revert people's work).
    pin_set_in_app = offices_with_approved_pin(session)
    moved_in_app = set(session.scalars(select(ClusterMove.office_id)))
    for code, row in data.offices.items():
        values = {
            k: row[k]
            for k in (
                "kind",
                "name_th",
                "name_full_th",
                "name_en",
                "office_amphoe_th",
                "location_precision",
                "cluster_no",
                "office_province_code",
            )
        }
        values["location_note"] = row["source_note"]
        point = Point(float(row["lon"]), float(row["lat"]))
        office = existing_offices.get(code)
        if office is None:
            office = Office(code=code, geom=from_shape(point, srid=4326), **values)
            session.add(office)
            s.bump(s.created, "offices")
            changed = False
        else:
            kept = False
            if office.id in pin_set_in_app:
                for key in ("location_precision", "location_note"):
                    kept |= values.pop(key) != getattr(office, key)
                kept |= not to_shape(office.geom).equals_exact(point, 1e-9)
                point = point_of(office.geom)
            if office.id in moved_in_app:
                kept |= values.pop("cluster_no") != office.cluster_no
            if kept:
                s.kept_app_changes.append(code)
            changed = _assign(office, values)
            if not to_shape(office.geom).equals_exact(point, 1e-9):
                office.geom = from_shape(point, srid=4326)
                changed = True
        wanted = list(row["province_codes"])
        if [c.province_code for c in office.covered] != wanted:
            office.covered = [
                OfficeProvince(province_code=pc, position=i) for i, pc in enumerate(wanted)
            ]
            changed = code in existing_offices
        if changed:
            s.bump(s.updated, "offices")
            s.changed_offices.append(code)
    s.kept_not_in_file = sorted(set(existing_offices) - set(data.offices))
    session.flush()

    for fy in sorted({int(r["fiscal_year"]) for r in data.dimensions + data.items}):
        year = session.get(FiscalYear, fy)
        if year is None:
            starts, ends = fiscal_year_bounds(fy)
            session.add(FiscalYear(year_be=fy, starts_on=starts, ends_on=ends))
            s.bump(s.created, "fiscal_years")
            session.flush()
        has_catalogue = session.scalar(
            select(PolicyDimension.id)
            .filter_by(fiscal_year=fy)
            .union_all(select(PolicyItem.id).filter_by(fiscal_year=fy))
            .limit(1)
        )
        if has_catalogue is None:
            _create_catalogue(session, data, fy, s)
        else:
            _replace_catalogue(session, actor or Actor(None), data, fy, s)
    session.flush()

    # Sets are added and retitled from the file, never removed by it (an admin's may hold items).
    for row in data.item_sets:
        fy = int(row["fiscal_year"])
        if session.get(FiscalYear, fy) is None:
            starts, ends = fiscal_year_bounds(fy)
            session.add(FiscalYear(year_be=fy, starts_on=starts, ends_on=ends))
            s.bump(s.created, "fiscal_years")
            session.flush()
        values = {k: row[k] for k in ("position", "title_th", "title_en")}
        found = session.scalars(select(ItemSet).filter_by(fiscal_year=fy, code=row["code"])).first()
        if found is None:
            session.add(ItemSet(fiscal_year=fy, code=row["code"], **values))
            s.bump(s.created, "item_sets")
        elif _assign(found, values):
            s.bump(s.updated, "item_sets")
    session.flush()

    existing_windows = {
        (w.fiscal_year, w.round_no): w for w in session.scalars(select(ReportingWindow))
    }
    for row in data.windows:
        key3 = (int(row["fiscal_year"]), int(row["round_no"]))
        values = {k: row[k] for k in ("label_th", "label_en", "opens_on", "closes_on")}
        if key3 in existing_windows:
            if _assign(existing_windows[key3], values):
                s.bump(s.updated, "reporting_windows")
        else:
            session.add(ReportingWindow(fiscal_year=key3[0], round_no=key3[1], **values))
            s.bump(s.created, "reporting_windows")
    session.flush()

    for code in s.changed_offices:
        emit_change(session, "office.updated", code, {"source": "data load"})
    if s.changed:
        session.add(
            DataLoad(
                files=data.files,
                summary={"created": s.created, "updated": s.updated, "deleted": s.deleted},
            )
        )
        session.flush()
    return s
