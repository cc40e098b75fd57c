"""Small PNG previews of stored uploads (images, and a PDF's first page), made once and cached.

A preview is a convenience for reviewers: anything odd about the file (broken, encrypted, a
page count or page size past the limits, an image bomb) gives None, and the caller shows a
placeholder instead. PDFs are rendered with PDFium (pypdfium2, Apache-2.0/BSD-3); Pillow does
images. Previews live beside the uploads under thumbs/, named after the stored file, so a
stored name (random, never reused) is also the cache key.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Final

import pypdfium2 as pdfium
from PIL import Image, ImageDraw

WIDTH: Final = 240  # pixels; the box a preview fits in is WIDTH x 2*WIDTH
MAX_FILE_BYTES: Final = 50 * 1024 * 1024
MAX_PAGES: Final = 2_000
# 200 inches in PDF points, the largest page the PDF specification allows (Annex C).
MAX_PAGE_POINTS: Final = 14_400.0
MAX_IMAGE_PIXELS: Final = 60_000_000
THUMB_DIR: Final = "thumbs"
IMAGE_MIMES: Final = frozenset({"image/jpeg", "image/png", "image/webp"})
PDF_MIME: Final = "application/pdf"
# PDFium keeps global state and is not thread-safe; one render at a time per process.
_PDFIUM_LOCK = threading.Lock()


def can_preview(mime: str | None) -> bool:
    return mime in IMAGE_MIMES or mime == PDF_MIME


def _fit(width: float, height: float) -> tuple[int, int] | None:
    if not (0 < width and 0 < height):
        return None
    scale = min(WIDTH / width, 2 * WIDTH / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_pdf(path: Path) -> Image.Image | None:
    """The first page of the PDF at `path`, fitted into the preview box; None if it can't be."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        with _PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(str(path))
            try:
                if not 0 < len(pdf) <= MAX_PAGES:
                    return None
                page = pdf[0]
                try:
                    width, height = page.get_size()
                    if max(width, height) > MAX_PAGE_POINTS or _fit(width, height) is None:
                        return None
                    scale = min(WIDTH / width, 2 * WIDTH / height)
                    bitmap = page.render(scale=scale, may_draw_forms=False)
                    image = bitmap.to_pil().convert("RGB")
                finally:
                    page.close()
            finally:
                pdf.close()
    except (pdfium.PdfiumError, OSError, ValueError, MemoryError):
        return None
    return image


def render_image(path: Path) -> Image.Image | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        with Image.open(path) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                return None
            img.draft("RGB", (WIDTH, 2 * WIDTH))  # JPEG: decode at a reduced size
            img.thumbnail((WIDTH, 2 * WIDTH))
            return img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None


def thumb_name(stored_name: str) -> str:
    """The preview's name under THUMB_DIR: the stored name with .png (same folders)."""
    return stored_name.rsplit(".", 1)[0] + ".png"


def thumbnail(upload_dir: Path, stored_name: str, path: Path, mime: str | None) -> Path | None:
    """The cached preview of the stored file at `path`, made now if missing; None if none can
    be made (the caller answers with `placeholder_png()`)."""
    target = upload_dir / THUMB_DIR / thumb_name(stored_name)
    if target.is_file():
        return target
    if mime == PDF_MIME:
        image = render_pdf(path)
    elif mime in IMAGE_MIMES:
        image = render_image(path)
    else:
        return None
    if image is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside its final name then renamed: a reader never sees half a PNG.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".thumb-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, "PNG", optimize=True)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


@cache
def placeholder_png() -> bytes:
    """A grey page with a folded corner: "no preview", in no language."""
    image = Image.new("RGB", (WIDTH // 2, WIDTH * 2 // 3), "#f1f3f5")
    draw = ImageDraw.Draw(image)
    w, h = image.size
    fold = w // 4
    draw.polygon(
        [(12, 10), (w - 12 - fold, 10), (w - 12, 10 + fold), (w - 12, h - 10), (12, h - 10)],
        fill="#ffffff",
        outline="#868e96",
    )
    draw.polygon(
        [(w - 12 - fold, 10), (w - 12 - fold, 10 + fold), (w - 12, 10 + fold)],
        fill="#dee2e6",
        outline="#868e96",
    )
    for y in range(10 + fold + 12, h - 20, 12):
        draw.line([(24, y), (w - 24, y)], fill="#ced4da", width=3)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
