"""The dashboard read-model (`dashboard_cells`) as stored, and as its rule recomputes it from the
workflow tables: what tests and benchmarks compare after a sync (development only)."""

# f2c8d4a6b190's status rule: an approved revision makes the cell approved, else the current
# revision's state (a report with none is a draft).
CELL_RULE = """
    SELECT r.id, r.fiscal_year, r.office_id, r.subject_id, r.period,
           CASE WHEN r.approved_revision_id IS NOT NULL THEN 'approved'
                ELSE coalesce(v.state, 'draft') END
    FROM workflow_reports r LEFT JOIN workflow_revisions v ON v.id = r.current_revision_id
    WHERE r.kind = 'progress' ORDER BY r.id
"""
CELLS = (
    "SELECT report_id, fiscal_year, office_id, item_id, round_no, status FROM dashboard_cells"
    " ORDER BY report_id"
)
