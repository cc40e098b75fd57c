"""The pieces shared across services: Thai fiscal years, *_or_404, table writing and reading."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from pinmap import fiscal, tables
from pinmap.config import PROJECT_ROOT
from pinmap.models import User
from pinmap.services.catalogue import check_catalogue
from pinmap.services.dataload import DataFileError, load, parse_data_dir
from pinmap.services.errors import ServiceError
from pinmap.services.lookups import get_or_404, or_404


@pytest.mark.parametrize(
    ("day", "year_be"),
    [("2023-09-30", 2566), ("2023-10-01", 2567), ("2024-09-30", 2567), ("2024-10-01", 2568)],
)
def test_fiscal_year_of_a_day_lies_within_its_bounds(day: str, year_be: int) -> None:
    date = dt.date.fromisoformat(day)
    assert fiscal.fiscal_year_of(date) == year_be
    first, last = fiscal.fiscal_year_bounds(year_be)
    assert first <= date <= last
    assert fiscal.be_year(2024) == 2567 and fiscal.ce_year(2567) == 2024


def test_bangkok_time_is_seven_hours_ahead_and_naive_times_are_bangkok() -> None:
    late_utc = dt.datetime(2024, 9, 30, 17, 30, tzinfo=dt.UTC)
    assert fiscal.to_bangkok(late_utc).date() == dt.date(2024, 10, 1)
    assert fiscal.current_fiscal_year(late_utc) == 2568
    naive = dt.datetime(2024, 3, 1, 9, 0)
    assert fiscal.to_bangkok(naive).utcoffset() == dt.timedelta(hours=7)
    assert fiscal.to_bangkok(naive).hour == 9


def test_or_404_names_what_was_not_found(session: Session) -> None:
    assert or_404(5, "No such %(what)s.", what="thing") == 5
    with pytest.raises(ServiceError) as err:
        or_404(None, "No such %(what)s.", what="thing")
    assert err.value.status == 404 and str(err.value) == "No such thing."
    # Past the integer column's range the database is not even asked.
    for ident in (0, -1, 2**31, 10**20):
        with pytest.raises(ServiceError) as err:
            get_or_404(session, User, ident, "No such user.")
        assert err.value.status == 404


def test_csv_is_bom_first_crlf_and_formula_safe() -> None:
    text = tables.csv_text(["a", "b"], [["=1+1", None], ["-2", 3], ["ปกติ", "@x"]])
    assert text.startswith("\ufeffa,b\r\n")
    assert text.splitlines()[1:] == ["'=1+1,", "'-2,3", "ปกติ,'@x"]
    assert tables.unescape_cell("'=1+1") == "=1+1" and tables.unescape_cell("'plain") == "'plain"
    assert tables.csv_bytes(["a"], []) == "\ufeffa\r\n".encode()


def test_xlsx_cells_are_formula_safe() -> None:
    data = tables.xlsx_bytes({"a sheet title longer than excel allows": (["v"], [["=cmd"], [4]])})
    book = load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[0]
    assert len(sheet.title) == 31
    assert [r[0] for r in sheet.iter_rows(values_only=True)] == ["v", "'=cmd", 4]


def test_csv_records_keep_file_lines_and_report_problems() -> None:
    problems: list[tables.LineProblem] = []
    text = '\ufeffa,b\n1,"two\nlines"\n3\n4,5\n'
    rows = list(tables.csv_dict_records(text, ["a", "b"], problems))
    assert rows == [(3, {"a": "1", "b": "two\nlines"}), (5, {"a": "4", "b": "5"})]
    assert [(p.line, p.reason) for p in problems] == [(4, "wrong number of fields")]
    missing: list[tables.LineProblem] = []
    assert list(tables.csv_dict_records("a\n1\n", ["a", "b"], missing)) == []
    assert [(p.line, p.reason) for p in missing] == [(1, "missing column(s): b")]


def test_check_catalogue_names_the_lines_it_was_given() -> None:
    row = {
        "fiscal_year": "2567",
        "kind": "dimension",
        "no": "1",
        "title_th": "ก",
        "title_en": "",
        "dimension": "d1",
        "verified": "yes",
        "source_note": "",
    }
    with pytest.raises(ServiceError) as err:
        check_catalogue([(41, row)])
    assert [e.line for e in err.value.errors] == [41]  # type: ignore[attr-defined]


def test_data_load_reports_the_catalogue_line_of_the_file(session: Session, tmp_path: Path) -> None:
    """The data load hands its rows to the catalogue check: a quoted line break in one title no
    longer shifts the line named for a later row (it once went through CSV text and back)."""
    for f in (PROJECT_ROOT / "data").glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "policy_items.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    quick = [i for i, r in enumerate(rows) if r[:2] == ["2567", "quick_win"]]
    first, bad = quick[0], quick[1]
    rows[first][3] += "\nต่อบรรทัด"
    rows[bad][4] = ""  # no English title: only the catalogue check refuses that
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with session.begin_nested() as nested, pytest.raises(DataFileError) as info:
        try:
            load(session, parse_data_dir(tmp_path))
        finally:
            nested.rollback()
    # The file's own line: one more than the row's index, one more for the broken title.
    assert [(e.file, e.line) for e in info.value.errors] == [("policy_items.csv", bad + 2)]
    assert "title_en" in info.value.errors[0].reason
