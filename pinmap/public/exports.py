"""Downloads of public data: offices (CSV, XLSX, GeoJSON) and five-year results (CSV, XLSX),
all of them or the offices the map's filters choose (?q=&cluster=&province=&kind=&bp=&office=)."""

from __future__ import annotations

import json

from flask import Response, request

from ..db import get_session
from ..downloads import content_disposition
from ..security import current_actor
from ..services import exports, progress
from . import bp

_EXPORTS = {
    "offices": (exports.OFFICE_COLUMNS, exports.office_rows),
    "results": (exports.RESULT_COLUMNS, exports.result_rows),
}


def _chosen() -> list[str] | None:
    """Codes the request's filters choose (None: every office); a bad filter is a 400."""
    session = get_session()
    # The year of a best-practice filter's item: the one asked for, as on the map.
    fiscal_year = progress.shown_fiscal_year(
        session, current_actor().today_bangkok, request.args.get("fiscal_year", type=int)
    )
    filters = exports.filters_or_400(session, request.args, fiscal_year)
    return exports.chosen_codes(session, filters)


@bp.route("/exports/<any(offices, results):what>.<any(csv, xlsx):fmt>")
def export_table(what: str, fmt: str) -> Response:
    """Approved profiles (or results) of the chosen offices; cells safe from formula injection."""
    columns, rows_of = _EXPORTS[what]
    rows = rows_of(get_session(), _chosen())
    if fmt == "csv":
        body, mime = exports.to_csv(columns, rows), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx({what: (columns, rows)})
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = content_disposition(f"pinmap-{what}.{fmt}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/exports/offices.geojson")
def export_geojson() -> Response:
    body = json.dumps(exports.offices_geojson(get_session(), _chosen()), ensure_ascii=False)
    response = Response(body, mimetype="application/geo+json")
    response.headers["Content-Disposition"] = content_disposition("pinmap-offices.geojson")
    return response
