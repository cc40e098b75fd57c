"""Checking, cleaning and storing the evidence files office staff attach to progress reports."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import posixpath
import re
import secrets
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

import pikepdf
from defusedxml import ElementTree as SafeET
from PIL import Image, ImageOps
from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from .errors import N_

RejectCode = Literal[
    "too_large",
    "empty",
    "unsupported_type",
    "disguised",
    "corrupt",
    "too_many_pixels",
    "active_content",
]

DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS: Final = 40_000_000

# Fixed msgids, so the web layer can translate them with gettext; marked N_ for extraction.
_MESSAGES: Final[dict[RejectCode, str]] = {
    "too_large": N_("The file is larger than the upload limit."),
    "empty": N_("The file is empty."),
    "unsupported_type": N_("Only JPEG, PNG and WebP images and PDF documents can be uploaded."),
    "disguised": N_("The file's content does not match its file name extension."),
    "corrupt": N_("The file is damaged or incomplete and cannot be read."),
    "too_many_pixels": N_("The image has too many pixels; please upload a smaller image."),
    "active_content": N_(
        "The PDF contains scripts, automatic actions or attached files, which are not allowed."
    ),
}
_PDF_ENCRYPTED = N_(
    "The PDF is encrypted, so it cannot be checked; please upload an unprotected copy."
)
_PDF_UNCHECKABLE = N_("The PDF is encoded in a way that cannot be checked for active content.")
_PDF_TOO_MANY_OBJECTS = N_("The PDF has too many parts to be checked for active content.")
_PDF_NO_EOF = N_("The PDF is incomplete: its end-of-file marker is missing.")
_OFFICE_TYPES = N_(
    "Only PDF documents, JPEG, PNG and WebP images, and Word, Excel and PowerPoint files"
    " (.docx, .xlsx, .pptx) can be uploaded."
)
_OFFICE_MACROS = N_(
    "Files with macros (such as .docm or .xlsm) cannot be uploaded; save the file as .docx,"
    " .xlsx or .pptx without macros."
)
_OFFICE_LEGACY = N_(
    "Old-format or password-protected Office files (such as .doc or .xls) cannot be uploaded;"
    " save the file without a password as .docx, .xlsx or .pptx."
)
_OFFICE_TOO_BIG = N_("The file unpacks to more than the allowed size or has too many parts.")
_OFFICE_CORRUPT = N_(
    "The file is damaged or is not a Word, Excel or PowerPoint file and cannot be read."
)


class UploadRejected(ValueError):
    """`code` is for programs; `message_en` is an English msgid for gettext."""

    def __init__(self, code: RejectCode, message_en: str | None = None) -> None:
        self.code: RejectCode = code
        self.message_en: str = message_en or _MESSAGES[code]
        super().__init__(f"{code}: {self.message_en}")


@dataclass(frozen=True)
class CleanFile:
    """An accepted upload: images re-encoded without metadata, PDFs as sent."""

    data: bytes = field(repr=False)
    mime: str
    ext: str
    width: int | None
    height: int | None
    sha256: str


@dataclass(frozen=True, eq=False)
class _Kind:
    mime: str
    ext: str
    extensions: frozenset[str]
    pil_format: str | None
    save_options: dict[str, Any] = field(default_factory=dict)


_JPEG = _Kind(
    "image/jpeg", ".jpg", frozenset({".jpg", ".jpeg"}), "JPEG", {"quality": 85, "optimize": True}
)
_PNG = _Kind("image/png", ".png", frozenset({".png"}), "PNG", {"optimize": True})
_WEBP = _Kind("image/webp", ".webp", frozenset({".webp"}), "WEBP", {"quality": 85})
_PDF = _Kind("application/pdf", ".pdf", frozenset({".pdf"}), None)
_KINDS: Final = (_JPEG, _PNG, _WEBP, _PDF)
# Office Open XML, for the help centre's library only (offices download forms and fill them in);
# never evidence or photos. Always sent as a download, never shown in the browser.
_DOCX = _Kind(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".docx",
    frozenset({".docx"}),
    None,
)
_XLSX = _Kind(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsx",
    frozenset({".xlsx"}),
    None,
)
_PPTX = _Kind(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".pptx",
    frozenset({".pptx"}),
    None,
)
_OFFICE_KINDS: Final = (_DOCX, _XLSX, _PPTX)
OFFICE_MIMES: Final = frozenset(k.mime for k in _OFFICE_KINDS)
# Extensions refused with their own message: macro-enabled and legacy binary Office formats.
_MACRO_EXTENSIONS: Final = frozenset(
    {".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppam", ".ppsm", ".sldm"}
)
_LEGACY_EXTENSIONS: Final = frozenset({".doc", ".dot", ".xls", ".xlt", ".ppt", ".pot", ".pps"})

# Modes each encoder writes faithfully; anything else is converted before saving.
_KEEP_MODES: Final = {
    _JPEG: {"L", "RGB"},
    _PNG: {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"},
    _WEBP: {"RGB", "RGBA"},
}

_STORED_NAME = re.compile(
    r"([A-Za-z0-9_-]{2})/([A-Za-z0-9_-]{2})/\1\2[A-Za-z0-9_-]{18}\.(?:jpg|png|webp|pdf|docx|xlsx|pptx)"
)


def clean_upload(
    stream: IO[bytes],
    filename: str | None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    office: bool = False,
) -> CleanFile:
    """Read, check and clean one upload, or raise UploadRejected.

    `filename` serves only to check that its extension names the type the content shows.
    `office` also accepts Word, Excel and PowerPoint files (.docx, .xlsx, .pptx) without macros.
    """
    data = _read_at_most(stream, max_bytes)
    if not data:
        raise UploadRejected("empty")
    kinds = _KINDS + _OFFICE_KINDS if office else _KINDS
    claimed = _kind_from_name(filename or "", kinds)
    if claimed is None:
        if office:
            ext = _extension(filename or "")
            if ext in _MACRO_EXTENSIONS:
                raise UploadRejected("active_content", _OFFICE_MACROS)
            if ext in _LEGACY_EXTENSIONS:
                raise UploadRejected("unsupported_type", _OFFICE_LEGACY)
            raise UploadRejected("unsupported_type", _OFFICE_TYPES)
        raise UploadRejected("unsupported_type")
    sniffed = _sniff(data)
    if claimed in _OFFICE_KINDS:
        if data.startswith(_OLE_MAGIC):
            # What Office writes for a password-protected file, and the old binary formats.
            raise UploadRejected("unsupported_type", _OFFICE_LEGACY)
        if sniffed is not _ZIP:
            raise UploadRejected("disguised")
        _check_office(data, claimed)
    elif sniffed is not claimed:
        raise UploadRejected("disguised")
    width = height = None
    if claimed is _PDF:
        _check_pdf(data)
    elif claimed not in _OFFICE_KINDS:
        data, width, height = _reencode(data, claimed, max_pixels)
    return CleanFile(
        data=data,
        mime=claimed.mime,
        ext=claimed.ext,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def store(upload_dir: Path, clean: CleanFile, session: Session | None = None) -> str:
    """Write the file under a new random name; returns the name relative to `upload_dir`.

    With a session, the file lives or dies with the session's transaction: a rollback (or a
    session closed without commit) deletes it, so a refused upload leaves nothing behind.
    """
    name = secrets.token_urlsafe(16) + clean.ext
    folder = upload_dir / name[:2] / name[2:4]
    folder.mkdir(parents=True, exist_ok=True)
    # A temp file in the target folder makes os.replace an atomic rename: readers never see
    # a half-written file under the final name.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o640)
            fh.write(clean.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if session is not None:
        if not session.in_transaction():
            session.begin()  # a transaction to end, so the hooks below always get to decide
        session.info.setdefault(_PENDING_FILES, []).append(folder / name)
    return f"{name[:2]}/{name[2:4]}/{name}"


# Files are written before the rows that name them (a row never points at nothing); these
# hooks remove the files whose transaction did not commit.
_PENDING_FILES: Final = "pinmap.uploads.pending"


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    session.info.pop(_PENDING_FILES, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted_files(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    for path in session.info.pop(_PENDING_FILES, ()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def referenced_names(session: Session) -> set[str]:
    """Every stored name a row refers to (evidence, photos and thumbnails, attachments, the
    library's document versions)."""
    names = session.scalars(
        text(
            "SELECT stored_name FROM evidence WHERE stored_name IS NOT NULL"
            " UNION SELECT stored_name FROM photos UNION SELECT thumb_name FROM photos"
            # The help centre's library keeps every version's file.
            " UNION SELECT stored_name FROM help_document_versions WHERE stored_name IS NOT NULL"
            # Files attached to any workflow revision (best practices' attachments).
            " UNION SELECT a->>'stored_name' FROM workflow_revisions r,"
            " jsonb_array_elements(CASE WHEN jsonb_typeof(r.data->'attachments') = 'array'"
            " THEN r.data->'attachments' ELSE '[]'::jsonb END) AS a"
        )
    )
    return {name for name in names if name}


def orphan_files(session: Session, upload_dir: Path, min_age_s: float) -> list[Path]:
    """Stored files no row refers to, older than `min_age_s` (younger ones may be mid-request)."""
    if not upload_dir.is_dir():
        return []
    known = referenced_names(session)
    cutoff = time.time() - min_age_s
    found = []
    for path in sorted(upload_dir.glob("*/*/*")):
        name = path.relative_to(upload_dir).as_posix()
        if not path.is_file() or path.stat().st_mtime > cutoff:
            continue
        # Half-written temp files of a killed process have their own prefix; sweep them too.
        if name not in known and (_STORED_NAME.fullmatch(name) or path.name.startswith(".upload-")):
            found.append(path)
    return found


def resolve(upload_dir: Path, stored_name: str) -> Path:
    """The path of a name store() returned; ValueError for anything store() cannot produce."""
    # Only store()'s own shape is accepted, which leaves no room for "..", "/" or "\\".
    if not isinstance(stored_name, str) or not _STORED_NAME.fullmatch(stored_name):
        raise ValueError(f"not a stored upload name: {stored_name!r}")
    return upload_dir / stored_name


def _read_at_most(stream: IO[bytes], max_bytes: int) -> bytes:
    # One byte more than allowed is enough to know it is too large, whatever the real size.
    wanted = max_bytes + 1
    chunks: list[bytes] = []
    got = 0
    while got < wanted:
        chunk = stream.read(wanted - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    if got > max_bytes:
        raise UploadRejected("too_large")
    return b"".join(chunks)


def _extension(filename: str) -> str:
    base = re.split(r"[/\\]", filename.strip())[-1]
    _, dot, ext = base.rpartition(".")
    return "." + ext.lower() if dot else ""


def _kind_from_name(filename: str, kinds: tuple[_Kind, ...] = _KINDS) -> _Kind | None:
    ext = _extension(filename)
    if not ext:
        return None
    return next((k for k in kinds if ext in k.extensions), None)


_ZIP = _Kind("application/zip", ".zip", frozenset(), None)  # only what sniffing a zip returns
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _sniff(data: bytes) -> _Kind | None:
    if data.startswith(b"PK\x03\x04"):
        return _ZIP
    if data.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _WEBP
    if data.startswith(b"%PDF-"):
        return _PDF
    return None


# --- images ----------------------------------------------------------------------------------


def _reencode(data: bytes, kind: _Kind, max_pixels: int) -> tuple[bytes, int, int]:
    fmt = kind.pil_format
    if fmt is None:
        raise TypeError(f"{kind.mime} is not an image type")
    with warnings.catch_warnings():
        # Pillow warns about odd metadata, which is dropped anyway; under `-W error` such a
        # warning would otherwise surface as an exception. Its decompression-bomb warning
        # (more than Image.MAX_IMAGE_PIXELS) must stop us, so that one becomes an error.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # formats= keeps Pillow from trying any other decoder on this content.
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                # The header gives the size before any pixel is decoded.
                if im.width * im.height > max_pixels:
                    raise UploadRejected("too_many_pixels")
                upright = ImageOps.exif_transpose(im)
            clean = _plain_pixels(upright, kind)
            out = io.BytesIO()
            clean.save(out, format=fmt, **kind.save_options)
        except UploadRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRejected("too_many_pixels") from exc
        except Exception as exc:
            # Decoders fail on hostile input in many ways (OSError, SyntaxError, ValueError,
            # struct.error, ...); for the user every one of them means the same thing.
            raise UploadRejected("corrupt") from exc
    return out.getvalue(), clean.width, clean.height


def _plain_pixels(im: Image.Image, kind: _Kind) -> Image.Image:
    if im.mode not in _KEEP_MODES[kind]:
        has_alpha = "A" in im.getbands() or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha and kind is not _JPEG else "RGB")
    # Encoders pick some metadata (ICC profile, comments) from .info, so keep only what is
    # pixel data in disguise: a PNG's transparent colour or palette alpha.
    keep = {"transparency"} if kind is _PNG else set()
    im.info = {k: v for k, v in im.info.items() if k in keep}
    return im


# --- PDF -------------------------------------------------------------------------------------

_PDF_TAIL: Final = 1024
# Keys that run code, act on opening or on events, carry files or forms that post data.
_ACTIVE_KEYS: Final = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/AA",
        "/OpenAction",
        "/EmbeddedFiles",
        "/EF",
        "/XFA",
        "/RichMediaContent",
        "/RichMediaSettings",
        "/RichMediaExecute",
    }
)
# Action types (/S); a link to a web address (/URI) or a page (/GoTo) stays allowed.
_ACTIVE_ACTIONS: Final = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/RichMediaExecute",
        "/GoToE",
        "/Rendition",
        "/Movie",
        "/Sound",
    }
)
# Object and annotation types (/Type, /Subtype) that carry files or play media.
_ACTIVE_TYPES: Final = frozenset(
    {"/EmbeddedFile", "/RichMedia", "/FileAttachment", "/Screen", "/Movie", "/Sound", "/3D"}
)
_PDF_MAX_OBJECTS: Final = 100_000  # a 500-page report with its fonts has some tens of thousands
_PDF_MAX_ITEMS: Final = 1_000_000  # dictionary entries and array items walked in one file
_PDF_MAX_DECODED: Final = 16 * 1024 * 1024  # qpdf's limit for one decoded stream

# qpdf decodes object streams in full when it reads the objects they hold; without a limit
# a 500 KB PDF made qpdf take 500 MB. The limits are process-wide, and pikepdf is ours alone.
pikepdf.settings.set_qpdf_limits(
    flate_max_memory=_PDF_MAX_DECODED,
    run_length_max_memory=_PDF_MAX_DECODED,
    png_max_memory=_PDF_MAX_DECODED,
    tiff_max_memory=_PDF_MAX_DECODED,
)


def _check_pdf(data: bytes) -> None:
    """Refuse a PDF that qpdf cannot read, or that holds active content anywhere."""
    if b"%%EOF" not in data[-_PDF_TAIL:]:
        raise UploadRejected("corrupt", _PDF_NO_EOF)
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise UploadRejected("active_content", _PDF_ENCRYPTED) from exc
    except (pikepdf.PdfError, ValueError, OverflowError) as exc:
        raise UploadRejected("corrupt") from exc
    with pdf:
        if pdf.is_encrypted or "/Encrypt" in pdf.trailer:
            raise UploadRejected("active_content", _PDF_ENCRYPTED)
        try:
            _PdfWalk(pdf).run()
        except UploadRejected:
            raise
        except (pikepdf.PdfError, ValueError, OverflowError, RecursionError) as exc:
            raise UploadRejected("corrupt") from exc


class _PdfWalk:
    """Every dictionary and array of a PDF, each object visited once, looking for active content.

    qpdf reads the objects the cross-reference table lists; a viewer that rebuilds a damaged
    table also finds objects in object streams the table does not name, so those are read too.
    """

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.items = 0
        self.xref = pdf.get_xref_table()

    def run(self) -> None:
        # Each object costs a few microseconds in Python; a small file can hold a great many.
        if len(self.xref) > _PDF_MAX_OBJECTS:
            raise UploadRejected("active_content", _PDF_TOO_MANY_OBJECTS)
        self._walk(self.pdf.trailer)
        for obj in self.pdf.objects:
            self._walk(obj)
            if isinstance(obj, pikepdf.Stream) and self._is_object_stream(obj):
                self._check_held(obj)

    @staticmethod
    def _is_object_stream(stream: pikepdf.Stream) -> bool:
        # /Type may be left out; /N and /First are what readers go by.
        return stream.get("/Type") == pikepdf.Name.ObjStm or ("/N" in stream and "/First" in stream)

    def _check_held(self, stream: pikepdf.Stream) -> None:
        try:
            body = stream.read_bytes()
            header = body[: int(stream.get("/First", 0))].split()
            if len(header) != 2 * int(stream.get("/N", 0)) or not all(n.isdigit() for n in header):
                raise ValueError("not an object stream's header of object numbers and offsets")
        except (pikepdf.PdfError, ValueError, TypeError) as exc:
            # qpdf decodes every standard filter; it fails on damage, on a limit (a stream
            # that decodes to more than _PDF_MAX_DECODED), or on a filter that is no filter.
            if stream.get("/Filter") in (None, pikepdf.Name.FlateDecode):
                raise UploadRejected("corrupt") from exc
            raise UploadRejected("active_content", _PDF_UNCHECKABLE) from exc
        if self._all_listed(stream.objgen[0], [int(n) for n in header[::2]]):
            return  # every object it holds was walked above
        # The held objects are read with qpdf's own tokenizer (pikepdf cannot parse an object
        # with references outside a document): names are decoded (/J#61vaScript), strings
        # and comments are not mistaken for names.
        scratch = pikepdf.new()
        scratch.add_blank_page()
        page = scratch.pages[0]
        page.obj.Contents = scratch.make_stream(body)
        names = _HeldNames()
        page.get_filtered_contents(names)
        if names.active:
            raise UploadRejected("active_content")

    def _all_listed(self, stream_no: int, numbers: list[int]) -> bool:
        """Whether the table names every object the stream holds, where the stream holds it."""
        for index, number in enumerate(numbers):
            entry = self.xref.get((number, 0))
            if entry is None or (entry.type, entry.obj_stream_number, entry.obj_stream_index) != (
                2,
                stream_no,
                index,
            ):
                return False
        return True

    def _walk(self, root: pikepdf.Object) -> None:
        stack = [root]
        while stack:
            obj = stack.pop()
            if isinstance(obj, pikepdf.Stream):
                obj = obj.stream_dict
            if isinstance(obj, pikepdf.Dictionary):
                self._check(obj)
                children = list(obj.values())
            elif isinstance(obj, pikepdf.Array):
                children = list(obj)
            else:
                continue
            self.items += len(children)
            if self.items > _PDF_MAX_ITEMS:
                raise UploadRejected("active_content", _PDF_UNCHECKABLE)
            # Indirect objects are visited on their own: following them would go round cycles.
            stack.extend(c for c in children if isinstance(c, pikepdf.Object) and not c.is_indirect)

    @staticmethod
    def _check(obj: pikepdf.Dictionary) -> None:
        if not _ACTIVE_KEYS.isdisjoint(obj.keys()):
            raise UploadRejected("active_content")
        for key, kinds in _KIND_OF.items():
            value = obj.get(key)
            if isinstance(value, pikepdf.Name) and str(value) in kinds:
                raise UploadRejected("active_content")


class _HeldNames(pikepdf.TokenFilter):
    """Whether the tokens of an object stream's body name active content."""

    def __init__(self) -> None:
        super().__init__()
        self.active = False
        self.last: pikepdf.Token | None = None

    def handle_token(self, token: pikepdf.Token) -> None:
        if token.type_ == pikepdf.TokenType.name_:
            kinds = _KIND_OF.get(self.last.value) if self.last is not None else None
            if token.value in _ACTIVE_KEYS or (kinds is not None and token.value in kinds):
                self.active = True
        if token.type_ not in (pikepdf.TokenType.space, pikepdf.TokenType.comment):
            self.last = token if token.type_ == pikepdf.TokenType.name_ else None
        return None


_KIND_OF: Final = {"/S": _ACTIVE_ACTIONS, "/Type": _ACTIVE_TYPES, "/Subtype": _ACTIVE_TYPES}


# --- Office Open XML -------------------------------------------------------------------------

_OFFICE_MAX_MEMBERS: Final = 2_000  # a 200-slide deck with its media has a few hundred parts
_OFFICE_MAX_UNPACKED: Final = 100 * 1024 * 1024  # all parts together, as unpacked
_OFFICE_MAX_XML: Final = 1024 * 1024  # [Content_Types].xml and _rels/.rels each
_CT_NS: Final = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS: Final = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# The package's main part, as transitional and as strict Office Open XML name it.
_MAIN_RELATIONSHIPS: Final = frozenset(
    {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
    }
)
_MAIN_CONTENT_TYPES: Final = {
    _DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    _XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    _PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}


def _check_office(data: bytes, kind: _Kind) -> None:
    """Refuse a .docx/.xlsx/.pptx that is not a sound package of that kind, or holds macros.

    Bounded before anything is unpacked: the number of parts and their total unpacked size
    (zipfile never unpacks a part beyond the size its header states, and checks its CRC).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
            if len(members) > _OFFICE_MAX_MEMBERS:
                raise UploadRejected("too_large", _OFFICE_TOO_BIG)
            if sum(m.file_size for m in members) > _OFFICE_MAX_UNPACKED:
                raise UploadRejected("too_large", _OFFICE_TOO_BIG)
            names = [m.filename for m in members]
            if len(set(names)) != len(names) or any(m.flag_bits & 0x1 for m in members):
                # Two parts of one name are read differently by different programs;
                # an encrypted part cannot be checked.
                raise UploadRejected("corrupt", _OFFICE_CORRUPT)
            if any(n.rsplit("/", 1)[-1].lower() == "vbaproject.bin" for n in names):
                raise UploadRejected("active_content", _OFFICE_MACROS)
            types = _xml(package, "[Content_Types].xml")
            rels = _xml(package, "_rels/.rels")
            # Every part is read once: damage anywhere (a bad CRC) is refused now, not when an
            # office opens the form.
            for member in members:
                with package.open(member) as fh:
                    while fh.read(1024 * 1024):
                        pass
    except UploadRejected:
        raise
    except Exception as exc:
        # A missing part (KeyError), a bad zip or CRC, zlib's errors, an unknown compression
        # (NotImplementedError) and the XML parser's errors, including defusedxml's refusals
        # of entities: for the user each of them means the same thing.
        raise UploadRejected("corrupt", _OFFICE_CORRUPT) from exc
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for node in types:
        tag, ctype = node.tag, (node.get("ContentType") or "").strip().lower()
        if tag == _CT_NS + "Default":
            defaults[(node.get("Extension") or "").lower()] = ctype
        elif tag == _CT_NS + "Override":
            overrides[(node.get("PartName") or "").lower()] = ctype
    if any(
        "macroenabled" in t or "vbaproject" in t for t in (*defaults.values(), *overrides.values())
    ):
        raise UploadRejected("active_content", _OFFICE_MACROS)
    targets = [
        (node.get("Target") or "").strip()
        for node in rels
        if node.tag == _REL_NS + "Relationship"
        and node.get("Type") in _MAIN_RELATIONSHIPS
        and node.get("TargetMode", "Internal") == "Internal"
    ]
    if len(targets) != 1:
        raise UploadRejected("corrupt", _OFFICE_CORRUPT)
    # The package's relationships are relative to its root ("word/document.xml", "/word/…").
    part = posixpath.normpath("/" + targets[0].lstrip("/"))
    if part.lstrip("/") not in names:
        raise UploadRejected("corrupt", _OFFICE_CORRUPT)
    ext = part.rsplit("/", 1)[-1].rpartition(".")[2].lower()
    ctype = overrides.get(part.lower(), defaults.get(ext, ""))
    if ctype != _MAIN_CONTENT_TYPES[kind]:
        raise UploadRejected("disguised")


def _xml(package: zipfile.ZipFile, name: str) -> Any:
    """One small XML part, parsed without entities or DTDs (defusedxml refuses them)."""
    with package.open(name) as fh:
        text = fh.read(_OFFICE_MAX_XML + 1)
    if len(text) > _OFFICE_MAX_XML:
        raise UploadRejected("too_large", _OFFICE_TOO_BIG)
    return SafeET.fromstring(text)
