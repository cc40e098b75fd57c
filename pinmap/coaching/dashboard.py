"""The OBEC dashboard: nation → cluster → office, with charts, a choropleth and exports.

Every filter is in the URL (fiscal year, round, cluster, office, item, status), so a view can be
bookmarked and every table's CSV/XLSX export gets the same numbers as the page. Charts are
server-side SVG (pinmap.charts, pinmap.choropleth), each beside a table with its numbers.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from ..charts import Line, hbar_chart, line_chart, percent_of, stacked_hbar_chart
from ..choropleth import choropleth_svg
from ..db import get_session
from ..downloads import content_disposition
from ..i18n import item_label, state_label
from ..models import Cluster, Office, PolicyItem, Province, ReportingWindow
from ..security import current_actor, require
from ..services import coaching as svc
from ..services import progress
from ..services.coaching import dashboard as dsvc
from ..tables import csv_bytes, xlsx_bytes
from . import bp
from .common import cluster_no_or_404, fiscal_year_arg

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLES = ("rounds", "statuses", "items", "areas", "trend", "offices")
FILTER_ARGS = ("fiscal_year", "round", "cluster", "office", "item", "status")
MAX_CODE = 60


def status_label(status: str) -> str:
    """A status in words: never the stored key."""
    return _("Not started") if status == "missing" else state_label(status)


@bp.app_template_global("percent_of")
def _percent_of(n: int, d: int) -> str:
    return percent_of(n, d)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 6:
        abort(400, description=_("The filter %(name)s must be a whole number.", name=name))
    return int(raw)


def _filters() -> dsvc.Filters:
    """The URL's filters, each checked: an unknown value is a clear 400/404, never a 500."""
    session = get_session()
    fiscal_year = fiscal_year_arg()
    round_no = _int_arg("round")
    if round_no is not None and round_no not in {
        w.round_no for w in progress.windows(session, fiscal_year)
    }:
        abort(400, description=_("No such reporting round in this fiscal year."))
    cluster_no = _int_arg("cluster")
    if cluster_no is not None:
        cluster_no_or_404(cluster_no)
        if session.get(Cluster, cluster_no) is None:
            abort(404, description=_("No such cluster."))
    office_code = request.args.get("office", "").strip() or None
    if office_code is not None:
        office = (
            session.scalar(select(Office).filter_by(code=office_code))
            if len(office_code) <= MAX_CODE
            else None
        )
        if office is None:
            abort(404, description=_("No such office."))
        cluster_no = office.cluster_no
    item_id = _int_arg("item")
    if item_id is not None:
        item = session.get(PolicyItem, item_id)
        if item is None or item.fiscal_year != fiscal_year:
            abort(400, description=_("No such item in this fiscal year."))
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in dsvc.STATUSES:
        abort(400, description=_("Unknown status filter."))
    return dsvc.Filters(fiscal_year, round_no, cluster_no, office_code, item_id, status)


def _args(f: dsvc.Filters, **override: Any) -> dict[str, Any]:
    """The filters as URL arguments (None left out), with `override` applied."""
    args: dict[str, Any] = {
        "fiscal_year": f.fiscal_year,
        "round": f.round_no,
        "cluster": f.cluster_no,
        "office": f.office_code,
        "item": f.item_id,
        "status": f.status,
    }
    args.update(override)
    return {k: v for k, v in args.items() if v is not None}


def _floored_percent(share: dsvc.Share) -> float | None:
    # Floored like every percentage here, so a point's tooltip never rounds up to 100.
    return math.floor(share.n * 10000 / share.d) / 100 if share.d else None


def _round_name(w: Any) -> str:
    return _("Round %(no)s", no=w.round_no)


# --- the tables: one definition for the page and its CSV / XLSX ------------------------------


def _tables(
    d: dsvc.Dashboard, names: dict[str, Any]
) -> dict[str, tuple[list[str], list[list[Any]]]]:
    rounds = d.windows
    shown = d.round_no
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    out["rounds"] = (
        [
            _("Round"),
            _("Items reported"),
            _("Items due"),
            _("Share of items"),
            _("Offices complete"),
            _("Offices"),
            _("Share of offices"),
        ],
        [
            [
                _round_name(w),
                s.cells.n,
                s.cells.d,
                percent_of(s.cells.n, s.cells.d),
                s.complete.n,
                s.complete.d,
                percent_of(s.complete.n, s.complete.d),
            ]
            for w in rounds
            for s in [d.rounds[w.round_no]]
        ],
    )
    out["statuses"] = (
        [_("Round"), *[status_label(k) for k in dsvc.STATUSES], _("Items due")],
        [
            [
                _round_name(w),
                *[d.rounds[w.round_no].statuses[k] for k in dsvc.STATUSES],
                d.rounds[w.round_no].cells.d,
            ]
            for w in rounds
        ],
    )
    item_header = [_("Item")]
    for w in rounds:
        item_header += [
            f"{_round_name(w)} · {_('Offices reported')}",
            f"{_round_name(w)} · {_('Offices')}",
            f"{_round_name(w)} · {_('Share')}",
        ]
    item_rows = []
    for item in d.items:
        row: list[Any] = [item_label(item)]
        for w in rounds:
            share = d.by_item[item.id][w.round_no]
            row += [share.n, share.d, percent_of(share.n, share.d)]
        item_rows.append(row)
    out["items"] = (item_header, item_rows)
    area_key = _("Cluster") if d.level == "nation" else _("Province")
    area_header = [area_key]
    for w in rounds:
        area_header += [
            f"{_round_name(w)} · {_('Items reported')}",
            f"{_round_name(w)} · {_('Items due')}",
            f"{_round_name(w)} · {_('Share')}",
        ]
    area_rows = []
    areas = d.by_cluster if d.level == "nation" else d.by_province
    for key, per_round in sorted(areas.items(), key=lambda kv: str(kv[0]).zfill(3)):
        label = (
            names["cluster"].get(key, str(key))
            if d.level == "nation"
            else names["province"].get(key, key)
        )
        row = [label]
        for w in rounds:
            share = per_round.get(w.round_no, dsvc.Share())
            row += [share.n, share.d, percent_of(share.n, share.d)]
        area_rows.append(row)
    out["areas"] = (area_header, area_rows)
    out["trend"] = (
        [_("Fiscal year"), _("Round"), _("Items reported"), _("Items due"), _("Share of items")],
        [
            [fy, _("Round %(no)s", no=n), s.n, s.d, percent_of(s.n, s.d)]
            for fy, per_round in sorted(d.trend.items())
            for n, s in sorted(per_round.items())
        ],
    )
    office_header = [_("Office"), _("Cluster")]
    for w in rounds:
        office_header += [
            f"{_round_name(w)} · {_('Items reported')}",
            f"{_round_name(w)} · {_('Share')}",
        ]
    if shown is not None:
        office_header += [
            f"{_('Round %(no)s', no=shown)} · {status_label(k)}" for k in dsvc.STATUSES
        ]
    office_rows = []
    total = len(d.items)
    for o in d.shown_offices():
        row = [o.name_th, o.cluster_no]
        for w in rounds:
            got = o.reported(w.round_no)
            row += [f"{got} / {total}", percent_of(got, total)]
        if shown is not None:
            row += [o.statuses[shown][k] for k in dsvc.STATUSES]
        office_rows.append(row)
    out["offices"] = (office_header, office_rows)
    return out


def _table_titles() -> dict[str, str]:
    return {
        "rounds": _("Completeness by round"),
        "statuses": _("Status of the reports by round"),
        "items": _("Completeness by item"),
        "areas": _("Completeness by area"),
        "trend": _("Trend across fiscal years"),
        "offices": _("Offices"),
    }


def _names(session: Any) -> dict[str, dict[Any, str]]:
    return {
        "cluster": {no: name for no, name in session.execute(select(Cluster.no, Cluster.name_th))},
        "province": {c: n for c, n in session.execute(select(Province.code, Province.name_th))},
        "province_cluster": {
            c: no for c, no in session.execute(select(Province.code, Province.cluster_no))
        },
    }


# --- charts -----------------------------------------------------------------------------------


def _charts(d: dsvc.Dashboard, names: dict[str, Any]) -> dict[str, Markup]:
    rounds = d.windows
    charts: dict[str, Markup] = {}
    charts["rounds"] = hbar_chart(
        "chart-rounds",
        _("Completeness by round"),
        [_round_name(w) for w in rounds],
        [
            Line(_("Items reported"), [d.rounds[w.round_no].cells.ratio for w in rounds]),
            Line(_("Offices complete"), [d.rounds[w.round_no].complete.ratio for w in rounds]),
        ],
    )
    status_parts = [
        Line(status_label(k), [float(d.rounds[w.round_no].statuses[k]) for w in rounds])
        for k in dsvc.STATUSES
    ]
    charts["statuses"] = stacked_hbar_chart(
        "chart-statuses",
        _("Status of the reports by round"),
        [_round_name(w) for w in rounds],
        status_parts,
    )
    if d.level == "nation" and d.round_no is not None and d.cluster_statuses:
        keys = list(d.cluster_statuses)
        charts["cluster_statuses"] = stacked_hbar_chart(
            "chart-cluster-statuses",
            _("Status of the reports by cluster, round %(no)s", no=d.round_no),
            [_("Cluster %(no)s", no=k) for k in keys],
            [
                Line(status_label(s), [float(d.cluster_statuses[k][s]) for k in keys])
                for s in dsvc.STATUSES
            ],
        )
    charts["items"] = hbar_chart(
        "chart-items",
        _("Completeness by item"),
        [item_label(i) for i in d.items],
        [
            Line(_round_name(w), [d.by_item[i.id][w.round_no].ratio for i in d.items])
            for w in rounds
        ],
    )
    years = sorted(d.trend)
    round_nos = sorted({n for per in d.trend.values() for n in per})
    if years:
        charts["trend"] = line_chart(
            "chart-trend",
            _("Share of items reported, by fiscal year"),
            [str(y) for y in years],
            [
                Line(
                    _("Round %(no)s", no=n),
                    [_floored_percent(d.trend[y][n]) if n in d.trend[y] else None for y in years],
                )
                for n in round_nos
            ],
            width=360,
            y_range=(0.0, 100.0),
        )
    shown = d.round_no
    if shown is not None:
        title = _("Share of items reported, round %(no)s", no=shown)
        if d.level == "nation":
            values = {str(k): v[shown].ratio for k, v in d.by_cluster.items() if shown in v}
            details = {
                str(k): f"{v[shown].n} / {v[shown].d}"
                for k, v in d.by_cluster.items()
                if shown in v
            }
            links = {
                str(k): url_for("coaching.dashboard", **_args(d.filters, cluster=k, office=None))
                for k in d.by_cluster
            }
            charts["map"] = choropleth_svg(
                values,
                by="cluster",
                province_cluster=names["province_cluster"],
                title=title,
                chart_id="chart-map",
                no_data_label=_("No data"),
                names={str(k): v for k, v in names["cluster"].items()},
                details=details,
                links=links,
            )
        else:
            values = {k: v[shown].ratio for k, v in d.by_province.items() if shown in v}
            details = {
                k: f"{v[shown].n} / {v[shown].d}" for k, v in d.by_province.items() if shown in v
            }
            charts["map"] = choropleth_svg(
                values,
                by="province",
                title=title,
                chart_id="chart-map",
                no_data_label=_("No data"),
                details=details,
                highlight=next(iter(values), None) if d.level == "office" else None,
            )
    return charts


@bp.route("/dashboard")
@require("view_dashboard")
def dashboard() -> Any:
    session = get_session()
    f = _filters()
    today = current_actor().today_bangkok
    d = dsvc.dashboard(session, f, today)
    names = _names(session)
    tables = _tables(d, names)
    late = [
        r
        for r in svc.completeness(session, f.fiscal_year, today, cluster_no=f.cluster_no)
        if r.overdue()
    ]
    if f.office_code:
        late = [r for r in late if r.code == f.office_code]
    office = session.scalar(select(Office).filter_by(code=f.office_code)) if f.office_code else None
    return render_template(
        "coaching/dashboard.html",
        d=d,
        f=f,
        fiscal_year=f.fiscal_year,
        windows=d.windows,
        charts=_charts(d, names),
        tables=tables,
        titles=_table_titles(),
        names=names,
        office=office,
        statuses=[(k, status_label(k)) for k in dsvc.STATUSES],
        status_label=status_label,
        args=lambda **o: _args(f, **o),
        years=progress_years(session, f.fiscal_year),
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
        late=late,
        today=today,
        due_within=svc.DUE_SOON_DAYS,
    )


def progress_years(session: Any, current: int) -> list[int]:
    """Fiscal years that have reporting rounds, newest first (and the shown one)."""
    years = set(session.scalars(select(ReportingWindow.fiscal_year).distinct()))
    years.add(current)
    return sorted(years, reverse=True)


@bp.route("/dashboard/export.<fmt>")
@require("view_dashboard")
def dashboard_export(fmt: str) -> Any:
    """One table of the dashboard (?table=) as CSV or XLSX, or every table as XLSX sheets,
    with the page's filters."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    table = request.args.get("table", "all")
    if table not in (*TABLES, "all") or (table == "all" and fmt == "csv"):
        abort(400, description=_("Unknown table."))
    session = get_session()
    f = _filters()
    d = dsvc.dashboard(session, f, current_actor().today_bangkok)
    tables = _tables(d, _names(session))
    chosen = TABLES if table == "all" else (table,)
    name = f"dashboard-{f.fiscal_year}-{table}"
    if f.cluster_no is not None:
        name += f"-cluster{f.cluster_no}"
    if fmt == "csv":
        header, rows = tables[table]
        body, mime = csv_bytes(header, rows), "text/csv; charset=utf-8"
    else:
        titles = _table_titles()
        body, mime = xlsx_bytes({titles[t]: tables[t] for t in chosen}), XLSX
    return Response(
        body,
        mimetype=mime.split(";")[0],
        headers={"Content-Disposition": content_disposition(f"{name}.{fmt}"), "Content-Type": mime},
    )


@bp.route("/dashboard/offices")
@require("view_dashboard")
def dashboard_offices() -> Any:
    """The offices behind a dashboard figure: filter by round, item, cluster, state."""
    session = get_session()
    fiscal_year = fiscal_year_arg()
    today = current_actor().today_bangkok
    cluster_no = request.args.get("cluster", type=int)
    round_no = request.args.get("round", type=int)
    item_id = request.args.get("item", type=int)
    state = request.args.get("state", "missing")
    if state not in ("missing", "reported", "overdue", "all"):
        abort(400, description=_("Unknown state filter."))
    item = session.get(PolicyItem, item_id) if item_id else None
    rows = []
    for r in svc.completeness(session, fiscal_year, today, cluster_no=cluster_no):
        cells = [c for n, c in r.rounds.items() if round_no in (None, n)]
        if not cells:
            continue
        if item is not None:
            has = [item.id in c.reported_items for c in cells]
        else:
            has = [c.missing == 0 for c in cells]
        keep = {
            "missing": not all(has),
            "reported": all(has),
            "overdue": any(c.overdue() for c in cells) and not all(has),
            "all": True,
        }[state]
        if keep:
            rows.append(r)
    return render_template(
        "coaching/dashboard_offices.html",
        rows=rows,
        fiscal_year=fiscal_year,
        item=item,
        round_no=round_no,
        cluster_no=cluster_no,
        state=state,
        windows=progress.windows(session, fiscal_year),
    )
