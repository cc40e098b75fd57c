"""Progress reports as SQL row sources with the old tables' names and columns, for tests that
count or read reports in raw SQL (reports live in the workflow engine's tables since 7d2a9c4e1b63).

Use in FROM: f"SELECT count(*) FROM {REVISIONS}" reads as "FROM progress_revisions" did.
"""

from __future__ import annotations

from typing import Any

_DATA_TEXT = (
    "status",
    "what",
    "where",
    "how",
    "result",
    "problems",
    "served_goal",
    "likely_success",
    "indicator_unit",
    "no_activity_reason",
    "no_activity_when",
)

ENTRIES = (
    "(SELECT r.id, r.office_id, r.fiscal_year, r.subject_id AS item_id, r.period AS round_no,"
    " r.current_revision_id, r.approved_revision_id, r.created_at"
    " FROM workflow_reports r WHERE r.kind = 'progress') AS progress_entries"
)
REVISIONS = (
    "(SELECT v.id, v.report_id AS entry_id, v.revision_no, v.state, v.level, v.version,"  # noqa: S608 (a fixed row source, no input)
    " v.source, v.created_at, v.updated_at, "
    + ", ".join(f"v.data->>'{k}' AS \"{k}\"" for k in _DATA_TEXT)
    + ", (v.data->>'indicator_value')::float8 AS indicator_value,"
    " (v.data->>'indicator_target')::float8 AS indicator_target"
    " FROM workflow_revisions v JOIN workflow_reports r ON r.id = v.report_id"
    " AND r.kind = 'progress') AS progress_revisions"
)


def bare_report(office_id: int, fiscal_year: int, item_id: int, round_no: int) -> Any:
    """A progress report with no revision yet (what a bare progress_entries row was)."""
    from pinmap.models import WorkflowReport

    return WorkflowReport(
        kind="progress",
        office_id=office_id,
        fiscal_year=fiscal_year,
        subject=f"item:{item_id}:round:{round_no}",
        subject_id=item_id,
        period=round_no,
    )
