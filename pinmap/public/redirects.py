"""Addresses that moved: the coaching pages were at the top level before /coaching owned them.

Links and bookmarks to /clusters/13, /plans/7 and the like keep working: a GET gets a
permanent redirect to the same path under /coaching, query string kept. Writes are not
redirected (a browser would resend the form as a GET); their forms post to the new addresses.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import redirect, request
from werkzeug.wrappers import Response

from . import bp

MOVED_TO_COACHING = ("clusters", "dashboard", "rounds", "plans")


def _to_coaching(**_args: str) -> Response:
    # Built from the path itself, so it stays on this site: "/coaching" + a path beginning "/".
    target = "/coaching" + quote(request.path)
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(request.script_root + target, code=301)


for _prefix in MOVED_TO_COACHING:
    bp.add_url_rule(f"/{_prefix}", f"old_{_prefix}", _to_coaching, methods=["GET"])
    bp.add_url_rule(
        f"/{_prefix}/<path:rest>", f"old_{_prefix}_pages", _to_coaching, methods=["GET"]
    )
