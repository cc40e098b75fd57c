"""Uploaded CSV and XLSX tables, read in bounded time and memory, with problems by row and column.

Every import (an office's school list, OBEC's five-year results) reads its file here. An XLSX
file is a zip of XML: a few hundred KB can unpack to gigabytes, and openpyxl builds whole
trees for some parts (styles, shared strings) and a whole row at a time for sheets. So before
openpyxl sees the file, the zip directory is checked (member count, unpacked size, compression
ratio) and every member is read once by a streaming XML parser that stops at the first limit
it crosses (rows, cells per row, characters per cell, elements). Only a file within every
limit is then read by openpyxl in read-only (streaming) mode.

Every export (offices, results, the catalogue, visit plans) writes its CSV and XLSX here too:
UTF-8 with a byte-order mark, and no cell a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from .refusal import N_, ServiceError

MAX_TABLE_BYTES: Final = 5 * 1024 * 1024
MAX_ROWS: Final = 50_000  # data rows, besides the header
MAX_COLUMNS: Final = 64
MAX_CELL_CHARS: Final = 5_000
MAX_PROBLEMS: Final = 200

# The zip directory, read before anything is unpacked. zipfile never yields more than a
# member's stated size (and fails on a wrong CRC), so these sizes bound what openpyxl can get.
MAX_MEMBERS: Final = 500
MAX_UNPACKED: Final = 32 * 1024 * 1024  # twice a full sheet of MAX_ROWS rows from Excel
MAX_RATIO: Final = 100  # unpacked / packed; sheets of real data stay near 10
RATIO_FROM: Final = 1024 * 1024  # tiny members may compress better than that without harm

# The XML inside: openpyxl parses every part but the sheets into a whole tree, and a sheet
# one row at a time (besides settings such as merged cells, each read whole).
MAX_WHOLE_ELEMENTS: Final = 100_000  # a part parsed whole (styles, shared strings, ...)
MAX_ROW_ELEMENTS: Final = MAX_COLUMNS * 8  # a cell's value, formula, rich-text runs
MAX_TEXT_RUN: Final = 100_000  # characters in one element outside cells and shared strings
_READ_CHUNK: Final = 64 * 1024

_MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_WORKSHEET, _SST = f"{_MAIN_NS} worksheet", f"{_MAIN_NS} sst"
_ROW, _CELL, _SI = f"{_MAIN_NS} row", f"{_MAIN_NS} c", f"{_MAIN_NS} si"
_DIMENSION, _SHEET_DATA = f"{_MAIN_NS} dimension", f"{_MAIN_NS} sheetData"
_CELL_REF: Final = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")


@dataclass(frozen=True)
class Problem:
    """One reason a file was refused: `row` 1 is the header line, data starts at 2; 0 is the
    whole file. `column` is the header's name, or a spreadsheet column letter."""

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


class _Refused(Exception):
    """One problem found while reading; read_table turns it into ImportRejected."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.msgid)
        self.problem = problem


def _refuse(row: int, column: str, msgid: str, **params: Any) -> _Refused:
    return _Refused(Problem(row, column, msgid, params))


def read_table(
    data: bytes, filename: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> Table:
    """A CSV (UTF-8, or Thai Windows cp874) or XLSX file as text cells, or ImportRejected."""
    name = (filename or "").strip() or "upload"
    try:
        raw = _rows(data, name)
        first = next(raw, None)
        if first is None:
            raise _refuse(1, "", N_("The file is empty."))
        header = [_cell_text(h).lower().lstrip("\ufeff") for h in first]
        problems = _header_problems(header, columns, required)
        if problems:
            raise ImportRejected(name, problems)
        rows = []
        for number, cells in enumerate(raw, start=2):
            if number - 1 > MAX_ROWS:
                raise _refuse(0, "", N_("The file has more than %(n)s rows."), n=MAX_ROWS)
            values = {
                c: _cell_text(cells[i]) if i < len(cells) else "" for i, c in enumerate(header) if c
            }
            if any(values.values()):  # blank lines at the end of a sheet are common
                rows.append((number, values))
    except _Refused as refused:
        raise ImportRejected(name, [refused.problem]) from None
    return Table(name, rows)


def _rows(data: bytes, name: str) -> Iterator[tuple[Any, ...] | list[str]]:
    if len(data) > MAX_TABLE_BYTES:
        raise _refuse(
            0, "", N_("The file is larger than %(n)s MB."), n=MAX_TABLE_BYTES // (1024 * 1024)
        )
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return _xlsx_rows(data)
    if lower.endswith(".csv"):
        return _csv_rows(data)
    raise _refuse(0, "", N_("Upload a .csv or .xlsx file."))


def _header_problems(
    header: list[str], columns: tuple[str, ...], required: tuple[str, ...]
) -> list[Problem]:
    problems = [
        Problem(
            1,
            c,
            N_("Unknown column; the columns are %(columns)s."),
            {"columns": ", ".join(columns)},
        )
        for c in header
        if c and c not in columns
    ]
    problems += [
        Problem(1, c, N_("Required column is missing.")) for c in required if c not in header
    ]
    seen: set[str] = set()
    for c in header:
        if c and c in seen:
            problems.append(Problem(1, c, N_("The column appears twice.")))
        seen.add(c)
    return problems


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 1234567890 as 1234567890.0
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def parse_number(text: str) -> float | None:
    """A decimal number; commas as thousands separators are accepted. ValueError otherwise."""
    cleaned = text.replace(",", "").strip()
    if not cleaned:
        return None
    number = float(cleaned)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number


# --- CSV ---------------------------------------------------------------------------------------


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    if b"\x00" in data[:4096]:
        raise _refuse(0, "", N_("This is not a text (CSV) file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Excel on Thai Windows saves CSV as TIS-620/cp874 unless told otherwise.
            text = data.decode("cp874")
        except UnicodeDecodeError as exc:
            raise _refuse(0, "", N_("Save the CSV as UTF-8.")) from exc
    return _csv_records(text)


def _csv_records(text: str) -> Iterator[list[str]]:
    # The csv module's own field limit (131,072 characters, process-wide) is the hard stop
    # while a field is read; the tighter per-cell limit is checked on each record, since
    # changing the module's limit would change it for every other reader in the process.
    reader = csv.reader(io.StringIO(text, newline=""))
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if number - 1 > MAX_ROWS:
                raise _refuse(0, "", N_("The file has more than %(n)s rows."), n=MAX_ROWS)
            if len(record) > MAX_COLUMNS:
                raise _too_wide(number, MAX_COLUMNS + 1)
            for i, value in enumerate(record):
                if len(value) > MAX_CELL_CHARS:
                    raise _too_long(number, i + 1)
            yield record
    except csv.Error as exc:
        raise _refuse(
            number + 1, "", N_("The CSV cannot be read: %(reason)s."), reason=str(exc)
        ) from exc


@dataclass(frozen=True)
class LineProblem:
    """A problem on one line of a trusted-size CSV text; `msgid` % `params` is the reason."""

    line: int
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return self.msgid % self.params if self.params else self.msgid


def csv_dict_records(
    text: str, columns: Sequence[str], problems: list[LineProblem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, stripped row) of a CSV text with a header naming `columns`, BOM or not.

    For our own files and the admin's catalogue (no size limits: use read_table for uploads).
    Problems are appended, never raised, so a caller can report every file's at once: a
    missing column or an unreadable header ends the file, a short or long row is skipped.
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix(BOM), newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        problems.append(LineProblem(1, N_("unreadable CSV: %(error)s"), {"error": str(exc)}))
        return
    missing = [c for c in columns if c not in header]
    if missing:
        problems.append(
            LineProblem(1, N_("missing column(s): %(columns)s"), {"columns": ", ".join(missing)})
        )
        return
    try:
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                problems.append(LineProblem(reader.line_num, N_("wrong number of fields")))
                continue
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}
    except csv.Error as exc:
        problems.append(
            LineProblem(reader.line_num, N_("unreadable CSV: %(error)s"), {"error": str(exc)})
        )


def _too_wide(row: int, column: int) -> _Refused:
    return _refuse(
        row, get_column_letter(column), N_("The row has more than %(n)s columns."), n=MAX_COLUMNS
    )


def _too_long(row: int, column: int) -> _Refused:
    return _refuse(
        row,
        get_column_letter(column),
        N_("The cell holds more than %(n)s characters."),
        n=MAX_CELL_CHARS,
    )


# --- XLSX --------------------------------------------------------------------------------------


def _xlsx_rows(data: bytes) -> Iterator[tuple[Any, ...]]:
    if not data.startswith(b"PK\x03\x04"):
        raise _refuse(0, "", N_("This is not an XLSX workbook."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive)
            for info in archive.infolist():
                with archive.open(info) as member:
                    _XmlLimits().scan(member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as exc:
        raise _refuse(0, "", N_("The workbook cannot be read.")) from exc
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter here.
            warnings.simplefilter("ignore")
            reader = _FirstSheetReader(io.BytesIO(data), read_only=True, data_only=True)
            reader.read()
            book = reader.wb
            try:
                sheet = book.worksheets[0]
                # The hard stops while streaming, whatever the sheet claims about its size.
                yield from sheet.iter_rows(
                    values_only=True, max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS
                )
            finally:
                book.close()
    except _Refused:
        raise
    except Exception as exc:
        # openpyxl fails on a malformed part in many ways (KeyError, ValueError, TypeError,
        # its own exceptions, XML parse errors); for the user each means the same thing.
        raise _refuse(0, "", N_("The workbook cannot be read.")) from exc


class _UnmeasuredSheet(ReadOnlyWorksheet):
    def _get_size(self) -> None:
        # openpyxl reads a sheet that does not state its size (<dimension>, which write-only
        # workbooks such as our own exports leave out) whole into memory to measure it. Rows
        # are read with explicit bounds here, so the size is never needed.
        pass


class _FirstSheetReader(ExcelReader):
    """openpyxl's read-only reader, opening only the first worksheet, and without measuring."""

    def read_worksheets(self) -> None:
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                ws = _UnmeasuredSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                # As openpyxl's own reader does; its stubs leave the private list out.
                self.wb._sheets.append(ws)  # type: ignore[attr-defined]
                return


def _check_members(archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise _refuse(0, "", N_("The workbook has more than %(n)s parts."), n=MAX_MEMBERS)
    total = 0
    for info in members:
        if info.flag_bits & 0x1:
            raise _refuse(0, "", N_("The workbook is encrypted; save an unprotected copy."))
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(0, "", N_("The workbook cannot be read."))
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_UNPACKED or (info.file_size > RATIO_FROM and ratio > MAX_RATIO):
            raise _refuse(
                0,
                "",
                N_(
                    "The workbook unpacks to more data than a table of "
                    "%(rows)s rows can hold; it was not opened."
                ),
                rows=MAX_ROWS,
            )


class _XmlLimits:
    """One streaming pass over a zip member, stopping at the first limit crossed.

    A member that is not XML (an image) fails to parse and is left alone: openpyxl does not
    parse it either. Whatever part of it did parse had to be within the limits.
    """

    def __init__(self) -> None:
        self.root: str | None = None
        self.elements = 0  # in a part parsed whole; outside <sheetData> in a sheet
        self.in_data = False
        self.rows = 0
        self.row_no = 0
        self.row_elements = 0
        self.cells = 0
        self.col_no = 0
        self.text = 0

    def scan(self, member: IO[bytes]) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True  # text arrives in pieces of at most 8 KiB, counted as it comes
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        try:
            while chunk := member.read(_READ_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError:
            return

    def _doctype(self, *_args: Any) -> None:
        # Workbooks never carry a DTD; one here can only be meant to expand entities.
        raise _refuse(0, "", N_("The workbook cannot be read."))

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root = name
        if self.root == _WORKSHEET and (self.in_data or name == _SHEET_DATA):
            self._sheet_data(name, attrs)
            return
        # Text is counted per shared string (rich text has several runs), else per element.
        if self.root != _SST or name == _SI:
            self.text = 0
        self.elements += 1
        if self.root == _WORKSHEET:
            if name == _DIMENSION:
                self._dimension(attrs.get("ref", ""))
            if self.elements > MAX_WHOLE_ELEMENTS:
                raise _refuse(0, "", N_("The sheet holds too many settings besides its cells."))
        elif self.elements > MAX_WHOLE_ELEMENTS:
            raise _refuse(0, "", N_("The workbook holds too much besides its cells."))

    def _end(self, name: str) -> None:
        if name == _SHEET_DATA:
            self.in_data = False

    def _dimension(self, ref: str) -> None:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref.upper())
        except (ValueError, TypeError):
            return  # openpyxl reads the size from it the same way, or not at all
        if max_row is not None and max_row > MAX_ROWS + 1:
            raise _refuse(
                0,
                "",
                N_("The sheet has %(count)s rows; at most %(n)s can be loaded."),
                count=max_row,
                n=MAX_ROWS,
            )
        if max_col is not None and max_col > MAX_COLUMNS:
            raise _refuse(
                1,
                get_column_letter(max_col),
                N_("The sheet reaches column %(col)s; at most %(n)s columns can be loaded."),
                col=get_column_letter(max_col),
                n=MAX_COLUMNS,
            )

    def _sheet_data(self, name: str, attrs: dict[str, str]) -> None:
        if name == _SHEET_DATA:
            self.in_data = True
            return
        if name == _ROW:
            self.rows += 1
            self.row_no = _int(attrs.get("r"), self.row_no + 1)
            if self.rows > MAX_ROWS + 1 or self.row_no > MAX_ROWS + 1:
                raise _refuse(0, "", N_("The file has more than %(n)s rows."), n=MAX_ROWS)
            self.row_elements = self.cells = self.col_no = 0
            return
        self.row_elements += 1
        if name == _CELL:
            self.cells += 1
            self.text = 0
            ref = _CELL_REF.fullmatch(attrs.get("r", ""))
            self.col_no = (
                column_index_from_string(ref.group(1).upper()) if ref else (self.col_no + 1)
            )
            if self.cells > MAX_COLUMNS or self.col_no > MAX_COLUMNS:
                raise _too_wide(self.row_no, min(self.col_no, 16384))
        if self.row_elements > MAX_ROW_ELEMENTS:
            raise _refuse(self.row_no, "", N_("The row holds too much besides its cells."))

    def _chars(self, text: str) -> None:
        self.text += len(text)
        if self.root == _WORKSHEET and self.in_data:
            if self.text > MAX_CELL_CHARS:
                raise _too_long(self.row_no, max(self.col_no, 1))
        elif self.root == _SST:
            if self.text > MAX_CELL_CHARS:
                raise _refuse(
                    0,
                    "",
                    N_("A text in the workbook holds more than %(n)s characters."),
                    n=MAX_CELL_CHARS,
                )
        elif self.text > MAX_TEXT_RUN:
            raise _refuse(0, "", N_("The workbook holds too much besides its cells."))


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and len(text) <= 9 else default


# --- writing -----------------------------------------------------------------------------------

# A spreadsheet runs a cell starting with these as a formula (CSV/formula injection).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a CSV file as UTF-8 (and shows Thai) only when it starts with a byte-order mark.
BOM: Final = "\ufeff"

Row = Sequence[Any]


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """Undo safe_cell, so that export then import gives back the same text."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_text(header: Sequence[str], rows: Iterable[Row]) -> str:
    """A header and rows as CSV text (CRLF lines), BOM first; None is an empty cell."""
    out = io.StringIO(newline="")
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Row]) -> bytes:
    return csv_text(header, rows).encode("utf-8")


def xlsx_bytes(sheets: Mapping[str, tuple[Sequence[str], Iterable[Row]]]) -> bytes:
    """A workbook with one sheet per title (cut to Excel's 31 characters), header row first."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(title=title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's own deprecations are not ours to fix
        book.save(buf)
    return buf.getvalue()
