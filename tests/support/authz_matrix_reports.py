"""Authorization-matrix rows of the report forms' autosave endpoints and of bulk work (certify
and send many reports, decide on many): the same allowed sets as the one-report routes. Built
on authz_matrix's pieces; authz_matrix adds these rows to ROWS."""

from __future__ import annotations

from .authz_matrix import (
    OFFICE,
    PLAN_FIELDS,
    QUARTER_FIELDS,
    Row,
    _op_plan_url,
    _quarter_url,
    op_plan_draft,
    quarter_draft,
)

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
]
