"""HTML to PDF with WeasyPrint, in the vendored Sarabun font (Thai shaping and word-boundary
line breaks come from pango and libthai)."""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app
from markupsafe import Markup
from PIL import ImageFile

if TYPE_CHECKING:
    from weasyprint import URLFetcher

FONT_DIR = "vendor/sarabun/files"


@cache
def _font_css(static_folder: str) -> str:
    # One family per subset file: WeasyPrint keys embedded fonts by family and weight, so two
    # subsets under one name ("Sarabun") would share glyph ids and print wrong glyphs.
    files = Path(static_folder) / FONT_DIR
    rules = []
    for subset in ("latin", "thai"):
        for weight in (400, 600):
            url = (files / f"sarabun-{subset}-{weight}-normal.woff").as_uri()
            rules.append(
                f"@font-face {{ font-family: 'Sarabun {subset}'; font-weight: {weight}; "
                f"src: url('{url}') format('woff'); }}"
            )
    return "\n".join(rules)


@cache
def _seed() -> str:
    """Thai letters one by one, and sara am written as its two parts, drawn first (white, 1pt).

    WeasyPrint maps each glyph to the text of the first cluster it is drawn in; sara am (ำ)
    is shaped as two glyphs in one cluster, so without this the copied or extracted text of
    the whole document would read "กำร" for "การ". Seeded, every glyph maps to its own letter
    and ำ extracts as its canonical parts (ํ + า, equal under NFKC)."""
    thai = [chr(c) for c in range(0x0E01, 0x0E5C) if unicodedata.category(chr(c)) != "Cn"]
    marks = [c for c in thai if unicodedata.category(c) == "Mn"]
    bases = [c for c in thai if unicodedata.category(c) != "Mn" and c != "\u0e33"]
    am = ["ก\u0e4d\u0e32"] + [
        f"{b}{t}\u0e4d\u0e32" for b in "กป" for t in "\u0e48\u0e49\u0e4a\u0e4b"
    ]
    return " ".join(am + bases + [b + m for b in "กปญฐ" for m in marks] + ["ปั้", "ฟื้", "ปิ่", "ญุ", "ฐู"])


def seed_markup() -> Markup:
    seed = Markup('<p class="glyph-seed" aria-hidden="true">{}</p>').format(_seed())
    return seed + Markup('<p class="glyph-seed" aria-hidden="true"><b>{}</b></p>').format(_seed())


@cache
def _own_files() -> type[URLFetcher]:
    """The fetcher class, made on first use: WeasyPrint (pango, cairo bindings, its CSS) is
    imported by the first document, not by every process that imports the app (each server
    worker, each command, each test process), which took ~0.5 s of CPU apiece.

    Importing WeasyPrint switches Pillow's process-wide LOAD_TRUNCATED_IMAGES on; the upload
    checks and thumbnails (services/uploads.py, thumbnails.py) rely on Pillow refusing a
    truncated image, and our documents embed no uploaded raster image, so it is switched back
    off right after that import."""
    from weasyprint import URLFetcher

    ImageFile.LOAD_TRUNCATED_IMAGES = False

    class OwnFiles(URLFetcher):
        """Fetches our own static files only: a document never reaches the network or other
        files, whatever a stored text might link to."""

        def __init__(self, static_folder: str) -> None:
            super().__init__(allowed_protocols=("file",), allow_redirects=False)
            self._root = Path(static_folder).resolve().as_uri() + "/"

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith(self._root) or ".." in url:
                raise ValueError("not one of our static files")
            return super().fetch(url, headers)

    return OwnFiles


def render_pdf(html: str, base_url: str) -> bytes:
    """The document as PDF bytes; `base_url` resolves relative links (the page's own URL)."""
    static = str(current_app.static_folder)
    fetcher = _own_files()(static)  # imports WeasyPrint, then puts Pillow's flag back
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(string=_font_css(static), font_config=fonts, url_fetcher=fetcher)
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[css], font_config=fonts))
