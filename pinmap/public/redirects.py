"""Addresses that moved: the coaching pages were at the top level before /coaching owned them,
and best-practice working copies were folded into their practices (see the end).

Links and bookmarks to /clusters/13, /plans/7 and the like keep working: a GET gets a
permanent redirect to the same path under /coaching, query string kept. Writes are not
redirected (a browser would resend the form as a GET); their forms post to the new addresses.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from ..db import get_session
from ..models import BestPractice
from ..services import old_ids
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


# Best-practice pages named by the id of a working copy, from before best practices moved onto
# the workflow engine (the copy's row was folded into its practice's report): a permanent
# redirect (308, so a form is sent again to the new address) to the practice's page, where the
# audit log knows which practice the copy was of. Other unknown ids stay 404.
OLD_COPY_BLUEPRINTS = ("portal", "public")


@bp.before_app_request
def _old_working_copy() -> Response | None:
    args = request.view_args or {}
    old = args.get("bp_id")
    if not isinstance(old, int) or request.blueprint not in OLD_COPY_BLUEPRINTS:
        return None
    if not 0 < old < 2**31 or request.endpoint is None:
        return None
    session = get_session()
    if session.get(BestPractice, old) is not None:
        return None
    practice = old_ids.practice_of_copy(session, old)
    if practice is None:
        return None
    target = url_for(request.endpoint, **{**args, "bp_id": practice})
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, code=308)
