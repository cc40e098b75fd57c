"""thumbnails.py: PDF first pages and images as small PNGs, and None (a placeholder) for
anything broken or past the limits. Real files made here with pikepdf and Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from pinmap import thumbnails

STORED = "ab/cd/abcdEFGHIJKLMNOPQRSTUV.pdf"


def _pdf(path: Path, pages: int = 1, size: tuple[float, float] = (595, 842)) -> Path:
    """A PDF whose first page is red on its top half (a content stream PDFium must draw)."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=size)
    w, h = size
    first = pdf.pages[0]
    first.Contents = pdf.make_stream(f"1 0 0 rg 0 {h / 2} {w} {h / 2} re f".encode())
    pdf.save(path)
    return path


def _stored(tmp_path: Path, name: str = STORED) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_pdf_first_page_is_rendered_small_and_cached(tmp_path: Path) -> None:
    src = _pdf(_stored(tmp_path), pages=3)
    thumb = thumbnails.thumbnail(tmp_path, STORED, src, "application/pdf")
    assert thumb is not None and thumb == tmp_path / "thumbs" / "ab/cd/abcdEFGHIJKLMNOPQRSTUV.png"
    with Image.open(thumb) as img:
        assert img.format == "PNG"
        assert img.width == thumbnails.WIDTH and img.height <= 2 * thumbnails.WIDTH
        top, bottom = (
            img.getpixel((img.width // 2, 10)),
            img.getpixel((img.width // 2, img.height - 10)),
        )
    assert top[0] > 200 and top[1] < 60  # red: the page's content was drawn
    assert min(bottom) > 230  # white
    # The second call reads the cache: the source can even be gone.
    src.unlink()
    assert thumbnails.thumbnail(tmp_path, STORED, src, "application/pdf") == thumb


def test_broken_pdf_gives_no_preview(tmp_path: Path) -> None:
    src = _stored(tmp_path)
    src.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer\n%%EOF")
    assert thumbnails.render_pdf(src) is None
    assert thumbnails.thumbnail(tmp_path, STORED, src, "application/pdf") is None
    assert not (tmp_path / "thumbs").exists()


def test_pdf_past_the_page_limit_gives_no_preview(tmp_path: Path) -> None:
    src = _pdf(_stored(tmp_path), pages=thumbnails.MAX_PAGES + 1, size=(100, 100))
    assert thumbnails.render_pdf(src) is None


def test_pdf_with_a_giant_page_gives_no_preview(tmp_path: Path) -> None:
    src = _pdf(_stored(tmp_path))
    with pikepdf.open(src, allow_overwriting_input=True) as pdf:
        # Past what the specification allows, which pikepdf itself will not make.
        pdf.pages[0].MediaBox = pikepdf.Array([0, 0, thumbnails.MAX_PAGE_POINTS * 10, 100])
        pdf.save(src)
    assert thumbnails.render_pdf(src) is None


def test_missing_file_and_unknown_type_give_no_preview(tmp_path: Path) -> None:
    assert thumbnails.thumbnail(tmp_path, STORED, tmp_path / "nope.pdf", "application/pdf") is None
    src = _pdf(_stored(tmp_path))
    assert thumbnails.thumbnail(tmp_path, STORED, src, "text/plain") is None


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_image_is_fitted_into_the_box(tmp_path: Path, fmt: str, mime: str) -> None:
    name = "xy/zw/xyzwEFGHIJKLMNOPQRSTUV.jpg"
    src = _stored(tmp_path, name)
    Image.new("RGB", (1200, 800), "#3366cc").save(src, fmt)
    thumb = thumbnails.thumbnail(tmp_path, name, src, mime)
    assert thumb is not None
    with Image.open(thumb) as img:
        assert img.size == (240, 160)


def test_truncated_image_gives_no_preview(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (400, 400), "#3366cc").save(buf, "PNG")
    src = _stored(tmp_path, "xy/zw/xyzwEFGHIJKLMNOPQRSTUV.png")
    src.write_bytes(buf.getvalue()[:200])
    assert thumbnails.render_image(src) is None


def test_placeholder_is_a_png() -> None:
    with Image.open(io.BytesIO(thumbnails.placeholder_png())) as img:
        assert img.format == "PNG" and img.width > 0
