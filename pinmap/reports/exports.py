"""/reports/progress.csv|xlsx: progress reports as a table, filtered in the address
(?fiscal_year=&round=&cluster=&office=&item=). Everyone gets the approved revisions; with
?drafts=1, OBEC gets each report's current revision and its state, an office its own."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request
from flask_babel import gettext as _

from ..db import get_session
from ..i18n import format_date_be, item_label
from ..services import reports as svc
from ..tables import csv_bytes, xlsx_bytes
from . import bp
from .documents import (
    XLSX,
    _answer,
    document_state_labels,
    fiscal_year,
    status_labels,
    wants_drafts,
)

NUMBER_FIELDS = ("indicator_value", "indicator_target")


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        abort(400, description=_("%(name)s must be a whole number.", name=name))


def _likely() -> dict[str, str]:
    return {"on_track": _("On track"), "at_risk": _("At risk"), "off_track": _("Off track")}


@bp.route("/progress.<any(csv, xlsx):fmt>")
def progress_export(fmt: str) -> Response:
    session = get_session()
    filters = svc.check_filters(
        session,
        fiscal_year(),
        round_no=_int_arg("round"),
        cluster_no=_int_arg("cluster"),
        office_code=request.args.get("office") or None,
        item_id=_int_arg("item"),
    )
    drafts = wants_drafts(filters.office.id if filters.office else None)
    if drafts and filters.office is None and not _obec():
        abort(403, description=_("Choose your own office to include unapproved reports."))
    rows = svc.progress_rows(session, filters, drafts=drafts)
    statuses, states, likely = status_labels(), document_state_labels(), _likely()
    head = [
        _("Fiscal year"),
        _("Round"),
        _("Cluster"),
        _("Code"),
        _("Office"),
        _("Item"),
        _("Title"),
        _("Status"),
    ]
    if drafts:
        head.append(_("State"))
    head += [
        _("What was done"),
        _("Where"),
        _("How"),
        _("Result"),
        _("Indicator value"),
        _("Target"),
        _("Unit"),
        _("Likely success"),
        _("Approved on"),
    ]
    table: list[list[Any]] = []
    for r in rows:
        d = r.data
        line: list[Any] = [
            filters.fiscal_year,
            r.round_no,
            r.office.cluster_no,
            r.office.code,
            r.office.name_th,
            item_label(r.item),
            r.item.title_th,
            statuses.get(d.get("status") or "", ""),
        ]
        if drafts:
            line.append(states.get(r.state, r.state))
        line += [svc.plain(d.get(k)) for k in ("what", "where", "how", "result")]
        line += [d.get(k) for k in NUMBER_FIELDS]
        line += [d.get("indicator_unit") or "", likely.get(d.get("likely_success") or "", "")]
        line.append(format_date_be(r.approved_at) if r.approved_at else "")
        table.append(line)
    name = f"pinmap-progress-{filters.fiscal_year}.{fmt}"
    if fmt == "csv":
        return _answer(csv_bytes(head, table), "text/csv; charset=utf-8", name)
    return _answer(xlsx_bytes({_("Progress reports"): (head, table)}), XLSX, name)


def _obec() -> bool:
    from flask_login import current_user

    from ..auth import can

    return can(current_user, "view_dashboard")
