"""dashboard_cells kept per statement: one set-based refresh instead of one per row

f2c8d4a6b190's row triggers ran a PL/pgSQL function and an INSERT … ON CONFLICT once per report
written: a national sync inserts 5,145 reports and points each at its revision (10,290 trigger
calls, about 0.8 s of the sync's database time). These statement triggers see the rows a
statement wrote through transition tables and refresh exactly the same reports in one
statement. The rule is unchanged: a report inserted, or updated in a column the cell reads,
and a revision whose state changed each recompute that report's cell from the tables as they
stand after the statement (as the row triggers did when they fired at its end). A transition
table cannot name columns (`UPDATE OF …`), so the update triggers compare old and new rows.

Revision ID: a4d6e8f0b2c1
Revises: e3b7c1d9a452
Create Date: 2026-11-30 22:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a4d6e8f0b2c1"
down_revision: str | None = "e3b7c1d9a452"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# f2c8d4a6b190's status rule (pinmap/services/coaching/dashboard.py), for the reports a
# statement wrote, each looked up by its key. A transition table has no statistics, and a table
# just filled may have none that are current: as a plain join the planner chose to scan the
# transition table once per report, or to find each report through the (kind, …) index (both
# square in the rows; 4 s of a national sync). OFFSET 0 keeps the lookup a subquery of its own,
# run once per changed report on the primary key, with the kind tested outside it. DISTINCT:
# one statement may change two revisions of one report.
REFRESH = """
    INSERT INTO dashboard_cells (report_id, fiscal_year, office_id, item_id, round_no, status)
    SELECT c.id, c.fiscal_year, c.office_id, c.subject_id, c.period, c.status
    FROM (SELECT DISTINCT id FROM ({ids}) changed(id)) n
    CROSS JOIN LATERAL (
        SELECT r.id, r.kind, r.fiscal_year, r.office_id, r.subject_id, r.period,
               CASE WHEN r.approved_revision_id IS NOT NULL THEN 'approved'
                    ELSE coalesce(v.state, 'draft') END AS status
        FROM workflow_reports r
        LEFT JOIN workflow_revisions v ON v.id = r.current_revision_id
        WHERE r.id = n.id
        OFFSET 0
    ) c
    WHERE c.kind = 'progress'
    ON CONFLICT (report_id) DO UPDATE SET
        fiscal_year = EXCLUDED.fiscal_year,
        office_id = EXCLUDED.office_id,
        item_id = EXCLUDED.item_id,
        round_no = EXCLUDED.round_no,
        status = EXCLUDED.status
"""
# The row triggers' conditions: a progress report (as written); for an update, a change in a
# column the cell reads; for a revision, a change of state. EXCEPT compares old and new rows
# as IS DISTINCT FROM does (NULL equals NULL), in one pass over each transition table (a join
# of two of them, having no statistics, was planned as a loop of one inside the other).
INSERTED = "SELECT id FROM dashboard_new WHERE kind = 'progress'"
WATCHED = (
    "id, kind, fiscal_year, office_id, subject_id, period, current_revision_id,"
    " approved_revision_id"
)
UPDATED = f"""
    SELECT id FROM (
        SELECT {WATCHED} FROM dashboard_new EXCEPT SELECT {WATCHED} FROM dashboard_old
    ) changed WHERE kind = 'progress'
"""  # noqa: S608 (the column names above, no input)
# A revision moved to another report (which nothing does) would refresh that report too.
RESTATED = """
    SELECT report_id FROM (
        SELECT id, report_id, state FROM dashboard_new
        EXCEPT SELECT id, report_id, state FROM dashboard_old
    ) changed
"""


def _function(name: str, ids: str) -> str:
    # enable_seqscan off: PL/pgSQL plans its statement once per session, with the statistics of
    # that moment. Planned while the reports table looked empty (a new database, or one whose
    # reports were just deleted), the lookup became a scan of the whole table per changed report,
    # and a national sync into such a database took 2.5 times as long (measured). Each changed
    # report is one primary-key lookup however large or small the table looks.
    return f"""
        CREATE FUNCTION {name}() RETURNS trigger
        LANGUAGE plpgsql SET enable_seqscan = off AS $$
        BEGIN
            {REFRESH.format(ids=ids)};
            RETURN NULL;
        END $$
    """


def upgrade() -> None:
    op.execute("DROP TRIGGER dashboard_cell_revision ON workflow_revisions")
    op.execute("DROP TRIGGER dashboard_cell_report ON workflow_reports")
    op.execute(_function("dashboard_cells_on_reports_inserted", INSERTED))
    op.execute(_function("dashboard_cells_on_reports_updated", UPDATED))
    op.execute(_function("dashboard_cells_on_revisions_updated", RESTATED))
    op.execute(
        """
        CREATE TRIGGER dashboard_cells_reports_inserted AFTER INSERT ON workflow_reports
        REFERENCING NEW TABLE AS dashboard_new
        FOR EACH STATEMENT EXECUTE FUNCTION dashboard_cells_on_reports_inserted()
        """
    )
    op.execute(
        """
        CREATE TRIGGER dashboard_cells_reports_updated AFTER UPDATE ON workflow_reports
        REFERENCING OLD TABLE AS dashboard_old NEW TABLE AS dashboard_new
        FOR EACH STATEMENT EXECUTE FUNCTION dashboard_cells_on_reports_updated()
        """
    )
    op.execute(
        """
        CREATE TRIGGER dashboard_cells_revisions_updated AFTER UPDATE ON workflow_revisions
        REFERENCING OLD TABLE AS dashboard_old NEW TABLE AS dashboard_new
        FOR EACH STATEMENT EXECUTE FUNCTION dashboard_cells_on_revisions_updated()
        """
    )
    # The row triggers' functions stay: f2c8d4a6b190's downgrade drops them.


def downgrade() -> None:
    op.execute("DROP TRIGGER dashboard_cells_revisions_updated ON workflow_revisions")
    op.execute("DROP TRIGGER dashboard_cells_reports_updated ON workflow_reports")
    op.execute("DROP TRIGGER dashboard_cells_reports_inserted ON workflow_reports")
    op.execute("DROP FUNCTION dashboard_cells_on_revisions_updated()")
    op.execute("DROP FUNCTION dashboard_cells_on_reports_updated()")
    op.execute("DROP FUNCTION dashboard_cells_on_reports_inserted()")
    # f2c8d4a6b190's row triggers, as it made them (its functions were never dropped).
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
