"""Static files addressed by their content: browsers keep them for a year and never ask again.

`url_for("static", filename=...)` adds `?v=<digest of the file's bytes>`. A request naming the
file's current digest is answered `immutable`; any other (an old digest, none at all: a font a
stylesheet names by a relative URL) keeps Flask's `no-cache`, so it is revalidated as before.
A changed file gets a new digest, so the next page names a new URL and nobody sees a stale copy,
on any host: every host computes the same digest from the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.security import safe_join

YEAR_S = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR_S}, immutable"

# filename -> (mtime_ns, size, digest): a file is read again only when it changed on disk.
_Known = dict[str, tuple[int, int, str]]


def fingerprint(folder: str | os.PathLike[str], filename: str, known: _Known) -> str | None:
    """The first 16 hex digits of the SHA-256 of `folder/filename`; None for no such file."""
    path = safe_join(os.fspath(folder), filename)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    seen = known.get(filename)
    if seen and seen[:2] == (st.st_mtime_ns, st.st_size):
        return seen[2]
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:  # a directory, or gone since the stat
        return None
    known[filename] = (st.st_mtime_ns, st.st_size, digest)
    return digest


def init_app(app: Flask) -> None:
    folder = app.static_folder
    if folder is None:
        return
    known: _Known = {}

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and "filename" in values:
            digest = fingerprint(folder, str(values["filename"]), known)
            if digest:
                values["v"] = digest

    @app.after_request
    def cache_fingerprinted(response: Response) -> Response:
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        asked = request.args.get("v")
        filename = (request.view_args or {}).get("filename")
        if asked and filename and asked == fingerprint(folder, str(filename), known):
            response.headers["Cache-Control"] = IMMUTABLE
        return response
