"""Upload checks: type sniffing, size limit, metadata stripping, PDF active content, storage."""

from __future__ import annotations

import ast
import hashlib
import io
import stat
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from pinmap.services import uploads
from pinmap.services.uploads import CleanFile, UploadRejected, clean_upload, resolve, store

# --- builders --------------------------------------------------------------------------------


def _image(fmt: str, mode: str = "RGB", size: tuple[int, int] = (40, 20), **save: Any) -> bytes:
    im = Image.new(mode, size, "white" if mode != "P" else 0)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


def _two_colour_jpeg(**save: Any) -> bytes:
    # Left half red, right half blue, so a rotation shows in where the colours end up.
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (20, 0, 40, 20))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=95, **save)
    return buf.getvalue()


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "SecretCamera"
    # A dict value, not get_ifd(): Pillow 10 writes only the former out.
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (13.0, 45.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (100.0, 30.0, 0.0),
    }
    return exif.tobytes()


def _with_xmp(jpeg: bytes) -> bytes:
    payload = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>secret-xmp</x:xmpmeta>"
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + payload))
    return struct.pack(">I", len(payload)) + kind + payload + crc


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares the given size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def _png_chunk_types(data: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def _pdf(*objects: bytes, trailer: bytes = b"") -> bytes:
    """A PDF with the given objects numbered from 1, a correct xref table and trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(content), extra, content)


def _object_stream(
    *objects: bytes, filters: bytes = b"/FlateDecode", typed: bool = True, pad: int = 0
) -> bytes:
    offsets, body = [], b""
    for obj in objects:
        offsets.append(len(body))
        body += obj + b"\n"
    header = b" ".join(b"%d %d" % (10 + i, off) for i, off in enumerate(offsets)) + b"\n"
    raw = header + body
    encoded = zlib.compress(raw) if filters in (b"/FlateDecode", b"5 0 R") else raw
    extra = b"/Type /ObjStm " if typed else b""
    extra += b"/N %d /First %d /Pad (%s) " % (len(objects), len(header), b"x" * pad)
    if filters:
        extra += b"/Filter " + filters + b" "
    return _stream(encoded, extra)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>"
CONTENT = _stream(b"0 0 m 100 100 l S")


def _minimal_pdf(catalog: bytes = CATALOG, *more: bytes, trailer: bytes = b"") -> bytes:
    return _pdf(catalog, PAGES, PAGE, CONTENT, *more, trailer=trailer)


class CountingStream(io.RawIOBase):
    """A readable stream that records how much was read and can return short reads."""

    def __init__(self, data: bytes, chunk: int | None = None) -> None:
        self._inner = io.BytesIO(data)
        self._chunk = chunk
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._inner.getbuffer())
        if self._chunk is not None:
            size = min(size, self._chunk)
        data = self._inner.read(size)
        self.bytes_read += len(data)
        return data


def _clean(data: bytes, filename: str, **kwargs: Any) -> CleanFile:
    return clean_upload(io.BytesIO(data), filename, **kwargs)


def _rejected(data: bytes, filename: str | None, **kwargs: Any) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        clean_upload(io.BytesIO(data), filename, **kwargs)  # type: ignore[arg-type]
    assert info.value.message_en
    return info.value


# --- images ----------------------------------------------------------------------------------


def test_jpeg_loses_exif_gps_xmp_comment_and_icc_and_is_turned_upright() -> None:
    data = _with_xmp(
        _two_colour_jpeg(
            exif=_exif_with_gps(), comment=b"secret comment", icc_profile=b"secret-icc"
        )
    )
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test input has GPS

    clean = _clean(data, "site-visit.jpg")

    assert (clean.mime, clean.ext) == ("image/jpeg", ".jpg")
    for secret in (
        b"Exif\x00\x00",
        b"SecretCamera",
        b"secret comment",
        b"secret-xmp",
        b"ns.adobe.com",
        b"secret-icc",
    ):
        assert secret not in clean.data
    out = Image.open(io.BytesIO(clean.data))
    assert len(out.getexif()) == 0
    assert not out.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(out.info)
    # Orientation 6 means "rotate 90° clockwise to view": the red left half ends up on top.
    assert (clean.width, clean.height) == out.size == (20, 40)
    top, bottom = out.convert("RGB").getpixel((10, 5)), out.convert("RGB").getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert clean.sha256 == hashlib.sha256(clean.data).hexdigest()


def test_jpeg_with_corrupt_exif_is_accepted_without_leaking_a_warning() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "X" * 50
    data = _image("JPEG", exif=exif.tobytes()[:20])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clean = _clean(data, "broken-exif.jpg")
    assert caught == []
    assert b"Exif\x00\x00" not in clean.data


def test_cmyk_jpeg_becomes_rgb_and_grey_stays_grey() -> None:
    assert Image.open(io.BytesIO(_clean(_image("JPEG", "CMYK"), "a.jpg").data)).mode == "RGB"
    assert Image.open(io.BytesIO(_clean(_image("JPEG", "L"), "a.jpeg").data)).mode == "L"


def test_png_loses_text_exif_icc_and_phys_chunks_but_keeps_alpha() -> None:
    im = Image.new("RGBA", (30, 10), (0, 128, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, 10, 10))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author")
    info.add_text("Location", "secret-ztxt", zip=True)
    info.add_itxt("Comment", "secret-itxt", lang="th")
    buf = io.BytesIO()
    im.save(
        buf,
        format="PNG",
        pnginfo=info,
        exif=_exif_with_gps(),
        icc_profile=b"secret-icc",
        dpi=(300, 300),
    )
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"pHYs"} <= set(
        _png_chunk_types(buf.getvalue())
    )

    clean = _clean(buf.getvalue(), "chart.PNG")

    # The EXIF orientation (6) is applied here too: 30x10 becomes 10x30, transparent end on top.
    assert (clean.mime, clean.ext, clean.width, clean.height) == ("image/png", ".png", 10, 30)
    assert set(_png_chunk_types(clean.data)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    assert b"secret" not in clean.data
    out = Image.open(io.BytesIO(clean.data))
    assert out.mode == "RGBA"
    assert out.getpixel((5, 5))[3] == 0 and out.getpixel((5, 25))[3] == 255


def test_palette_png_keeps_its_transparency() -> None:
    clean = _clean(_image("PNG", "P", transparency=0), "icon.png")
    out = Image.open(io.BytesIO(clean.data))
    assert out.mode == "P" and out.info.get("transparency") == 0


def test_webp_loses_exif_icc_and_xmp_but_keeps_alpha() -> None:
    im = Image.new("RGBA", (40, 20), (0, 128, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, 10, 20))
    buf = io.BytesIO()
    im.save(
        buf,
        format="WEBP",
        exif=_exif_with_gps(),
        icc_profile=b"secret-icc",
        xmp=b"<x:xmpmeta>secret-xmp</x:xmpmeta>",
    )
    data = buf.getvalue()
    assert b"EXIF" in data and b"XMP " in data and b"ICCP" in data

    clean = _clean(data, "photo.webp")

    assert (clean.mime, clean.ext, clean.width, clean.height) == ("image/webp", ".webp", 20, 40)
    for chunk in (b"EXIF", b"XMP ", b"ICCP", b"SecretCamera", b"secret"):
        assert chunk not in clean.data
    out = Image.open(io.BytesIO(clean.data))
    assert out.mode == "RGBA"
    assert out.getpixel((10, 5))[3] == 0 and out.getpixel((10, 35))[3] == 255


@pytest.mark.parametrize(
    "filename", ["a.JPG", "a.jpeg", "A.JpEg", "C:\\fakepath\\a.jpg", " a.jpg "]
)
def test_extension_is_compared_case_insensitively(filename: str) -> None:
    assert _clean(_image("JPEG"), filename).mime == "image/jpeg"


# --- type checks -----------------------------------------------------------------------------

HTML = b"<!doctype html><html><script>alert(1)</script></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (HTML, "photo.jpg"),
        (EXE, "photo.jpg"),
        (SVG, "photo.png"),
        (_image("GIF"), "photo.jpg"),
        (_minimal_pdf(), "scan.png"),
        (_image("PNG"), "scan.pdf"),
        (_image("PNG"), "photo.jpg"),
        (_image("WEBP"), "photo.jpg"),
        (_image("JPEG"), "photo.webp"),
    ],
)
def test_content_that_does_not_match_the_extension_is_disguised(data: bytes, filename: str) -> None:
    assert _rejected(data, filename).code == "disguised"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (_image("GIF"), "anim.gif"),
        (SVG, "logo.svg"),
        (HTML, "page.html"),
        (EXE, "setup.exe"),
        (_image("PNG"), "photo"),
        (_image("PNG"), "photo.txt"),
        (_image("PNG"), "photo.png.exe"),
        (_image("PNG"), ""),
        (_image("PNG"), None),
        (_image("BMP"), "photo.bmp"),
    ],
)
def test_other_types_are_unsupported(data: bytes, filename: str | None) -> None:
    assert _rejected(data, filename).code == "unsupported_type"


def test_empty_file_is_refused() -> None:
    assert _rejected(b"", "photo.jpg").code == "empty"


# --- size ------------------------------------------------------------------------------------


def test_oversize_upload_is_refused_after_reading_at_most_max_bytes_plus_one() -> None:
    stream = CountingStream(_image("PNG") + b"\x00" * 1_000_000)
    with pytest.raises(UploadRejected) as info:
        clean_upload(stream, "big.png", max_bytes=1000)  # type: ignore[arg-type]
    assert info.value.code == "too_large"
    assert stream.bytes_read <= 1001


def test_size_limit_is_inclusive() -> None:
    pdf = _minimal_pdf()
    assert _clean(pdf, "a.pdf", max_bytes=len(pdf)).data == pdf
    assert _rejected(pdf, "a.pdf", max_bytes=len(pdf) - 1).code == "too_large"


def test_short_reads_are_joined() -> None:
    data = _image("JPEG")
    stream = CountingStream(data, chunk=7)
    clean = clean_upload(stream, "a.jpg", max_bytes=len(data))  # type: ignore[arg-type]
    assert clean.mime == "image/jpeg"
    assert stream.bytes_read == len(data)


# --- broken and oversized images -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (_two_colour_jpeg()[:300], "cut.jpg"),
        (b"\xff\xd8\xff" + b"not a jpeg at all" * 10, "junk.jpg"),
        (_image("PNG", size=(300, 300))[:100], "cut.png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "junk.png"),
        (_image("WEBP", size=(300, 300))[:60], "cut.webp"),
    ],
)
def test_images_that_do_not_decode_are_corrupt(data: bytes, filename: str) -> None:
    assert _rejected(data, filename).code == "corrupt"


def test_png_header_claiming_fifty_thousand_squared_is_refused_before_decoding() -> None:
    # 2.5 gigapixels: Pillow's own DecompressionBombError.
    assert _rejected(_png_claiming(50_000, 50_000), "bomb.png").code == "too_many_pixels"


def test_pillow_bomb_warning_is_refused_and_does_not_escape() -> None:
    # 100 megapixels lies between Image.MAX_IMAGE_PIXELS and twice that: Pillow only warns.
    data = _png_claiming(10_000, 10_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = _rejected(data, "bomb.png", max_pixels=500_000_000)
    assert error.code == "too_many_pixels"
    assert caught == []


def test_pixel_limit_parameter_applies_to_a_small_compressible_file() -> None:
    data = _image("PNG", size=(400, 300))  # 120,000 pixels in a few hundred bytes
    assert len(data) < 2000
    assert _rejected(data, "plain.png", max_pixels=100_000).code == "too_many_pixels"
    assert _clean(data, "plain.png", max_pixels=120_000).width == 400


# --- PDF -------------------------------------------------------------------------------------


def test_minimal_pdf_is_stored_unchanged() -> None:
    pdf = _minimal_pdf()
    clean = _clean(pdf, "report.PDF")
    assert clean.data == pdf
    assert (clean.mime, clean.ext, clean.width, clean.height) == (
        "application/pdf",
        ".pdf",
        None,
        None,
    )


@pytest.mark.parametrize(
    "catalog",
    [
        b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 5 0 R >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>",
        b"<< /Type /Catalog /Pages 2 0 R /AA << /O << /S /Launch /F (cmd.exe) >> >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 5 0 R >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /X << /Type /EmbeddedFile >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /AA << /O << /S /X /JS(x) >> >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /Names << /J#61vaScript 5 0 R >> >>",
        b"<< /Type /Catalog /Pages 2 0 R /Open#41ction [3 0 R /Fit] >>",
    ],
)
def test_pdf_with_active_content_is_refused(catalog: bytes) -> None:
    # Object 5 must exist: a reference to no object is null (ISO 32000-1 §7.3.10), so a
    # viewer (and qpdf) sees no /JavaScript entry at all where it points nowhere.
    name_tree = b"<< /Names [(a) 3 0 R] >>"
    assert _rejected(_minimal_pdf(catalog, name_tree), "a.pdf").code == "active_content"


@pytest.mark.parametrize(
    "catalog",
    [
        b"<< /Type /Catalog /Pages 2 0 R /JSON 1 /Launcher 2 /OpenActionX 3 /js 4 >>",
        b"<< /Type /Catalog /Pages 2 0 R /Title (JavaScript and JS in a title) >>",
    ],
)
def test_names_that_only_look_alike_are_accepted(catalog: bytes) -> None:
    assert _clean(_minimal_pdf(catalog), "a.pdf").mime == "application/pdf"


def test_pdf_names_inside_binary_stream_data_are_not_mistaken_for_keys() -> None:
    image = _stream(
        b"\x00\xff/JS (x) /OpenAction \x80" * 20,
        b"/Type /XObject /Subtype /Image /Width 8 /Height 8 /BitsPerComponent 8 ",
    )
    assert _clean(_minimal_pdf(CATALOG, image), "a.pdf").mime == "application/pdf"


def test_pdf_with_clean_compressed_object_stream_is_accepted() -> None:
    objstm = _object_stream(b"<< /Type /Annot /Subtype /Text /Contents (ok) >>")
    assert _clean(_minimal_pdf(CATALOG, objstm), "a.pdf").mime == "application/pdf"


def test_pdf_with_javascript_hidden_in_compressed_object_stream_is_refused() -> None:
    objstm = _object_stream(b"<< /Type /Annot >>", b"<< /S /JavaScript /JS (app.alert(1)) >>")
    data = _minimal_pdf(CATALOG, objstm)
    assert b"JavaScript" not in data
    assert _rejected(data, "a.pdf").code == "active_content"


def test_pdf_object_stream_is_found_by_its_keys_even_when_padded_and_untyped() -> None:
    objstm = _object_stream(b"<< /OpenAction 3 0 R >>", typed=False, pad=10_000)
    assert _rejected(_minimal_pdf(CATALOG, objstm), "a.pdf").code == "active_content"


def test_first_and_n_in_other_objects_do_not_make_an_image_an_object_stream() -> None:
    outline = b"<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>"
    widget = b"<< /Type /Annot /Subtype /Widget /AP << /N 8 0 R >> >>"
    image = _stream(b"\xff\xd8\xff" + bytes(range(256)), b"/Subtype /Image /Filter /DCTDecode ")
    pdf = _minimal_pdf(CATALOG, outline, widget, image)
    assert _clean(pdf, "a.pdf").mime == "application/pdf"


def test_pdf_with_uncompressed_object_stream_is_read_too() -> None:
    objstm = _object_stream(b"<< /OpenAction 3 0 R >>", filters=b"")
    assert _rejected(_minimal_pdf(CATALOG, objstm), "a.pdf").code == "active_content"


@pytest.mark.parametrize("filters", [b"/LZWDecode", b"[/ASCII85Decode /FlateDecode]", b"5 0 R"])
def test_pdf_object_stream_in_an_encoding_we_cannot_read_is_refused(filters: bytes) -> None:
    objstm = _object_stream(b"<< /Type /Annot >>", filters=filters)
    error = _rejected(_minimal_pdf(CATALOG, objstm), "a.pdf")
    assert error.code == "active_content"
    assert "cannot be checked" in error.message_en


def test_encrypted_pdf_is_refused() -> None:
    # As above, /Encrypt must name an existing dictionary to make the file encrypted.
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>" % (b"ab" * 32, b"cd" * 32)
    error = _rejected(
        _minimal_pdf(CATALOG, encrypt, trailer=b"/Encrypt 5 0 R /ID [<01><01>] "), "a.pdf"
    )
    assert error.code == "active_content"
    assert "encrypted" in error.message_en


@pytest.mark.parametrize(
    "data",
    [
        _minimal_pdf()[:-7],  # cut before %%EOF
        _minimal_pdf() + b"%" + b"x" * 2000 + b"\n",  # %%EOF far from the end
        b"%PDF-1.7\n",
    ],
)
def test_pdf_without_end_of_file_marker_is_corrupt(data: bytes) -> None:
    assert _rejected(data, "a.pdf").code == "corrupt"


def test_pdf_with_broken_compressed_object_stream_is_corrupt() -> None:
    objstm = _stream(b"this is not zlib", b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode ")
    assert _rejected(_minimal_pdf(CATALOG, objstm), "a.pdf").code == "corrupt"


# --- storage ---------------------------------------------------------------------------------


def test_store_and_resolve_round_trip(tmp_path: Path) -> None:
    clean = _clean(_image("PNG"), "a.png")

    name = store(tmp_path, clean)
    other = store(tmp_path, clean)

    assert name != other
    first, second, filename = name.split("/")
    assert filename.endswith(".png") and len(filename) == 22 + len(".png")
    assert (first, second) == (filename[:2], filename[2:4])
    path = resolve(tmp_path, name)
    assert path == tmp_path / name
    assert path.read_bytes() == clean.data
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        [filename, other.split("/")[-1]]
    )


def test_store_leaves_no_temp_file_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(uploads.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        store(tmp_path, _clean(_minimal_pdf(), "a.pdf"))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "bad",
    [
        "../x",
        "/etc/passwd",
        "ab/../../x",
        "",
        "abcdefghijklmnopqrstuv.png",
        "xy/cd/abcdefghijklmnopqrstuv.png",  # fan-out does not match the name
        "ab/cd/abcdefghijklmnopqrstuv.exe",
        "ab\\cd\\abcdefghijklmnopqrstuv.png",
        "/ab/cd/abcdefghijklmnopqrstuv.png",
        "ab/cd/abcdefghijklmnopqrstuv.png/../../../etc/passwd",
        "ab/ab/ababababababababababab.png\n",
        "../ab/ababababababababababab.png",
    ],
)
def test_resolve_refuses_anything_store_cannot_produce(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a stored upload name"):
        resolve(tmp_path, bad)


def test_resolve_accepts_the_stored_name_shape(tmp_path: Path) -> None:
    assert resolve(tmp_path, "ab/cd/abcdefghijklmnopqrst-_.pdf") == (
        tmp_path / "ab" / "cd" / "abcdefghijklmnopqrst-_.pdf"
    )


def test_module_does_not_import_flask() -> None:
    tree = ast.parse(Path(uploads.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if "flask" in name}
