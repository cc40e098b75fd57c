"""dashboard_cells: one row per progress report with its status, kept by triggers

The dashboard counts report cells by office, item, round and status. Read from the workflow
tables that is a join of every report of the year with its current revision (10,000 rows for
245 offices x 21 items x 2 rounds) before grouping; this read-model holds the status on the
report's own row, so the count is one index-only scan. Triggers keep it exact in the same
transaction as every write: a report inserted or updated (current or approved revision
changed) and a revision whose state changes each recompute that report's row; deleting a
report deletes its row (ON DELETE CASCADE).

Revision ID: f2c8d4a6b190
Revises: e3c7a1f5b920
Create Date: 2026-11-30 16:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f2c8d4a6b190"
down_revision: str | None = "e3c7a1f5b920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The status rule is the one pinmap/services/coaching/dashboard.py states: an approved version
# counts as approved while a newer draft is under way; else the current revision's state.
CELL_OF = """
    SELECT r.id, r.fiscal_year, r.office_id, r.subject_id, r.period,
           CASE WHEN r.approved_revision_id IS NOT NULL THEN 'approved'
                ELSE coalesce(v.state, 'draft') END
    FROM workflow_reports r
    LEFT JOIN workflow_revisions v ON v.id = r.current_revision_id
    WHERE r.kind = 'progress'
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE dashboard_cells (
            report_id integer PRIMARY KEY REFERENCES workflow_reports(id) ON DELETE CASCADE,
            fiscal_year smallint NOT NULL,
            office_id integer NOT NULL,
            item_id integer,
            round_no smallint,
            status varchar(10) NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_dashboard_cells_year ON dashboard_cells (fiscal_year) "
        "INCLUDE (office_id, item_id, round_no, status)"
    )
    op.execute(
        f"""
        CREATE FUNCTION dashboard_cell_refresh(report integer) RETURNS void
        LANGUAGE sql AS $$
            INSERT INTO dashboard_cells
                (report_id, fiscal_year, office_id, item_id, round_no, status)
            {CELL_OF} AND r.id = report
            ON CONFLICT (report_id) DO UPDATE SET
                fiscal_year = EXCLUDED.fiscal_year,
                office_id = EXCLUDED.office_id,
                item_id = EXCLUDED.item_id,
                round_no = EXCLUDED.round_no,
                status = EXCLUDED.status
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION dashboard_cell_on_report() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.kind = 'progress' THEN
                PERFORM dashboard_cell_refresh(NEW.id);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION dashboard_cell_on_revision() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM dashboard_cell_refresh(NEW.report_id);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER dashboard_cell_report
        AFTER INSERT OR UPDATE OF kind, fiscal_year, office_id, subject_id, period,
            current_revision_id, approved_revision_id
        ON workflow_reports FOR EACH ROW EXECUTE FUNCTION dashboard_cell_on_report()
        """
    )
    op.execute(
        """
        CREATE TRIGGER dashboard_cell_revision
        AFTER UPDATE OF state ON workflow_revisions
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
        EXECUTE FUNCTION dashboard_cell_on_revision()
        """
    )
    op.execute(
        f"""
        INSERT INTO dashboard_cells (report_id, fiscal_year, office_id, item_id, round_no, status)
        {CELL_OF}
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS dashboard_cell_revision ON workflow_revisions")
    op.execute("DROP TRIGGER IF EXISTS dashboard_cell_report ON workflow_reports")
    op.execute("DROP FUNCTION IF EXISTS dashboard_cell_on_revision()")
    op.execute("DROP FUNCTION IF EXISTS dashboard_cell_on_report()")
    op.execute("DROP FUNCTION IF EXISTS dashboard_cell_refresh(integer)")
    op.execute("DROP TABLE IF EXISTS dashboard_cells")
