"""Authorization-matrix rows of the report forms' autosave endpoints and of bulk work (certify
and send many reports, decide on many): the same allowed sets as the one-report routes. Built
on authz_matrix's pieces; authz_matrix adds these rows to ROWS."""

from __future__ import annotations

from .authz_matrix import (
    DIRECTOR,
    OBEC,
    OFFICE,
    PLAN_FIELDS,
    QUARTER_FIELDS,
    Ctx,
    Row,
    _op_plan_url,
    _quarter_url,
    op_plan_draft,
    quarter_draft,
    quarter_sent,
)
from .portal import OWN

KIND = "quarterly_project"

ROWS: list[Row] = [
    Row(
        "project quarter autosave",
        "POST",
        "/portal/offices/<code>/projects/<int:project_id>/quarters/<int:quarter>/autosave",
        OFFICE,
        prepare=quarter_draft,
        act=lambda c, who, p: c.page(who).post(
            _quarter_url(p) + "/autosave", data={**QUARTER_FIELDS, "version": str(p[2])}
        ),
    ),
    Row(
        "operating plan autosave",
        "POST",
        "/portal/offices/<code>/plan/<int:fiscal_year>/autosave",
        OFFICE,
        prepare=op_plan_draft,
        act=lambda c, who, p: c.page(who).post(
            _op_plan_url(c) + "/autosave", data={**PLAN_FIELDS, "version": str(p[1])}
        ),
    ),
    # --- bulk work: each report its own transaction (services/bulk.py) ----------------------
    Row(
        "bulk certify and send (portal)",
        "POST",
        "/portal/offices/<code>/send/<kind>/<int:fiscal_year>",
        DIRECTOR,
        prepare=quarter_draft,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/send/{KIND}/{c.fy}",
            data={"report": f"{_report_id(c)}:{p[2]}", "action": "send"},
        ),
    ),
    Row(
        "bulk approve or return (review desk)",
        "POST",
        "/review/bulk/<kind>",
        OBEC,
        prepare=quarter_sent,
        act=lambda c, who, p: c.page(who).post(
            f"/review/bulk/{KIND}", data={"report": f"{p[0]}:{p[1]}", "action": "approve"}
        ),
    ),
    Row(
        "api bulk certify and send",
        "POST",
        "/api/v1/bulk/<kind>/submit",
        DIRECTOR,
        api=True,
        prepare=quarter_draft,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/bulk/{KIND}/submit",
            headers=c.h(who),
            json={"items": [{"id": _report_id(c), "version": p[2]}]},
        ),
    ),
    Row(
        "api bulk approve or return",
        "POST",
        "/api/v1/bulk/<kind>/decide",
        OBEC,
        api=True,
        prepare=quarter_sent,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/bulk/{KIND}/decide",
            headers=c.h(who),
            json={
                "decision": "return",
                "comment": "เพิ่มข้อ 4",
                "items": [{"id": p[0], "version": p[1]}],
            },
        ),
    ),
]


def _report_id(c: Ctx) -> int:
    """The newest quarterly report (the one the row's prepare step saved)."""
    return int(c.scalar("SELECT max(id) FROM workflow_reports WHERE kind = :k", k=KIND))
