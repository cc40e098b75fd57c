"""Progress reports for every office, item and round of a year, in three SQL statements: the
dashboard's browser test and bench/dashboard.py fill a `pinmap setup` database with them.

States are spread by a hash of (office, item, round), so the numbers are the same every run:
about 80 % submitted or approved, the rest drafts, returned or no report at all.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_REPORTS = text(
    """
    INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, subject_id, period)
    SELECT 'progress', o.id, :report_year, 'item:' || i.id || ':round:' || w.round_no,
           i.id, w.round_no
    FROM offices o
    CROSS JOIN policy_items i
    JOIN reporting_windows w ON w.fiscal_year = i.fiscal_year
    WHERE i.fiscal_year = :item_year
      AND abs(hashtext(o.code || ':' || i.id || ':' || w.round_no || ':' || :report_year)) % 100
          >= :absent
    ON CONFLICT DO NOTHING
    """
)
_REVISIONS = text(
    """
    INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source, version)
    SELECT r.id, 1,
           CASE WHEN abs(hashtext(r.subject || r.office_id)) % 20 < 8 THEN 'approved'
                WHEN abs(hashtext(r.subject || r.office_id)) % 20 < 17 THEN 'submitted'
                WHEN abs(hashtext(r.subject || r.office_id)) % 20 < 19 THEN 'draft'
                ELSE 'returned' END,
           1, '{}'::jsonb, 'seed', 1
    FROM workflow_reports r
    WHERE r.kind = 'progress' AND r.fiscal_year = :report_year AND r.current_revision_id IS NULL
    """
)
_LINK = text(
    """
    UPDATE workflow_reports r
    SET current_revision_id = v.id,
        approved_revision_id = CASE WHEN v.state = 'approved' THEN v.id END
    FROM workflow_revisions v
    WHERE v.report_id = r.id AND r.kind = 'progress' AND r.fiscal_year = :report_year
      AND r.current_revision_id IS NULL
    """
)


def seed_progress(
    conn: Connection, item_year: int, report_year: int | None = None, absent: int = 3
) -> int:
    """Reports for `item_year`'s items and rounds, filed under `report_year` (default the same
    year; another year only adds volume the dashboard must skip). `absent` % have no report.
    Returns the number of reports added."""
    params = {"item_year": item_year, "report_year": report_year or item_year, "absent": absent}
    added = conn.execute(_REPORTS, params).rowcount
    conn.execute(_REVISIONS, params)
    conn.execute(_LINK, params)
    return int(added)
