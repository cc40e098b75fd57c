"""Imported tables are read in bounded time and memory: zip bombs, wide rows, long cells."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from pinmap import tables
from pinmap.tables import ImportRejected, read_table

from ..signin import sign_in
from ..support.portal import World
from ..support.profiles import _upload, profile_version, staged_codes, wired

__all__ = ["wired"]

SCHOOL_COLUMNS = ("code", "name_th", "amphoe_th", "level", "lat", "lon")
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _workbook(rows: list[list[object]], *, write_only: bool = False) -> bytes:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet() if write_only else book.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _replace_part(data: bytes, part: str, write: Callable[[io.BufferedIOBase], None]) -> bytes:
    """The workbook with one part rewritten, streamed so a huge part never sits in memory."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout,
    ):
        for info in zin.infolist():
            if info.filename == part:
                with zout.open(part, "w") as fh:
                    write(fh)  # type: ignore[arg-type]
            else:
                zout.writestr(info, zin.read(info))
    return out.getvalue()


def _sheet(rows_xml: bytes, head: bytes = b"") -> Callable[[io.BufferedIOBase], None]:
    def write(fh: io.BufferedIOBase) -> None:
        fh.write(b'<worksheet xmlns="' + MAIN_NS.encode() + b'">' + head + b"<sheetData>")
        fh.write(rows_xml)
        fh.write(b"</sheetData></worksheet>")

    return write


def bomb_xlsx(megabytes: int = 300) -> bytes:
    """A real school list whose second row holds `megabytes` MB of one repeated character."""
    base = _workbook([["code", "name_th"], ["1081010001", "x"]])

    def write(fh: io.BufferedIOBase) -> None:
        fh.write(
            b'<worksheet xmlns="' + MAIN_NS.encode() + b'"><sheetData>'
            b'<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c>'
            b'<c r="B1" t="inlineStr"><is><t>name_th</t></is></c></row>'
            b'<row r="2"><c r="A2" t="inlineStr"><is><t>1081010001</t></is></c>'
            b'<c r="B2" t="inlineStr"><is><t>'
        )
        chunk = "ก".encode() * (1 << 18)  # ¾ MB of one Thai letter
        for _ in range(megabytes * 4 // 3):
            fh.write(chunk)
        fh.write(b"</t></is></c></row></sheetData></worksheet>")

    return _replace_part(base, "xl/worksheets/sheet1.xml", write)


def _status_kb() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {
        k: int(re.search(k + r":\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        for k in ("VmRSS", "VmHWM")
    }


def _reset_peak() -> None:
    try:
        # Linux resets the process's peak RSS (VmHWM) on "5", so the peak of one request shows.
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pytest.skip("the peak RSS cannot be reset here (/proc/self/clear_refs)")


def test_xlsx_bomb_is_refused_fast_in_bounded_memory(
    client: FlaskClient, world: World, session: Session
) -> None:
    data = bomb_xlsx(300)
    assert len(data) < 600_000  # a few hundred KB that unpack to 300 MB of text
    sign_in(client, world.users["own_editor"], lang="en")
    url = "/portal/offices/spp-krabi/schools"
    version = profile_version(session)
    client.get(url)  # the page's own first-request costs are not the bomb's
    _reset_peak()
    before = _status_kb()
    # CPU time of the request's thread: what a bomb burns, whatever else loads the machine.
    started = time.thread_time()
    r = _upload(client, url + "/import", "bomb.xlsx", data, action="import", version=version)
    elapsed = time.thread_time() - started
    grown_mb = (_status_kb()["VmHWM"] - before["VmRSS"]) / 1024
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "bomb.xlsx was not loaded" in html and "unpacks to more data" in html
    assert elapsed < 1.0, elapsed
    assert grown_mb < 50, grown_mb
    assert staged_codes(session) == [] and profile_version(session) == version


def test_results_import_refuses_the_bomb_too(client: FlaskClient, world: World) -> None:
    sign_in(client, world.users["reviewer"], lang="en")
    # CPU time of the request's thread: what a bomb burns, whatever else loads the machine.
    started = time.thread_time()
    r = _upload(client, "/portal/results", "results.xlsx", bomb_xlsx(100))
    assert r.status_code == 400 and time.thread_time() - started < 1.0
    assert "results.xlsx was not loaded" in r.get_data(as_text=True)


def test_bomb_message_is_in_thai_for_thai_readers(client: FlaskClient, world: World) -> None:
    sign_in(client, world.users["reviewer"], lang="en")
    client.get("/lang/th")
    r = _upload(client, "/portal/results", "ผลการดำเนินงาน.xlsx", bomb_xlsx(50))
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "ผลการดำเนินงาน.xlsx" in html
    assert "unpacks to more data" not in html and "ไม่ได้นำเข้า" in html


def _problem(data: bytes, name: str = "list.xlsx") -> tables.Problem:
    with pytest.raises(ImportRejected) as err:
        read_table(data, name, SCHOOL_COLUMNS, ("code", "name_th"))
    assert err.value.filename == name
    return err.value.problems[0]


def test_zip_directory_limits() -> None:
    base = _workbook([["code", "name_th"], ["1", "x"]])
    many = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(many, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        for n in range(tables.MAX_MEMBERS):
            zout.writestr(f"xl/media/pad{n}.bin", b"")
    assert "parts" in _problem(many.getvalue()).msgid
    # Members too small for the ratio cap, but together over the total.
    spread = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as zin,
        zipfile.ZipFile(spread, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        for n in range(40):
            zout.writestr(f"xl/media/pad{n}.xml", b" " * tables.RATIO_FROM)
    assert len(spread.getvalue()) < 200_000
    assert "unpacks" in _problem(spread.getvalue()).msgid


def test_wide_rows_long_cells_and_stated_size_are_refused_before_reading() -> None:
    base = _workbook([["code", "name_th"]])
    part = "xl/worksheets/sheet1.xml"
    wide = (
        b'<row r="1">'
        + b"".join(
            f'<c r="{get_column_letter(i)}1" t="n"><v>{i}</v></c>'.encode() for i in range(1, 80)
        )
        + b"</row>"
    )
    problem = _problem(_replace_part(base, part, _sheet(wide)))
    assert (problem.row, problem.column) == (1, "BM") and "columns" in problem.msgid
    far = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c></row>'
        b'<row r="2"><c r="XFD2"><v>1</v></c></row>'
    )
    problem = _problem(_replace_part(base, part, _sheet(far)))
    assert (problem.row, problem.column) == (2, "XFD")
    long_cell = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c></row><row r="7">'
        b'<c r="C7" t="inlineStr"><is><t>' + b"x" * 6000 + b"</t></is></c></row>"
    )
    problem = _problem(_replace_part(base, part, _sheet(long_cell)))
    assert (problem.row, problem.column) == (7, "C") and "characters" in problem.msgid
    tall = _replace_part(base, part, _sheet(b"", b'<dimension ref="A1:B2000000"/>'))
    assert "2000000" in str(_problem(tall).params)
    many_rows = b"".join(
        f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>'.encode()
        for n in range(1, tables.MAX_ROWS + 3)
    )
    assert "rows" in _problem(_replace_part(base, part, _sheet(many_rows))).msgid


def test_entity_expansion_is_refused() -> None:
    base = _workbook([["code", "name_th"]])
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<worksheet xmlns="' + MAIN_NS.encode() + b'"><sheetData><row r="1">'
        b'<c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'
    )
    data = _replace_part(base, "xl/worksheets/sheet1.xml", lambda fh: fh.write(laughs))
    assert _problem(data).msgid == "The workbook cannot be read."


def test_a_sheet_without_stated_size_is_streamed() -> None:
    # Write-only workbooks (our own exports) leave <dimension> out; openpyxl would read such
    # a sheet whole to measure it.
    rows = [["code", "name_th"]] + [[f"10810{n:05d}", f"โรงเรียน {n}"] for n in range(3000)]
    table = read_table(_workbook(rows, write_only=True), "export.xlsx", SCHOOL_COLUMNS, ("code",))
    assert len(table.rows) == 3000 and table.rows[-1] == (
        3001,
        {"code": "1081002999", "name_th": "โรงเรียน 2999"},
    )


def test_csv_limits_name_row_and_column() -> None:
    wide = "code,name_th\n" + ",".join(["1"] * 70) + "\n"
    problem = _problem(wide.encode(), "list.csv")
    assert (problem.row, problem.column) == (2, "BM")
    long_cell = "code,name_th\n1,ok\n2," + "ก" * 6000 + "\n"
    problem = _problem(long_cell.encode(), "list.csv")
    assert (problem.row, problem.column) == (3, "B") and "characters" in problem.msgid
    tall = "code,name_th\n" + "".join(f"{n},x\n" for n in range(tables.MAX_ROWS + 1))
    assert "rows" in _problem(tall.encode(), "list.csv").msgid
    ok = read_table(b"code,name_th\n1,x\n", "list.csv", SCHOOL_COLUMNS, ("code",))
    assert ok.rows == [(2, {"code": "1", "name_th": "x"})]
