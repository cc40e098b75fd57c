"""/results/levels: the share of offices at or above a performance level, nationally and per
cluster, in a fiscal year and across years (chart and table, CSV/XLSX); filters in the URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from ..charts import Line, bar_chart, line_chart
from ..db import get_session
from ..downloads import content_disposition
from ..services import levels as svc
from ..services import results as result_svc
from ..tables import csv_text, xlsx_bytes
from . import bp


@dataclass
class Filters:
    fiscal_year: int | None
    category: str
    indicator: str
    level: int
    cluster: int | None
    choices: dict[int, list[tuple[str, str]]]


def _thai() -> bool:
    return str(get_locale() or "th") == "th"


def _filters(*, strict: bool = False) -> Filters:
    """What the URL asks for, defaulting to the latest year that has a scale. A malformed value
    is a 400. On the page, a category or indicator the year has no scale for falls back to the
    year's first (changing the year keeps working); a download (`strict`) answers 404 instead."""
    args = request.args
    for name in ("fiscal_year", "level", "cluster"):
        raw = args.get(name, "")
        if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
            abort(400, description=_("%(field)s must be a whole number.", field=name))
    if len(args.get("indicator", "")) > 200 or len(args.get("category", "")) > 30:
        abort(400, description=_("The indicator is longer than 200 characters."))
    choices = svc.choices(get_session())
    year = int(args["fiscal_year"]) if args.get("fiscal_year") else next(iter(choices), None)
    if args.get("fiscal_year") and year not in choices:
        abort(404, description=_("No level scale reads results of fiscal year %(y)s.", y=year))
    pairs = choices.get(year, []) if year is not None else []
    category, indicator = args.get("category", ""), args.get("indicator", "")
    if (category or indicator) and (category, indicator) not in pairs:
        if strict:
            abort(404, description=_("No level scale reads this indicator in that year."))
        in_category = [p for p in pairs if p[0] == category]
        category, indicator = (in_category or pairs or [("", "")])[0]
    elif not category and pairs:
        category, indicator = pairs[0]
    level = int(args["level"]) if args.get("level") else 1
    if not 1 <= level <= svc.MAX_LEVELS:
        abort(400, description=_("Choose one of the scale's levels."))
    cluster = int(args["cluster"]) if args.get("cluster") else None
    return Filters(year, category, indicator, level, cluster, choices)


def _args(f: Filters) -> dict[str, Any]:
    """The filters as URL arguments (for the downloads of what the page shows)."""
    out: dict[str, Any] = {
        "fiscal_year": f.fiscal_year,
        "category": f.category,
        "indicator": f.indicator,
        "level": f.level,
    }
    if f.cluster is not None:
        out["cluster"] = f.cluster
    return out


def _label(share: svc.Share, thai: bool) -> str:
    return share.label_th if thai else share.label_en


def _charts(report: svc.ShareReport, points: list[svc.ShareReport]) -> list[tuple[str, Markup]]:
    """(caption, SVG) pairs: the clusters' shares in the year, and the national share by year."""
    charts: list[tuple[str, Markup]] = []
    if report.national is None:
        return charts
    rows = [report.national, *report.clusters]
    title = _("Share of offices at or above the level, per cluster (%)")
    charts.append(
        (
            title,
            bar_chart(
                "levels-clusters",
                title,
                [_("All") if s.key == "all" else s.key for s in rows],
                [Line(_("Share (%)"), [float(s.percent) for s in rows])],
                width=760,
            ),
        )
    )
    years = [p for p in points if p.national is not None]
    if years:
        draw = line_chart if len(years) > 1 else bar_chart
        title = _("Share at or above the level, by fiscal year (%)")
        line = Line(_("Nationwide"), [float(p.national.percent) for p in years if p.national])
        charts.append(
            (title, draw("levels-years", title, [str(p.fiscal_year) for p in years], [line]))
        )
    return charts


def _reports(f: Filters) -> tuple[svc.ShareReport | None, list[svc.ShareReport]]:
    if f.fiscal_year is None or not f.indicator and not f.category:
        return None, []
    session = get_session()
    report = svc.shares(session, f.fiscal_year, f.category, f.indicator, f.level)
    points = svc.trend(session, f.category, f.indicator, f.level)
    if f.cluster is not None:
        report.clusters = [c for c in report.clusters if c.key == str(f.cluster)]
        for p in points:
            p.clusters = [c for c in p.clusters if c.key == str(f.cluster)]
    return report, points


@bp.route("/results/levels")
def level_shares() -> Any:
    f = _filters()
    report, points = _reports(f)
    thai = _thai()
    return render_template(
        "public/levels.html",
        f=f,
        report=report,
        points=points,
        charts=_charts(report, points) if report else [],
        thai=thai,
        category_labels=result_svc.CATEGORY_LABELS,
        clusters=svc.cluster_names(get_session()),
        label=_label,
        args=_args(f),
    )


@bp.route("/results/levels.<any(csv, xlsx):fmt>")
def level_shares_export(fmt: str) -> Response:
    f = _filters(strict=True)
    report, points = _reports(f)
    thai = _thai()
    rows: list[list[Any]] = []
    for p in points:
        rows += svc.share_rows(p, thai)
    if report is not None and report.fiscal_year not in {p.fiscal_year for p in points}:
        rows += svc.share_rows(report, thai)
    if fmt == "csv":
        body: str | bytes = csv_text(svc.SHARE_COLUMNS, rows)
        mime = "text/csv; charset=utf-8"
    else:
        body = xlsx_bytes({"levels": (svc.SHARE_COLUMNS, rows)})
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = content_disposition(f"pinmap-levels.{fmt}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
