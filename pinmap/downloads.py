"""Names of downloaded files, and the Content-Disposition header that carries them (RFC 6266).

Uploaded files keep the name their sender gave, which may hold path parts ("C:\\fakepath\\a.pdf",
"../../etc/passwd"), control characters, quotes or right-to-left overrides ("exe.pdf" shown
backwards). Every download names its file through here: a plain base name, sent as an ASCII
`filename` for old clients and, when it is not ASCII (Thai), as `filename*` in UTF-8 (RFC 5987).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from flask import Response, send_file

MAX_NAME: Final = 150  # characters; file systems take 255 bytes, and Thai is 3 bytes each
# Control, format (bidi overrides, zero-width), unassigned, private-use and surrogate code
# points, and line or paragraph separators: none belongs in a file name.
_DROP_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})
_DROP_CHARS: Final = frozenset("\"'`<>:*?|")  # quotes, and what Windows refuses in names
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._()+, -]+")
# RFC 5987 attr-char, as werkzeug's send_file uses it.
_ATTR_CHARS: Final = "!#$&+-.^_`|~"


def download_name(name: str | None, default: str = "download") -> str:
    """The last path part of `name`, without characters that do not belong in a file name."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if _keep(ch))
    base = " ".join(base.split()).strip(" .")  # no leading dots (hidden files, "..")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        keep = dot + ext if dot and len(ext) <= 10 else ""
        base = base[: MAX_NAME - len(keep)].rstrip(" .") + keep
    return base or default


def _keep(ch: str) -> bool:
    return ch not in _DROP_CHARS and unicodedata.category(ch) not in _DROP_CATEGORIES


def _ascii_fallback(name: str, default: str) -> str:
    simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    simple = _ASCII_UNSAFE.sub("_", simple).strip(" ._")
    stem, dot, ext = name.rpartition(".")
    if not simple or simple.startswith(".") or (dot and simple == ext):
        # A Thai name has no ASCII letters left: keep the extension at least.
        simple = default + (dot + _ASCII_UNSAFE.sub("", ext) if dot else "")
    return simple


def content_disposition(
    name: str | None, *, inline: bool = False, default: str = "download"
) -> str:
    """The Content-Disposition value for a file called `name` (made safe here)."""
    safe = download_name(name, default)
    fallback = _ascii_fallback(safe, default)
    # The fallback holds no quote or backslash (_ASCII_UNSAFE), so it can be quoted as it is.
    value = f'{"inline" if inline else "attachment"}; filename="{fallback}"'
    if fallback != safe:
        value += "; filename*=UTF-8''" + quote(safe, safe=_ATTR_CHARS)
    return value


def send_download(
    path: Path, mimetype: str, name: str | None, *, as_attachment: bool, **options: Any
) -> Response:
    """send_file, with the file's name made safe and sent the same way as every other."""
    response = send_file(
        path,
        mimetype=mimetype,
        download_name=download_name(name),
        as_attachment=as_attachment,
        **options,
    )
    response.headers["Content-Disposition"] = content_disposition(name, inline=not as_attachment)
    return response
