"""Small real files for upload tests: a one-page PDF (pikepdf), the smallest Word or
PowerPoint package, and a real spreadsheet (openpyxl)."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pikepdf


def pdf_bytes() -> bytes:
    buf = io.BytesIO()
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(buf)
    return buf.getvalue()


CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
MAIN_RELATIONSHIP = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)
OOXML = "application/vnd.openxmlformats-officedocument."
OFFICE_PARTS = {
    "docx": ("word/document.xml", OOXML + "wordprocessingml.document.main+xml"),
    "pptx": ("ppt/presentation.xml", OOXML + "presentationml.presentation.main+xml"),
    "docm": ("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"),
}


def office_bytes(
    kind: str = "docx",
    *,
    content_types: bool = True,
    types_head: str = "",
    extra: dict[str, bytes] | None = None,
    main_type: str | None = None,
) -> bytes:
    """The smallest package Word or PowerPoint opens: content types, the package's
    relationships and the main part (a real .xlsx comes from openpyxl: xlsx_bytes)."""
    part, ctype = OFFICE_PARTS[kind]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if content_types:
            z.writestr(
                "[Content_Types].xml",
                f'<?xml version="1.0" encoding="UTF-8"?>{types_head}<Types xmlns="{CONTENT_TYPES_NS}">'
                '<Default Extension="rels" ContentType="application/'
                'vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/{part}" ContentType="{main_type or ctype}"/></Types>',
            )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS_NS}">'
            f'<Relationship Id="rId1" Type="{MAIN_RELATIONSHIP}" Target="{part}"/></Relationships>',
        )
        z.writestr(part, '<?xml version="1.0" encoding="UTF-8"?><document>แบบฟอร์ม</document>')
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["โรงเรียน", "จำนวนนักเรียน"])
    sheet.append(["บ้านหนองบัว", 120])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
