"""/basemap/<fingerprint>.topo.json: the embedded basemap every map draws, cached for a year.

The URL names the file's content hash, so a browser keeps it until the file changes and never
asks again; a stale fingerprint (a page rendered before a deploy) is redirected to the current
one. The body is gzipped once per process, not per request.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import Response, redirect, request, url_for

from geo.basemap import BASEMAP_FILE

from ..assets import IMMUTABLE
from . import bp


@dataclass(frozen=True)
class _Body:
    fingerprint: str
    raw: bytes
    gzipped: bytes


@cache
def _body() -> _Body:
    raw = BASEMAP_FILE.read_bytes()
    return _Body(hashlib.sha256(raw).hexdigest()[:16], raw, gzip.compress(raw, 9, mtime=0))


def basemap_url() -> str:
    return url_for("public.basemap", fingerprint=_body().fingerprint)


@bp.route("/basemap/<fingerprint>.topo.json")
def basemap(fingerprint: str) -> Any:
    body = _body()
    if fingerprint != body.fingerprint:
        return redirect(basemap_url())
    zipped = request.accept_encodings.quality("gzip") > 0
    response = Response(body.gzipped if zipped else body.raw, mimetype="application/json")
    if zipped:
        # flask-compress leaves a response that already has an encoding alone.
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = IMMUTABLE
    response.set_etag(body.fingerprint + ("-gzip" if zipped else ""))
    return response.make_conditional(request)
