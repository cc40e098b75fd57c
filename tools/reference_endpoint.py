"""A standalone HTTP server of generated ingest payloads, with fault switches, for dev and tests."""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import csv
import dataclasses
import hmac
import io
import json
import random
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NOTICE = "GENERATED REFERENCE DATA for pinmap development and tests — not real reports"
# HTTP header values are Latin-1, so the header carries an ASCII spelling of the notice.
NOTICE_HEADER = NOTICE.replace("—", "-")
HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_SEED = 2567
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 10_000
DEFAULT_UPDATED_AT = "2024-03-25T09:00:00+07:00"
FISCAL_YEAR = 2567
STATS_AS_OF = "2024-06-10"
STATS_COLUMNS = ("office_code", "as_of", "schools", "teachers", "students", "staff")
STATUSES = ("not_started", "on_plan", "plan_adjusted", "output_achieved")
PROGRESS_ROUTE, QUARTERLY_ROUTE, STATS_ROUTE = "/progress", "/quarterly", "/stats.csv"
DATA_ROUTES = (PROGRESS_ROUTE, QUARTERLY_ROUTE, STATS_ROUTE)
# Markers of the records that `unknown_refs` injects, so tests can pick them out of a feed.
UNKNOWN_OFFICE = "spp-atlantis"
UNKNOWN_ITEM = {"kind": "policy", "no": 42}
INVALID_ID_MARK = "/invalid-"
OUT_OF_ORDER_EVERY = 50
MAX_CONTROL_BODY = 64 * 1024

# --- fault switches -------------------------------------------------------------------------


@dataclasses.dataclass
class Faults:
    """Fault switches; all off by default. "first N" counts a route's authorised requests."""

    latency_ms: int = 0
    http500_every: int = 0
    http500_first: int = 0
    timeout_first: int = 0
    timeout_sleep_s: float = 30.0
    malformed_first: int = 0
    truncated_first: int = 0
    duplicates: bool = False
    out_of_order: bool = False
    unknown_refs: bool = False
    fail_always: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply `changes` after validating every one, so a bad request changes nothing."""
        defaults = Faults()
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in self.names():
                raise ValueError(f"unknown fault switch {name!r}")
            kind = type(getattr(defaults, name))
            # bool is an int subclass; JSON true must not pass as a count, nor 1 as a flag.
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            elif value < 0:
                raise ValueError(f"{name} must be >= 0")
            elif kind is int and value != int(value):
                raise ValueError(f"{name} must be a whole number")
            checked[name] = kind(value)
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- reference catalogue --------------------------------------------------------------------


@lru_cache(maxsize=1)
def load_offices(data_dir: Path = DATA_DIR) -> tuple[tuple[str, str], ...]:
    """(code, Thai short name) of every office in data/offices.csv, in file order."""
    with (data_dir / "offices.csv").open(encoding="utf-8", newline="") as fh:
        return tuple((row["code"], row["name_th"]) for row in csv.DictReader(fh))


@lru_cache(maxsize=1)
def load_items(data_dir: Path = DATA_DIR) -> tuple[tuple[str, int, str], ...]:
    """(kind, no, Thai title) of the FY2567 policies and quick wins in data/policy_items.csv."""
    with (data_dir / "policy_items.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(
            (row["kind"], int(row["no"]), row["title_th"])
            for row in csv.DictReader(fh)
            if row["fiscal_year"] == str(FISCAL_YEAR) and row["kind"] in ("policy", "quick_win")
        )


# --- generated payloads ---------------------------------------------------------------------

_VERBS = (
    "จัดอบรมครูเรื่อง",
    "ประชุมเชิงปฏิบัติการเรื่อง",
    "นิเทศ ติดตามการดำเนินงานด้าน",
    "จัดกิจกรรมส่งเสริม",
    "พัฒนาสื่อและแหล่งเรียนรู้ด้าน",
)
_TOPICS = (
    "การจัดการเรียนรู้เชิงรุก (Active Learning)",
    "ความปลอดภัยในสถานศึกษา",
    "การอ่าน การเขียน และการคิดคำนวณ",
    "ประวัติศาสตร์ หน้าที่พลเมือง และศีลธรรม",
    "สมรรถนะผู้เรียนตามแนวทางการประเมิน PISA",
    "การเรียนรู้ผ่านแพลตฟอร์มดิจิทัล",
    "ระบบดูแลช่วยเหลือนักเรียน",
)
_WHERE = (
    "ณ โรงเรียนในสังกัด{office} จำนวน {n} โรง",
    "ณ ห้องประชุม{office}",
    "ออนไลน์ผ่านระบบประชุมทางไกล ร่วมกับโรงเรียนในสังกัด {n} โรง",
    "ณ โรงเรียนขยายโอกาสในพื้นที่{office} {n} แห่ง",
)
_HOW = (
    "แต่งตั้งคณะทำงาน จัดทำแผนปฏิบัติการ และติดตามผลรายเดือน",
    "ใช้กระบวนการชุมชนแห่งการเรียนรู้ทางวิชาชีพ (PLC) ร่วมกับศึกษานิเทศก์",
    "บูรณาการร่วมกับหน่วยงานในพื้นที่และเครือข่ายผู้ปกครอง",
    "นิเทศแบบออนไลน์และลงพื้นที่ติดตามผลในสถานศึกษา",
    "จัดทำคู่มือและสื่อประกอบการดำเนินงานให้โรงเรียนนำไปใช้",
)
_ADJUST_REASONS = (
    "การจัดสรรงบประมาณล่าช้า",
    "ตรงกับช่วงการสอบปลายภาคเรียน",
    "สถานการณ์อุทกภัยในพื้นที่",
    "วิทยากรไม่สามารถมาตามกำหนดเดิม",
)
_NO_ACTIVITY = (
    "รอการจัดสรรงบประมาณ",
    "อยู่ระหว่างจัดทำแผนปฏิบัติการ",
    "ติดภารกิจการสอบปลายภาคเรียน",
)
_WHEN = ("ภายในเดือนพฤษภาคม 2567", "ภาคเรียนที่ 1/2567", "ไตรมาสที่ 3 ปีงบประมาณ 2567")
_EVIDENCE_TITLES = (
    "ภาพกิจกรรม",
    "รายงานสรุปผลการดำเนินงาน",
    "คำสั่งแต่งตั้งคณะทำงาน",
    "บันทึกการนิเทศ",
    "แบบสรุปผลการประเมิน",
)
_PROJECTS = (
    "โครงการพัฒนาคุณภาพการจัดการเรียนรู้เชิงรุก (Active Learning)",
    "โครงการสถานศึกษาปลอดภัย (MOE Safety Center)",
    "โครงการส่งเสริมการอ่าน การเขียน และการคิดคำนวณ",
    "โครงการป้องกันและแก้ไขปัญหาเด็กออกกลางคัน (Zero Dropout)",
    "โครงการนิเทศ ติดตาม และประเมินผลการจัดการศึกษา",
    "โครงการยกระดับผลการประเมิน PISA",
    "โครงการพัฒนาครูด้วยกระบวนการ PLC",
)
_ACTIVITIES = (
    "ประชุมชี้แจงแนวทางการดำเนินงานแก่ผู้บริหารสถานศึกษา",
    "อบรมเชิงปฏิบัติการครูแกนนำ",
    "ลงพื้นที่นิเทศ ติดตาม ณ สถานศึกษา",
    "จัดกิจกรรมแลกเปลี่ยนเรียนรู้และนำเสนอผลงาน",
    "สรุปและรายงานผลการดำเนินงาน",
)
_MASTER_PLANS = (
    "แผนแม่บทภายใต้ยุทธศาสตร์ชาติ ประเด็น (12) การพัฒนาการเรียนรู้",
    "แผนแม่บทภายใต้ยุทธศาสตร์ชาติ ประเด็น (11) การพัฒนาศักยภาพคนตลอดช่วงชีวิต",
)
_NESDP13 = (
    "แผนพัฒนาเศรษฐกิจและสังคมแห่งชาติ ฉบับที่ 13 หมุดหมายที่ 12 "
    "ไทยมีกำลังคนสมรรถนะสูง มุ่งเรียนรู้อย่างต่อเนื่อง ตอบโจทย์การพัฒนาแห่งอนาคต"
)
_PROBLEMS = (
    "ไม่มีปัญหาอุปสรรค",
    "งบประมาณได้รับจัดสรรล่าช้า ควรเร่งรัดการโอนจัดสรร",
    "ครูมีภาระงานมาก ควรลดงานที่ไม่เกี่ยวข้องกับการสอน",
    "โรงเรียนขนาดเล็กขาดอุปกรณ์ดิจิทัล ควรสนับสนุนเพิ่มเติม",
)
_KIND_LABEL = {"policy": "นโยบาย", "quick_win": "จุดเน้น Quick Win"}


def _rng(seed: int, stream: str) -> random.Random:
    # Generated demo data, not secrets: a seeded PRNG is the point (reproducible feeds).
    return random.Random(f"{seed}:{stream}")  # noqa: S311 - deterministic test data


def _shift(timestamp: str, days: int) -> str:
    return (datetime.fromisoformat(timestamp) + timedelta(days=days)).isoformat()


def _indicator(rng: random.Random, status: str) -> dict[str, Any]:
    unit = rng.choice(("percent", "number"))
    target: float = rng.choice((80, 100)) if unit == "percent" else rng.randint(10, 300)
    share = {
        "not_started": 0.0,
        "on_plan": rng.uniform(0.3, 0.9),
        "plan_adjusted": rng.uniform(0.1, 0.6),
        "output_achieved": rng.uniform(1.0, 1.2),
    }[status]
    value: float | None = round(target * share, 1) if unit == "percent" else round(target * share)
    if unit == "percent" and value is not None:
        value = min(value, 100.0)
    if rng.random() < 0.05:
        # Some offices have not measured yet. A target without a value would be an incomplete
        # report, quarantined like a manual submission missing it, so both stay empty.
        return {"value": None, "target": None, "unit": unit}
    return {"value": value, "target": target, "unit": unit}


def _progress_record(
    rng: random.Random,
    office: tuple[str, str],
    item: tuple[str, int, str],
    round_no: int,
    updated_at: str,
    evidence_no: list[int],
) -> dict[str, Any]:
    code, office_name = office
    kind, no, _title = item
    status = rng.choices(STATUSES, weights=(10, 45, 15, 30))[0]
    topic = rng.choice(_TOPICS)
    schools = rng.randint(5, 60)
    what = f"{rng.choice(_VERBS)}{topic} ภายใต้{_KIND_LABEL[kind]} ข้อ {no}"
    where = rng.choice(_WHERE).format(office=f" {office_name}", n=schools)
    how = rng.choice(_HOW)
    if status == "not_started":
        result = "ยังไม่มีผลการดำเนินงานในรอบนี้"
    elif status == "on_plan":
        result = f"ดำเนินการแล้วร้อยละ {rng.randint(30, 90)} ของแผน ครูเข้าร่วม {rng.randint(20, 400)} คน"
    elif status == "plan_adjusted":
        reason, when = rng.choice(_ADJUST_REASONS), rng.choice(_WHEN)
        result = f"ปรับแผนการดำเนินงานเนื่องจาก{reason} คาดว่าจะแล้วเสร็จ{when}"
    else:
        result = f"บรรลุเป้าหมายผลผลิต ผู้เรียน {rng.randint(200, 9000):,} คนได้รับการพัฒนา"
    record: dict[str, Any] = {
        "id": f"{code}/{kind}-{no}/r{round_no}",
        "updated_at": updated_at,
        "office_code": code,
        "fiscal_year": FISCAL_YEAR,
        "item": {"kind": kind, "no": no},
        "round": round_no,
        "status": status,
        "narrative": {"what": what, "where": where, "how": how, "result": result},
    }
    if rng.random() < 0.7:
        record["indicator"] = _indicator(rng, status)
    if status == "not_started":
        record["no_activity"] = {"reason": rng.choice(_NO_ACTIVITY), "when": rng.choice(_WHEN)}
    else:
        evidence = []
        for _ in range(rng.randint(0, 3)):
            evidence_no[0] += 1
            evidence.append(
                {
                    "url": f"https://example.go.th/evidence/{evidence_no[0]}",
                    "title": rng.choice(_EVIDENCE_TITLES),
                }
            )
        if evidence:
            record["evidence"] = evidence
    return record


@lru_cache(maxsize=8)
def progress_records(seed: int, rounds: int, updated_at: str) -> tuple[dict[str, Any], ...]:
    """One record per office × item × round, in that order (round-major). Do not mutate."""
    rng = _rng(seed, "progress")
    evidence_no = [0]
    return tuple(
        _progress_record(rng, office, item, round_no, updated_at, evidence_no)
        for round_no in range(1, rounds + 1)
        for office in load_offices()
        for item in load_items()
    )


@lru_cache(maxsize=8)
def quarterly_records(seed: int, updated_at: str) -> tuple[dict[str, Any], ...]:
    """Two projects × four quarters per office, with cumulative budget disbursement."""
    rng = _rng(seed, "quarterly")
    records = []
    for code, office_name in load_offices():
        for project_no, project in enumerate(rng.sample(_PROJECTS, 2), start=1):
            planned = float(rng.randrange(50_000, 2_000_001, 1_000))
            shares = sorted(rng.uniform(lo, lo + 0.25) for lo in (0.0, 0.25, 0.5, 0.75))
            schools = rng.randint(10, 120)
            for quarter, share in enumerate(shares, start=1):
                disbursed = round(planned * share, 2)
                progress = min(100, quarter * 25 + rng.randint(-10, 0))
                points = {
                    "target_progress": (
                        f"ผลการดำเนินงานตามค่าเป้าหมาย ร้อยละ {progress} "
                        f"(เป้าหมายโรงเรียนในสังกัด {schools} โรง)"
                    ),
                    "activity_progress": f"ไตรมาสที่ {quarter}: {rng.choice(_ACTIVITIES)}",
                    "budget_disbursement": (
                        f"เบิกจ่ายแล้ว {disbursed:,.2f} บาท จากงบประมาณที่ได้รับจัดสรร "
                        f"{planned:,.2f} บาท (ร้อยละ {100 * share:.1f})"
                    ),
                    "master_plan": rng.choice(_MASTER_PLANS),
                    "nesdp13": _NESDP13,
                    "problems_suggestions": rng.choice(_PROBLEMS),
                }
                records.append(
                    {
                        "id": f"{code}/project-{project_no}/q{quarter}",
                        "updated_at": updated_at,
                        "office_code": code,
                        "fiscal_year": FISCAL_YEAR,
                        "quarter": quarter,
                        "project": f"{project} ปีงบประมาณ {FISCAL_YEAR} {office_name}",
                        "points": points,
                        "budget": {"planned": planned, "disbursed": disbursed},
                    }
                )
    return tuple(records)


def _newer_version(record: dict[str, Any]) -> dict[str, Any]:
    newer = copy.deepcopy(record)
    newer["updated_at"] = _shift(record["updated_at"], 1)
    if "narrative" in newer:
        newer["narrative"]["result"] = "ปรับปรุงข้อมูลล่าสุด: " + newer["narrative"]["result"]
    else:
        points = newer["points"]
        points["activity_progress"] = "ปรับปรุงข้อมูลล่าสุด: " + points["activity_progress"]
    return newer


def _with_out_of_order(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    # Every 50th record: the newer version takes its place, the older original comes at the end,
    # so a consumer sees the newer one first and must not let the older one overwrite it.
    feed: list[dict[str, Any]] = []
    older: list[dict[str, Any]] = []
    for index, record in enumerate(records, start=1):
        if index % OUT_OF_ORDER_EVERY == 0:
            feed.append(_newer_version(record))
            older.append(record)
        else:
            feed.append(record)
    return feed + older


def _invalid(record: dict[str, Any], label: str) -> dict[str, Any]:
    bad = copy.deepcopy(record)
    bad["id"] = f"{record['id']}{INVALID_ID_MARK}{label}"
    return bad


def _bad_progress(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    bad = []
    for record in records[:4]:
        ghost = copy.deepcopy(record)
        ghost["office_code"] = UNKNOWN_OFFICE
        ghost["id"] = ghost["id"].replace(record["office_code"], UNKNOWN_OFFICE, 1)
        bad.append(ghost)
    for record in records[: 4 * len(load_items()) : len(load_items())]:
        stray = copy.deepcopy(record)
        stray["item"] = dict(UNKNOWN_ITEM)
        stray["id"] = f"{record['office_code']}/policy-{UNKNOWN_ITEM['no']}/r{record['round']}"
        bad.append(stray)
    wrong_round = _invalid(records[5], "round")
    wrong_round["round"] = "one"
    wrong_year = _invalid(records[6], "fiscal_year")
    wrong_year["fiscal_year"] = str(FISCAL_YEAR)
    no_status = _invalid(records[7], "status")
    del no_status["status"]
    return [*bad, wrong_round, wrong_year, no_status]


def _bad_quarterly(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    bad = []
    for record in records[:3]:
        ghost = copy.deepcopy(record)
        ghost["office_code"] = UNKNOWN_OFFICE
        ghost["id"] = ghost["id"].replace(record["office_code"], UNKNOWN_OFFICE, 1)
        bad.append(ghost)
    wrong_quarter = _invalid(records[3], "quarter")
    wrong_quarter["quarter"] = "Q4"
    no_project = _invalid(records[4], "project")
    del no_project["project"]
    negative = _invalid(records[5], "budget")
    negative["budget"]["planned"] = -1000
    return [*bad, wrong_quarter, no_project, negative]


def _spread(feed: list[dict[str, Any]], extra: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    # Evenly spaced so the injected records land on several pages, not all on one.
    result = list(feed)
    for k in reversed(range(len(extra))):
        result.insert(len(feed) * (k + 1) // (len(extra) + 1), extra[k])
    return result


@lru_cache(maxsize=32)
def feed(
    route: str, seed: int, rounds: int, updated_at: str, out_of_order: bool, unknown_refs: bool
) -> tuple[dict[str, Any], ...]:
    """The full record sequence of a paginated route under the given feed-shaping switches."""
    if route == PROGRESS_ROUTE:
        base: Sequence[dict[str, Any]] = progress_records(seed, rounds, updated_at)
    else:
        base = quarterly_records(seed, updated_at)
    records = _with_out_of_order(base) if out_of_order else list(base)
    if unknown_refs:
        bad = _bad_progress(base) if route == PROGRESS_ROUTE else _bad_quarterly(base)
        records = _spread(records, bad)
    return tuple(records)


@lru_cache(maxsize=8)
def stats_csv(seed: int, unknown_refs: bool) -> bytes:
    """UTF-8 CSV, one row per office; `unknown_refs` appends rows the consumer must quarantine."""
    rng = _rng(seed, "stats")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATS_COLUMNS)
    offices = load_offices()
    for code, _name in offices:
        schools = rng.randint(50, 400)
        # Counts scale together so a big office is big on every column.
        teachers = max(500, min(4000, round(schools * rng.uniform(7.0, 12.0))))
        students = max(8000, min(80_000, round(teachers * rng.uniform(14.0, 20.0))))
        writer.writerow((code, STATS_AS_OF, schools, teachers, students, rng.randint(30, 120)))
    if unknown_refs:
        writer.writerow((UNKNOWN_OFFICE, STATS_AS_OF, 120, 1500, 22000, 60))
        writer.writerow((offices[0][0], "2024-06-11", "many", 1500, 22000, 60))
        writer.writerow((offices[1][0], "2024-06-11", 120, -5, 22000, 60))
        writer.writerow((offices[2][0], "2024-06-31", 120, 1500, 22000, 60))
    return out.getvalue().encode("utf-8")


# --- pagination -----------------------------------------------------------------------------


def encode_cursor(offset: int, page_size: int) -> str:
    raw = f"{offset}:{page_size}".encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        offset_text, size_text = raw.split(":")
        offset, page_size = int(offset_text), int(size_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("invalid cursor") from exc
    if offset < 0 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError("invalid cursor")
    return offset, page_size


# --- server ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Options:
    seed: int = DEFAULT_SEED
    rounds: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    updated_at: str = DEFAULT_UPDATED_AT
    token: str | None = None

    def __post_init__(self) -> None:
        if self.rounds not in (1, 2):
            raise ValueError("rounds must be 1 or 2 (FY2567 has two reporting rounds)")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        if datetime.fromisoformat(self.updated_at).tzinfo is None:
            raise ValueError("updated_at needs a UTC offset")


_COUNTER_KEYS = (
    "requests",
    "unauthorized",
    "ok",
    "bad_request",
    "http500",
    "timeouts",
    "malformed",
    "truncated",
)


class _BadRequest(Exception):
    pass


class Hold:
    """A gate tests control: one route's requests from the `first`-th on (after the latency,
    before any other fault) wait until `release()`, so a test acts while a run is exactly
    there (a page landed, the next one pending) instead of hoping a delay lines it up."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.route = ""
        self.first = 0  # 0: nothing is held
        self.waiting = 0

    def arm(self, route: str, first: int) -> None:
        with self.cond:
            self.route, self.first = route, first

    def release(self) -> None:
        """Let every held request go on, and hold no more."""
        with self.cond:
            self.first = 0
            self.cond.notify_all()

    def wait_held(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Until `count` requests are held (False if that never happens within `timeout`)."""
        with self.cond:
            return self.cond.wait_for(lambda: self.waiting >= count, timeout)

    def pass_through(self, route: str, ordinal: int, stopping: threading.Event) -> None:
        with self.cond:
            if not (self.first and route == self.route and ordinal >= self.first):
                return
            self.waiting += 1
            self.cond.notify_all()
            # shutdown() releases too, so a stopped server never leaves a thread held.
            self.cond.wait_for(lambda: not self.first or stopping.is_set())
            self.waiting -= 1


class ReferenceServer(ThreadingHTTPServer):
    """The reference endpoint; `shutdown()` stops it and closes its socket."""

    daemon_threads = True

    def __init__(self, port: int, options: Options, faults: Faults, *, quiet: bool) -> None:
        super().__init__((HOST, port), _Handler)
        self.options = options
        self.faults = faults
        self.quiet = quiet
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.counters = self._zero_counters()
        self.thread: threading.Thread | None = None
        self.hold = Hold()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    @staticmethod
    def _zero_counters() -> dict[str, dict[str, int]]:
        return {route: dict.fromkeys(_COUNTER_KEYS, 0) for route in DATA_ROUTES}

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change switches and restart the counts, so "first N" means after this change."""
        with self.lock:
            self.faults.update(changes)
            self.counters = self._zero_counters()
            return self.faults.as_dict()

    def reset(self) -> dict[str, Any]:
        with self.lock:
            self.faults = Faults()
            self.counters = self._zero_counters()
            return self.faults.as_dict()

    def stats(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return copy.deepcopy(self.counters)

    def count(self, route: str, key: str) -> int:
        with self.lock:
            self.counters[route][key] += 1
            return self.counters[route][key]

    def begin(self, route: str) -> tuple[int, Faults]:
        """The request's ordinal on its route (1-based) and the switches in force for it."""
        with self.lock:
            self.counters[route]["requests"] += 1
            ordinal = self.counters[route]["requests"] - self.counters[route]["unauthorized"]
            return ordinal, dataclasses.replace(self.faults)

    def start(self) -> None:
        # A short poll interval keeps shutdown() quick; tests start and stop many servers.
        self.thread = threading.Thread(
            target=self.serve_forever, args=(0.05,), name="reference-endpoint", daemon=True
        )
        self.thread.start()

    def shutdown(self) -> None:
        # Wake handlers sleeping on latency/timeout faults so nothing outlives the server.
        self.stopping.set()
        self.hold.release()
        if self.thread is not None:
            super().shutdown()  # only valid while serve_forever runs, else it would block
            self.thread.join()
            self.thread = None
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeouts, truncation tests) is expected, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: ReferenceServer
    protocol_version = "HTTP/1.1"
    server_version = "pinmap-reference/1"
    timeout = 60  # drop idle keep-alive connections so handler threads do not pile up

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    # -- plumbing --

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        *,
        cut_short: bool = False,
        extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Reference-Notice", NOTICE_HEADER)
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if cut_short:
            # Announce the full length, send half, hang up: the client sees a short body.
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, **kwargs: Any) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), **kwargs)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_CONTROL_BODY:
            raise _BadRequest("body too large")
        return self.rfile.read(length)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.server.stopping.wait(seconds)

    # -- routes --

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        try:
            if parts.path in DATA_ROUTES:
                self._data(parts.path, parse_qs(parts.query))
            elif parts.path == "/_health":
                self._json(200, {"status": "ok", "_notice": NOTICE})
            elif parts.path == "/_faults":
                with self.server.lock:
                    faults = self.server.faults.as_dict()
                self._json(200, faults)
            elif parts.path == "/_stats":
                self._json(200, self.server.stats())
            else:
                self._json(404, {"error": "not found"})
        except ConnectionError:
            self.close_connection = True

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
            if path == "/_faults":
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise _BadRequest("expected a JSON object of fault switches")
                self._json(200, self.server.set_faults(**changes))
            elif path == "/_reset":
                self._json(200, self.server.reset())
            else:
                self._json(404, {"error": "not found"})
        except (_BadRequest, ValueError) as exc:
            self._json(400, {"error": str(exc)})
            self.close_connection = True

    def _authorized(self) -> bool:
        token = self.server.options.token
        if token is None:
            return True
        sent = self.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())

    def _data(self, route: str, query: dict[str, list[str]]) -> None:
        server = self.server
        if not self._authorized():
            with server.lock:
                server.counters[route]["requests"] += 1
                server.counters[route]["unauthorized"] += 1
            self._json(401, {"error": "unauthorized"}, extra=[("WWW-Authenticate", "Bearer")])
            return
        ordinal, faults = server.begin(route)
        self._sleep(faults.latency_ms / 1000)
        server.hold.pass_through(route, ordinal, server.stopping)
        if ordinal <= faults.timeout_first:
            server.count(route, "timeouts")
            self._sleep(faults.timeout_sleep_s)
        if server.stopping.is_set():
            self.close_connection = True
            return
        if (
            faults.fail_always
            or ordinal <= faults.http500_first
            or (faults.http500_every and ordinal % faults.http500_every == 0)
        ):
            server.count(route, "http500")
            self._json(500, {"error": "injected fault: upstream error", "_notice": NOTICE})
            return
        try:
            body, content_type = self._payload(route, query, faults)
        except _BadRequest as exc:
            server.count(route, "bad_request")
            self._json(400, {"error": str(exc)})
            return
        if ordinal <= faults.malformed_first:
            server.count(route, "malformed")
            if route == STATS_ROUTE:
                # What a misconfigured proxy sends: a 200 that is not the CSV at all.
                body = b"<html><body>503 upstream maintenance</body></html>\n"
            else:
                body = b'{"data": [{"id": "x", \x00 garbage \xff'
        elif ordinal <= faults.truncated_first:
            server.count(route, "truncated")
            self._send(200, body, content_type, cut_short=True)
            return
        else:
            server.count(route, "ok")
        self._send(200, body, content_type)

    def _payload(
        self, route: str, query: dict[str, list[str]], faults: Faults
    ) -> tuple[bytes, str]:
        options = self.server.options
        if route == STATS_ROUTE:
            return stats_csv(options.seed, faults.unknown_refs), "text/csv; charset=utf-8"
        records = feed(
            route,
            options.seed,
            options.rounds,
            options.updated_at,
            faults.out_of_order,
            faults.unknown_refs,
        )
        if "cursor" in query:
            try:
                offset, page_size = decode_cursor(query["cursor"][-1])
            except ValueError as exc:
                raise _BadRequest(str(exc)) from exc
        else:
            offset, page_size = 0, options.page_size
            if "page_size" in query:
                try:
                    page_size = int(query["page_size"][-1])
                except ValueError as exc:
                    raise _BadRequest("page_size must be a whole number") from exc
                if not 1 <= page_size <= MAX_PAGE_SIZE:
                    raise _BadRequest(f"page_size must be 1..{MAX_PAGE_SIZE}")
        page = list(records[offset : offset + page_size])
        if faults.duplicates and 0 < offset <= len(records):
            page.insert(0, records[offset - 1])  # the previous page's last record, again
        end = offset + page_size
        envelope = {
            "_notice": NOTICE,
            "data": page,
            "next_cursor": encode_cursor(end, page_size) if end < len(records) else None,
        }
        return json.dumps(envelope, ensure_ascii=False).encode("utf-8"), (
            "application/json; charset=utf-8"
        )


def _build(
    port: int,
    *,
    seed: int,
    rounds: int,
    page_size: int,
    updated_at: str,
    token: str | None,
    quiet: bool,
    faults: Mapping[str, Any],
) -> ReferenceServer:
    options = Options(seed, rounds, page_size, updated_at, token)
    switches = Faults()
    switches.update(faults)
    # Generate the plain feeds now so the first request is not slowed by it.
    for route in (PROGRESS_ROUTE, QUARTERLY_ROUTE):
        feed(route, seed, rounds, updated_at, switches.out_of_order, switches.unknown_refs)
    return ReferenceServer(port, options, switches, quiet=quiet)


def serve(
    port: int = 0,
    *,
    seed: int = DEFAULT_SEED,
    rounds: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    updated_at: str = DEFAULT_UPDATED_AT,
    token: str | None = None,
    quiet: bool = True,
    **faults: Any,
) -> tuple[ReferenceServer, str]:
    """Start the endpoint on 127.0.0.1 in a background thread; `server.shutdown()` stops it."""
    server = _build(
        port,
        seed=seed,
        rounds=rounds,
        page_size=page_size,
        updated_at=updated_at,
        token=token,
        quiet=quiet,
        faults=faults,
    )
    server.start()
    return server, server.url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.reference_endpoint",
        description=f"Serve {NOTICE_HEADER} on 127.0.0.1: "
        f"{PROGRESS_ROUTE}, {QUARTERLY_ROUTE}, {STATS_ROUTE}; control via /_faults, /_reset, "
        "/_stats, /_health.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 = pick a free port")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, choices=(1, 2), default=1)
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE)
    parser.add_argument("--updated-at", default=DEFAULT_UPDATED_AT)
    parser.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on data routes")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    faults = parser.add_argument_group("fault switches (also settable via POST /_faults)")
    for name, default in Faults().as_dict().items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            faults.add_argument(flag, dest=name, action="store_true")
        else:
            faults.add_argument(flag, dest=name, type=type(default), default=default)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    port = args.pop("port")
    settings = {key: args.pop(key) for key in ("seed", "rounds", "page_size", "updated_at")}
    token, quiet = args.pop("token"), args.pop("quiet")
    try:
        server = _build(port, token=token, quiet=quiet, faults=args, **settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"reference endpoint on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
