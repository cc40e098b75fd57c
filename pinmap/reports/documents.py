"""/reports/offices/<code>, /reports/clusters/<no>, /reports/national/<fy>/<round> as PDF
(WeasyPrint) and XLSX: the approved data for everyone; with ?drafts=1, OBEC (and an office for
its own document) also reads submitted, returned and draft reports with their state."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ..auth import can, can_read_office_work
from ..charts import PALETTE, Line, bar_chart, line_chart
from ..choropleth import choropleth_svg, share_text
from ..db import get_session
from ..downloads import content_disposition
from ..extensions import login_manager
from ..fiscal import now_bangkok
from ..i18n import format_date_be, format_time_bkk, item_label, state_label
from ..models import PROGRESS_STATUSES, Office, ReportingWindow
from ..security import current_actor
from ..services import coaching as coaching_svc
from ..services import offices as office_svc
from ..services import profiles as profile_svc
from ..services import progress
from ..services import reports as svc
from ..services import results as result_svc
from ..tables import xlsx_bytes
from . import bp
from .pdf import render_pdf, seed_markup

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def status_labels() -> dict[str, str]:
    return {
        "not_started": _("Not started"),
        "on_plan": _("On plan"),
        "plan_adjusted": _("Plan adjusted"),
        "output_achieved": _("Output achieved"),
    }


def document_state_labels() -> dict[str, str]:
    return {s: (state_label(s) if s != "none" else _("Not reported")) for s in svc.STATES}


def wants_drafts(office_id: int | None = None) -> bool:
    """?drafts=1: OBEC roles anywhere, office staff on their own office; others are refused
    (anonymous visitors are sent to sign in)."""
    if request.args.get("drafts") not in ("1", "true", "on"):
        return False
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    user = current_user
    allowed = can(user, "view_dashboard") or (
        office_id is not None and can_read_office_work(user, office_id)
    )
    if not allowed:
        abort(403, description=_("Only OBEC (or the office itself) may read unapproved reports."))
    return True


def fiscal_year() -> int:
    return progress.shown_fiscal_year(
        get_session(), current_actor().today_bangkok, request.args.get("fiscal_year", type=int)
    )


def chosen_window(fy: int) -> ReportingWindow:
    """The round asked for (?round=), else the latest one already open, else the first."""
    session = get_session()
    asked = request.args.get("round", type=int)
    if asked is not None:
        return svc.window_or_404(session, fy, asked)
    windows = progress.windows(session, fy)
    if not windows:
        return svc.window_or_404(session, fy, 1)
    today = current_actor().today_bangkok
    opened = [w for w in windows if w.opens_on <= today]
    return (opened or windows)[-1]


def printed() -> dict[str, str]:
    now = now_bangkok()
    return {"printed": f"{format_date_be(now)} {format_time_bkk(now)}", "url": request.url}


def _answer(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _pdf(template: str, filename: str, **context: Any) -> Response:
    html = render_template(template, seed=seed_markup(), **printed(), **context)
    return _answer(render_pdf(html, request.url), "application/pdf", filename)


def _xlsx(sheets: dict[str, tuple[list[str], list[list[Any]]]], filename: str) -> Response:
    return _answer(xlsx_bytes(sheets), XLSX, filename)


def percent_chart(chart_id: str, title: str, labels: list[str], values: list[float]) -> Markup:
    return bar_chart(
        chart_id,
        title,
        labels,
        [Line("%", [v * 100 for v in values])],
        width=680,
    )


def map_caption(title: str) -> Markup:
    """The map's words in HTML: WeasyPrint draws SVG text letter by letter, which breaks Thai
    marks, so the SVG carries numbers only."""
    return Markup('<p class="note">{} · – = {}</p>').format(title, _("No data"))


def bars(labels: dict[str, str], counts: Any) -> list[dict[str, Any]]:
    """A horizontal bar per key, in HTML (Thai labels shaped by pango, not by the SVG text)."""
    top = max((counts[k] for k in labels), default=0) or 1
    return [
        {"label": v, "count": counts[k], "width": 100 * counts[k] / top} for k, v in labels.items()
    ]


def cluster_map(rows: list[svc.OfficeRound], title: str, highlight: str | None = None) -> Markup:
    session = get_session()
    shares = svc.shares_by_cluster(rows)
    return choropleth_svg(
        {str(no): s.share for no, s in shares.items()},
        by="cluster",
        province_cluster=svc.province_clusters(session),
        title="",
        width=420,
        no_data_label="–",
        details={str(no): f"{s.reported} / {s.total}" for no, s in shares.items()},
        highlight=highlight,
    ) + map_caption(title)


# --- one office ------------------------------------------------------------------------------


def _office_context(code: str) -> dict[str, Any]:
    session = get_session()
    office: Office = office_svc.office_or_404(session, code)
    drafts = wants_drafts(office.id)
    fy = fiscal_year()
    rev = profile_svc.approved_revision(session, office.id)
    profile = rev.data if rev else {}
    director = next((p for p in profile.get("people") or [] if p.get("role") == "director"), None)
    windows = progress.windows(session, fy)
    items = svc.items_of(session, fy)
    rows = svc.progress_rows(session, svc.ExportFilters(fy, office=office), drafts=drafts)
    grid: dict[int, dict[int, svc.ExportRow]] = {}
    for r in rows:
        grid.setdefault(r.item.id, {})[r.round_no] = r
    per_round = {
        w.round_no: sum(
            1
            for by_round in grid.values()
            if w.round_no in by_round and by_round[w.round_no].state in svc.REPORTED_STATES
        )
        for w in windows
    }
    series = result_svc.office_series(session, office)
    charts = []
    for n, s in enumerate(series[:8], start=1):
        labels = [str(y) for y in s.years]
        lines = [
            # Named in the HTML legend beside the charts (see map_caption).
            Line("", [s.office.get(y) for y in s.years]),
            Line("", [s.cluster_avg.get(y) for y in s.years]),
            Line("", [s.national_avg.get(y) for y in s.years]),
        ]
        draw = line_chart if len(labels) > 1 else bar_chart
        title = s.indicator + (f" ({s.unit})" if s.unit else "")
        charts.append((title, draw(f"result-{n}", title, labels, lines, width=330, height=200)))
    planner = can(current_user if current_user.is_authenticated else None, "plan_visits")
    visits = svc.coaching_record(
        session, office_id=office.id, with_drafts=planner, with_records=planner
    )
    latest = max((w.round_no for w in windows if per_round.get(w.round_no)), default=None)
    share = per_round[latest] / len(items) if latest and items else None
    office_map = choropleth_svg(
        {office.office_province_code: share},
        by="province",
        title="",
        width=300,
        no_data_label="–",
        highlight=office.office_province_code,
    ) + map_caption(_("Reported items, latest round"))
    return {
        "office": office,
        "drafts": drafts,
        "fiscal_year": fy,
        "profile": profile,
        "director": director,
        "windows": windows,
        "items": items,
        "grid": grid,
        "per_round": per_round,
        "series": series,
        "charts": charts,
        "legend": [
            (PALETTE[n], name)
            for n, name in enumerate([office.name_th, _("Cluster average"), _("National average")])
        ],
        "visits": visits,
        "show_records": planner,
        "map": office_map,
        "statuses": status_labels(),
        "states": document_state_labels(),
        "category_labels": result_svc.CATEGORY_LABELS,
        "share_text": share_text,
    }


@bp.route("/offices/<code>.<any(pdf, xlsx):fmt>")
def office_document(code: str, fmt: str) -> Response:
    c = _office_context(code)
    office, fy = c["office"], c["fiscal_year"]
    name = f"pinmap-{office.code}-{fy}.{fmt}"
    if fmt == "pdf":
        return _pdf("reports/office.html", name, **c)
    progress_head = [_("Item"), _("Title")] + [
        _("Round %(no)s", no=w.round_no) for w in c["windows"]
    ]
    progress_rows = [
        [item_label(i), i.title_th]
        + [_cell_text(c["grid"].get(i.id, {}).get(w.round_no), c) for w in c["windows"]]
        for i in c["items"]
    ]
    result_head = [
        _("Category"),
        _("Indicator"),
        _("Unit"),
        _("Fiscal year"),
        _("Value"),
        _("Cluster average"),
        _("National average"),
    ]
    result_rows = [
        [
            _(c["category_labels"].get(s.category, s.category)),
            s.indicator,
            s.unit or "",
            y,
            s.office.get(y),
            s.cluster_avg.get(y),
            s.national_avg.get(y),
        ]
        for s in c["series"]
        for y in s.years
    ]
    return _xlsx(
        {
            _("Progress"): (progress_head, progress_rows),
            _("Results"): (result_head, result_rows),
            _("Coaching"): _visit_sheet(c["visits"], c["show_records"]),
        },
        name,
    )


def _cell_text(row: svc.ExportRow | None, c: dict[str, Any]) -> str:
    if row is None:
        return ""
    text = c["statuses"].get(row.data.get("status") or "", "")
    if c["drafts"]:
        text = f"{text} ({c['states'].get(row.state, row.state)})".strip()
    return text


def _visit_sheet(visits: list[svc.Visit], records: bool) -> tuple[list[str], list[list[Any]]]:
    head = [_("Round"), _("Visit date"), _("Cluster"), _("Host office"), _("Team")]
    if records:
        head += [_("Visited on"), _("Notes"), _("Follow-ups")]
    rows: list[list[Any]] = []
    for v in visits:
        base = [
            v.round.round_no,
            format_date_be(v.plan.visit_date),
            v.plan.cluster_no,
            v.host.name_th if v.host else "",
            v.plan.team,
        ]
        if records and v.records:
            rows += [
                base + [format_date_be(r.visited_on), r.notes, r.follow_ups] for r in v.records
            ]
        else:
            rows.append(base + (["", "", ""] if records else []))
    return head, rows


# --- one cluster -----------------------------------------------------------------------------


def _cluster_context(no: int) -> dict[str, Any]:
    session = get_session()
    cluster = coaching_svc.get_cluster(session, no)
    drafts = wants_drafts()
    fy = fiscal_year()
    window = chosen_window(fy)
    rows, _per_item = svc.round_offices(session, fy, window.round_no, drafts=drafts)
    mine = [r for r in rows if r.cluster_no == no]
    states = sum((r.states for r in mine), start=svc.Counter[str]())
    statuses = sum((r.statuses for r in mine), start=svc.Counter[str]())
    planner = can(current_user if current_user.is_authenticated else None, "plan_visits")
    state_names = document_state_labels()
    return {
        "cluster": cluster,
        "drafts": drafts,
        "fiscal_year": fy,
        "window": window,
        "rows": sorted(mine, key=lambda r: r.code),
        "total": svc.overall(mine),
        "states": state_names,
        "state_counts": states,
        "status_counts": statuses,
        "statuses": status_labels(),
        "results": coaching_svc.results_vs_national(session, no),
        "category_labels": result_svc.CATEGORY_LABELS,
        "visits": svc.coaching_record(
            session, cluster_no=no, with_drafts=planner, with_records=planner
        ),
        "show_records": planner,
        "map": cluster_map(rows, _("Items reported, by cluster"), highlight=str(no)),
        "state_bars": bars(
            {k: v for k, v in state_names.items() if drafts or k in ("approved", "none")}, states
        ),
        "share_text": share_text,
    }


@bp.route("/clusters/<int:no>.<any(pdf, xlsx):fmt>")
def cluster_document(no: int, fmt: str) -> Response:
    c = _cluster_context(no)
    name = f"pinmap-cluster-{no}-{c['fiscal_year']}-{c['window'].round_no}.{fmt}"
    if fmt == "pdf":
        return _pdf("reports/cluster.html", name, **c)
    head = [_("Code"), _("Office"), _("Reported"), _("Items"), _("Share")]
    head += [c["states"][s] for s in svc.STATES]
    offices = [
        [r.code, r.name_th, r.reported, r.total, share_text(r.share)]
        + [r.states[s] for s in svc.STATES]
        for r in c["rows"]
    ]
    results = [
        [
            e["fiscal_year"],
            _(c["category_labels"].get(e["category"], e["category"])),
            e["indicator"],
            e["unit"] or "",
            e["cluster_avg"],
            e["national_avg"],
        ]
        for e in c["results"]
    ]
    result_head = [
        _("Fiscal year"),
        _("Category"),
        _("Indicator"),
        _("Unit"),
        _("Cluster average"),
        _("National average"),
    ]
    return _xlsx(
        {
            _("Offices"): (head, offices),
            _("Results"): (result_head, results),
            _("Coaching"): _visit_sheet(c["visits"], c["show_records"]),
        },
        name,
    )


# --- the nation, one round -------------------------------------------------------------------


def _national_context(fy: int, round_no: int) -> dict[str, Any]:
    session = get_session()
    window = svc.window_or_404(session, fy, round_no)
    drafts = wants_drafts()
    rows, per_item = svc.round_offices(session, fy, round_no, drafts=drafts)
    items = svc.items_of(session, fy)
    by_cluster = svc.shares_by_cluster(rows)
    states = sum((r.states for r in rows), start=svc.Counter[str]())
    statuses = sum((r.statuses for r in rows), start=svc.Counter[str]())
    state_names, status_names = document_state_labels(), status_labels()
    clusters = {c.no: c for c in svc.clusters(session)}
    offices = len(rows)
    item_rows = [
        {
            "item": i,
            "reported": sum(per_item[i.id][s] for s in svc.REPORTED_STATES),
            "counts": per_item[i.id],
            "share": (
                sum(per_item[i.id][s] for s in svc.REPORTED_STATES) / offices if offices else 0.0
            ),
        }
        for i in items
    ]
    return {
        "drafts": drafts,
        "fiscal_year": fy,
        "window": window,
        "total": svc.overall(rows),
        "by_cluster": by_cluster,
        "clusters": clusters,
        "item_rows": item_rows,
        "incomplete": sorted((r for r in rows if r.missing), key=lambda r: (r.cluster_no, r.code)),
        "offices": offices,
        "states": state_names,
        "state_counts": states,
        "statuses": status_names,
        "status_counts": statuses,
        "map": cluster_map(rows, _("Items reported, by cluster")),
        "cluster_chart": percent_chart(
            "clusters",
            _("Items reported by cluster (%)"),
            [str(no) for no in by_cluster],
            [s.share for s in by_cluster.values()],
        ),
        "status_bars": bars(status_names, statuses),
        "state_bars": bars(
            {k: v for k, v in state_names.items() if drafts or k in ("approved", "none")}, states
        ),
        "share_text": share_text,
    }


@bp.route("/national/<int:fiscal_year>/<int:round_no>.<any(pdf, xlsx):fmt>")
def national_document(fiscal_year: int, round_no: int, fmt: str) -> Response:
    c = _national_context(fiscal_year, round_no)
    name = f"pinmap-national-{fiscal_year}-{round_no}.{fmt}"
    if fmt == "pdf":
        return _pdf("reports/national.html", name, **c)
    cluster_head = [
        _("Cluster"),
        _("Name"),
        _("Offices"),
        _("Complete offices"),
        _("Reported"),
        _("Items"),
        _("Share"),
    ]
    cluster_rows = [
        [
            no,
            c["clusters"][no].name_th if no in c["clusters"] else "",
            s.offices,
            s.complete,
            s.reported,
            s.total,
            share_text(s.share),
        ]
        for no, s in c["by_cluster"].items()
    ]
    item_head = [_("Item"), _("Title"), _("Offices reported"), _("Offices"), _("Share")]
    item_head += [c["states"][s] for s in svc.STATES]
    item_rows = [
        [
            item_label(r["item"]),
            r["item"].title_th,
            r["reported"],
            c["offices"],
            share_text(r["share"]),
        ]
        + [r["counts"][s] for s in svc.STATES]
        for r in c["item_rows"]
    ]
    status_head = [_("Status"), _("Reports")]
    status_rows = [[c["statuses"][s], c["status_counts"][s]] for s in PROGRESS_STATUSES]
    status_rows += [[c["states"][s], c["state_counts"][s]] for s in svc.STATES]
    return _xlsx(
        {
            _("Clusters"): (cluster_head, cluster_rows),
            _("Items"): (item_head, item_rows),
            _("Statuses"): (status_head, status_rows),
        },
        name,
    )
