"""Download names: a safe base name, sent per RFC 6266 / RFC 5987 at every download."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pikepdf
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.http import parse_options_header

from pinmap.downloads import content_disposition, download_name
from pinmap.models import Evidence

from ..signin import sign_in
from ..support.portal import World, full_report
from ..support.profiles import wired

__all__ = ["wired"]  # the autouse fixture that registers the blueprints


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("C:\\fakepath\\รายงาน ผล.pdf", "รายงาน ผล.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/home/ครู/Desktop/แผน.xlsx", "แผน.xlsx"),
        ('he said "hi".pdf', "he said hi.pdf"),
        ("it's.pdf", "its.pdf"),
        ("a\r\nSet-Cookie: x=1.pdf", "aSet-Cookie x=1.pdf"),
        ("bell\x07tab\tnul\x00.pdf", "belltabnul.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override shows "exe.pdf"
        ("..", "download"),
        ("  .hidden  ", "hidden"),
        ("", "download"),
        (None, "download"),
    ],
)
def test_download_name_is_a_plain_base_name(sent: str | None, kept: str) -> None:
    assert download_name(sent) == kept


def test_long_names_keep_their_extension() -> None:
    name = download_name("ก" * 400 + ".pdf")
    assert len(name) == 150 and name.endswith("ก.pdf")


def _filename(header: str) -> tuple[str, dict[str, str]]:
    value, params = parse_options_header(header)
    return value, params


@pytest.mark.parametrize(
    ("name", "fallback", "star"),
    [
        ("report.pdf", "report.pdf", None),
        ("C:\\x\\รายงาน ผล.pdf", "download.pdf", "รายงาน ผล.pdf"),
        ("Résumé 2567.pdf", "Resume 2567.pdf", "Résumé 2567.pdf"),
        ('x"; filename="evil.html', "x_ filename_evil.html", "x; filename=evil.html"),
    ],
)
def test_content_disposition_has_an_ascii_fallback_and_utf8_name(
    name: str, fallback: str, star: str | None
) -> None:
    header = content_disposition(name)
    assert "\r" not in header and "\n" not in header
    assert header.startswith(f'attachment; filename="{fallback}"')
    if star is None:
        assert "filename*" not in header
    else:
        raw = header.split("filename*=", 1)[1]
        assert raw.startswith("UTF-8''") and unquote(raw[len("UTF-8''") :]) == star
        # A client that reads RFC 5987 gets the Thai name back.
        assert _filename(header) == ("attachment", {"filename": star})
    assert content_disposition(name, inline=True).startswith("inline; ")


def _pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_evidence_download_sends_only_the_safe_base_name(
    client: FlaskClient, world: World, session: Session
) -> None:
    headers = world.headers("own_editor")
    rev = client.put(world.entry_url(), json=full_report(), headers=headers)
    # (werkzeug's form parser drops backslashes already; forward slashes reach the app)
    sent = "/home/ครู/../รายงาน 'ฉบับจริง'\x07.pdf"
    r = client.post(
        world.entry_url(suffix="/evidence"),
        headers=headers,
        data={
            "version": str(rev.get_json()["version"]),
            "title": "รายงาน",
            "file": (io.BytesIO(_pdf()), sent),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    ev = session.scalars(select(Evidence).order_by(Evidence.id.desc())).first()
    assert ev is not None
    sign_in(client, world.users["own_editor"])
    served = client.get(f"/portal/evidence/{ev.id}")
    assert served.status_code == 200
    header = served.headers["Content-Disposition"]
    served.close()
    assert header.startswith("attachment; filename=\"download.pdf\"; filename*=UTF-8''")
    assert _filename(header)[1]["filename"] == "รายงาน ฉบับจริง.pdf"
    assert "home" not in header and "%2F" not in header


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/exports/offices.csv", "pinmap-offices.csv"),
        ("/exports/offices.geojson", "pinmap-offices.geojson"),
    ],
)
def test_exports_use_the_same_header(client: FlaskClient, url: str, name: str) -> None:
    r = client.get(url)
    assert r.headers["Content-Disposition"] == f'attachment; filename="{name}"'
