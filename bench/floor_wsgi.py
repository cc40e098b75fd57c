"""The floor for bench/api_load.py: a bare WSGI app answering fixed bytes, no Flask, no cache.

gunicorn serves it with the same flags as pinmap, so its figures show what the server and the
machine allow at that moment; the body is the cached offices answer (gzip), read from the file
named by PINMAP_BENCH_FLOOR_BODY.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BODY = Path(os.environ["PINMAP_BENCH_FLOOR_BODY"]).read_bytes()
HEADERS = [
    ("Content-Type", "application/geo+json"),
    ("Content-Encoding", "gzip"),
    ("Content-Length", str(len(BODY))),
    ("Cache-Control", "no-cache"),
]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
