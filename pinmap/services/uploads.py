"""Checking, cleaning and storing the evidence files office staff attach to progress reports."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal

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
_PDF_NO_EOF = N_("The PDF is incomplete: its end-of-file marker is missing.")


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


_JPEG = _Kind("image/jpeg", ".jpg", frozenset({".jpg", ".jpeg"}), "JPEG",
              {"quality": 85, "optimize": True})  # fmt: skip
_PNG = _Kind("image/png", ".png", frozenset({".png"}), "PNG", {"optimize": True})
_WEBP = _Kind("image/webp", ".webp", frozenset({".webp"}), "WEBP", {"quality": 85})
_PDF = _Kind("application/pdf", ".pdf", frozenset({".pdf"}), None)
_KINDS: Final = (_JPEG, _PNG, _WEBP, _PDF)

# Modes each encoder writes faithfully; anything else is converted before saving.
_KEEP_MODES: Final = {
    _JPEG: {"L", "RGB"},
    _PNG: {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"},
    _WEBP: {"RGB", "RGBA"},
}

_STORED_NAME = re.compile(
    r"([A-Za-z0-9_-]{2})/([A-Za-z0-9_-]{2})/\1\2[A-Za-z0-9_-]{18}\.(?:jpg|png|webp|pdf)"
)


def clean_upload(
    stream: BinaryIO,
    filename: str | None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> CleanFile:
    """Read, check and clean one upload, or raise UploadRejected.

    `filename` serves only to check that its extension names the type the content shows.
    """
    data = _read_at_most(stream, max_bytes)
    if not data:
        raise UploadRejected("empty")
    claimed = _kind_from_name(filename or "")
    if claimed is None:
        raise UploadRejected("unsupported_type")
    if _sniff(data) is not claimed:
        raise UploadRejected("disguised")
    width = height = None
    if claimed is _PDF:
        _check_pdf(data)
    else:
        data, width, height = _reencode(data, claimed, max_pixels)
    return CleanFile(data=data, mime=claimed.mime, ext=claimed.ext, width=width, height=height,
                     sha256=hashlib.sha256(data).hexdigest())  # fmt: skip


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
    """Every stored name a row refers to (evidence, photos and thumbnails, attachments)."""
    rows = session.execute(text(
        "SELECT stored_name FROM evidence WHERE stored_name IS NOT NULL"
        " UNION SELECT stored_name FROM photos UNION SELECT thumb_name FROM photos"
        " UNION SELECT a->>'stored_name' FROM best_practices,"
        " jsonb_array_elements(attachments) AS a"
    ))  # fmt: skip
    return {name for (name,) in rows if name}


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


def _read_at_most(stream: BinaryIO, max_bytes: int) -> bytes:
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


def _kind_from_name(filename: str) -> _Kind | None:
    base = re.split(r"[/\\]", filename.strip())[-1]
    _, dot, ext = base.rpartition(".")
    if not dot:
        return None
    ext = "." + ext.lower()
    return next((k for k in _KINDS if ext in k.extensions), None)


def _sniff(data: bytes) -> _Kind | None:
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
# Names that run code, act on opening or carry files; EmbeddedFiles is the name-tree key.
_ACTIVE_NAMES: Final = frozenset(
    {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"OpenAction"}
)
_PDF_FILTERS: Final = frozenset(
    {b"ASCIIHexDecode", b"ASCII85Decode", b"LZWDecode", b"FlateDecode", b"RunLengthDecode",
     b"CCITTFaxDecode", b"JBIG2Decode", b"DCTDecode", b"JPXDecode", b"Crypt",
     b"AHx", b"A85", b"LZW", b"Fl", b"RL", b"CCF", b"DCT"}
)  # fmt: skip
_OBJSTM_BUDGET: Final = 64 * 1024 * 1024
_WS = rb"[\x00\t\n\x0c\r ]"
_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb">>" + _WS + rb"*stream(?:\r\n|\n|\r)")
# Bounded repeats: unbounded ones backtrack quadratically on long runs of digits.
_OBJ_HEADER = re.compile(rb"\d{1,10}" + _WS + rb"{1,20}\d{1,5}" + _WS + rb"{1,20}obj\b")
_OBJSTM_KEYS: Final = frozenset({b"First", b"N"})


def _check_pdf(data: bytes) -> None:
    if b"%%EOF" not in data[-_PDF_TAIL:]:
        raise UploadRejected("corrupt", _PDF_NO_EOF)
    # Stream bodies are binary (images, fonts, page content) and would match "/JS" by
    # chance now and then, so only the object syntax between them is read; object streams
    # are the exception, as they hold whole dictionaries, compressed.
    budget = _OBJSTM_BUDGET
    pos = 0
    while (start := _STREAM_START.search(data, pos)) is not None:
        end = data.find(b"endstream", start.end())
        if end < 0:
            break  # unterminated: the rest is read as object syntax below
        region = data[pos : start.start()]
        names = _names(region)
        _refuse_active(names)
        # /Type /ObjStm may be left out; /First and /N of this very object are what readers
        # need (other objects since the last stream may have them, e.g. outlines and /AP).
        if b"ObjStm" in names or (
            _OBJSTM_KEYS <= names and _OBJSTM_KEYS <= _names(_last_object(region))
        ):
            body = _decode_object_stream(data[start.end() : end], names, budget)
            budget -= len(body)
            _refuse_active(_names(body))
        pos = end + len(b"endstream")
    _refuse_active(_names(data[pos:]))


def _names(chunk: bytes) -> set[bytes]:
    # findall and a set keep this in C even for a file made of ten million slashes.
    raw = set(_NAME.findall(chunk))
    # "/J#61vaScript" is the same name as "/JavaScript".
    return {_NAME_ESCAPE.sub(_unescape, name) if b"#" in name else name for name in raw}


def _unescape(match: re.Match[bytes]) -> bytes:
    return bytes([int(match.group(1), 16)])


def _last_object(region: bytes) -> bytes:
    headers = list(_OBJ_HEADER.finditer(region))
    return region[headers[-1].end() :] if headers else region


def _refuse_active(names: set[bytes]) -> None:
    if names & _ACTIVE_NAMES:
        raise UploadRejected("active_content")
    if b"Encrypt" in names:
        raise UploadRejected("active_content", _PDF_ENCRYPTED)


def _decode_object_stream(body: bytes, names: set[bytes], budget: int) -> bytes:
    filters = names & _PDF_FILTERS
    if not filters and b"Filter" not in names:
        return body
    # Anything but plain Flate (another filter, an indirect /Filter, a predictor) is rare in
    # object streams and would need a PDF library to decode.
    if filters not in ({b"FlateDecode"}, {b"Fl"}) or b"DecodeParms" in names:
        raise UploadRejected("active_content", _PDF_UNCHECKABLE)
    try:
        out = zlib.decompressobj().decompress(body, budget + 1)
    except zlib.error as exc:
        raise UploadRejected("corrupt") from exc
    if len(out) > budget:
        raise UploadRejected("too_large")
    return out
