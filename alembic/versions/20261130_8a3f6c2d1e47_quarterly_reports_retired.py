"""quarterly_reports retired (ingestion writes through the engine); approval levels per kind

workflow_kind_levels holds an administrator's choice of a report kind's OBEC levels (none:
each kind runs on its defaults in code, as before).

Rows ingested since the workflow migration (not yet carried: no revision names them) are
carried as 4b7e2f9a1c58 did — they were public on the office page, so each becomes a finally
approved revision: a new report when its project's quarter has none, else a new approved
revision on top (the public one; the report's working revision moves to it only when the
working revision was itself approved). The bookkeeping rows of quarterly records then point
at the approved revision of their quarter (target workflow_revision), so the next run finds
them unchanged. ingest_conflicts gains report_id (a conflict on a workflow report).
Downgrade rebuilds quarterly_reports from the ingested revisions the bookkeeping names.

Revision ID: 8a3f6c2d1e47
Revises: c3a9d5e1f7b2
Create Date: 2026-11-30 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "8a3f6c2d1e47"
down_revision: str | None = "c3a9d5e1f7b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when the app's constants do.
KIND = "quarterly_project"
LEVELS = 3  # certify, review, accept
POINTS = (
    "target_progress",
    "activity_progress",
    "budget_disbursement",
    "master_plan",
    "nesdp13",
    "problems_suggestions",
)


def upgrade() -> None:
    op.create_table(
        "workflow_kind_levels",
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("review_roles", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("accept_enabled", sa.Boolean(), nullable=False),
        sa.Column("accept_roles", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.add_column("ingest_conflicts", sa.Column("report_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "ingest_conflicts_report_id_fkey",
        "ingest_conflicts",
        "workflow_reports",
        ["report_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index("ix_ingest_conflicts_report_id", "ingest_conflicts", ["report_id"])
    _carry_remaining()
    op.drop_table("quarterly_reports")


def _carry_remaining() -> None:
    op.execute(
        """
        INSERT INTO projects (office_id, fiscal_year, name, budget_planned, source, version)
        SELECT q.office_id, q.fiscal_year, left(q.project, 500), max(q.budget_planned),
               'ingest:' || min(s.name), 1
        FROM quarterly_reports q JOIN ingest_sources s ON s.id = q.source_id
        GROUP BY q.office_id, q.fiscal_year, left(q.project, 500)
        ON CONFLICT (office_id, fiscal_year, name) DO NOTHING
        """
    )
    # Rows no revision carries yet; per project and quarter the newest one.
    op.execute(
        """
        CREATE TEMPORARY TABLE _left ON COMMIT DROP AS
        SELECT DISTINCT ON (p.id, q.quarter) q.*, p.id AS project_id, s.name AS source_name
        FROM quarterly_reports q
        JOIN ingest_sources s ON s.id = q.source_id
        JOIN projects p ON p.office_id = q.office_id AND p.fiscal_year = q.fiscal_year
             AND p.name = left(q.project, 500)
        WHERE NOT EXISTS (
            SELECT 1 FROM workflow_revisions v
            WHERE v.data->>'legacy_quarterly_report_id' = q.id::text)
        ORDER BY p.id, q.quarter, q.source_updated_at DESC NULLS LAST, q.id DESC
        """
    )
    op.execute(
        sa.text(
            """
        INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, subject_id, period)
        SELECT :kind, c.office_id, c.fiscal_year,
               'project:' || c.project_id || ':' || 'q' || c.quarter, c.project_id, c.quarter
        FROM _left c
        ON CONFLICT (kind, office_id, fiscal_year, subject) DO NOTHING
        """
        ).bindparams(kind=KIND)
    )
    points = ", ".join(f"'{p}', coalesce(c.points->>'{p}', '')" for p in POINTS)
    op.execute(
        sa.text(
            f"""
        INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source,
                                        approved_at, version)
        SELECT r.id,
               coalesce((SELECT max(x.revision_no) FROM workflow_revisions x
                         WHERE x.report_id = r.id), 0) + 1,
               'approved', :levels,
               jsonb_build_object({points}, 'budget_disbursed', c.budget_disbursed,
                                  'legacy_quarterly_report_id', c.id),
               'ingest:' || c.source_name, coalesce(c.source_updated_at, now()),
               coalesce((SELECT max(x.version) FROM workflow_revisions x
                         WHERE x.report_id = r.id), 0) + 1
        FROM _left c
        JOIN workflow_reports r ON r.kind = :kind AND r.subject_id = c.project_id
             AND r.period = c.quarter
        """  # noqa: S608 (the point names are the constants above)
        ).bindparams(levels=LEVELS, kind=KIND)
    )
    op.execute(
        """
        CREATE TEMPORARY TABLE _carried_now ON COMMIT DROP AS
        SELECT v.id, v.report_id FROM workflow_revisions v JOIN _left c
          ON v.data->>'legacy_quarterly_report_id' = c.id::text
        """
    )
    op.execute(
        """
        UPDATE workflow_reports r
        SET approved_revision_id = n.id,
            current_revision_id = CASE
              WHEN r.current_revision_id IS NULL OR EXISTS (
                  SELECT 1 FROM workflow_revisions cur
                  WHERE cur.id = r.current_revision_id AND cur.state = 'approved') THEN n.id
              ELSE r.current_revision_id END
        FROM _carried_now n
        WHERE r.id = n.report_id
        """
    )
    op.execute(
        """
        INSERT INTO workflow_events (report_id, revision_id, at, action, from_state, from_level,
                                     to_state, to_level, comment)
        SELECT v.report_id, v.id, v.approved_at, 'approve', '', 0, 'approved', v.level,
               'carried over from ' || v.source
        FROM workflow_revisions v JOIN _carried_now n ON n.id = v.id
        """
    )
    # The next run compares against the approved revision of the record's quarter.
    op.execute(
        sa.text(
            """
        UPDATE ingest_records i SET target = 'workflow_revision',
               target_id = r.approved_revision_id
        FROM quarterly_reports q
        JOIN projects p ON p.office_id = q.office_id AND p.fiscal_year = q.fiscal_year
             AND p.name = left(q.project, 500)
        JOIN workflow_reports r ON r.kind = :kind AND r.subject_id = p.id
             AND r.period = q.quarter
        WHERE i.target = 'quarterly_report' AND i.target_id = q.id
        """
        ).bindparams(kind=KIND)
    )


def downgrade() -> None:
    op.create_table(
        "quarterly_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("office_id", sa.Integer(), sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("ingest_sources.id"), nullable=False),
        sa.Column("source_record_id", sa.String(200), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("points", postgresql.JSONB(), nullable=False),
        sa.Column("budget_planned", sa.Double(), nullable=True),
        sa.Column("budget_disbursed", sa.Double(), nullable=True),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("source_id", "source_record_id"),
    )
    op.create_index("ix_quarterly_reports_office_id", "quarterly_reports", ["office_id"])
    points = ", ".join(f"'{p}', coalesce(v.data->>'{p}', '')" for p in POINTS)
    # One row per bookkeeping row of a quarterly source, from the revision it names; and one
    # per finally approved ingested quarter no bookkeeping row names (carried over earlier).
    op.execute(
        f"""
        INSERT INTO quarterly_reports (office_id, source_id, source_record_id, fiscal_year,
            quarter, project, points, budget_planned, budget_disbursed, source_updated_at)
        SELECT r.office_id, s.id, coalesce(i.source_record_id, 'report:' || r.id),
               r.fiscal_year, r.period, p.name, jsonb_build_object({points}),
               p.budget_planned::float8, (v.data->>'budget_disbursed')::float8,
               coalesce(i.source_updated_at, v.approved_at)
        FROM workflow_revisions v
        JOIN workflow_reports r ON r.id = v.report_id AND r.kind = '{KIND}'
        JOIN projects p ON p.id = r.subject_id
        JOIN ingest_sources s ON 'ingest:' || s.name = v.source
        LEFT JOIN ingest_records i ON i.target = 'workflow_revision' AND i.target_id = v.id
             AND i.source_id = s.id
        WHERE i.id IS NOT NULL OR r.approved_revision_id = v.id
        ON CONFLICT (source_id, source_record_id) DO NOTHING
        """  # noqa: S608 (the point names and kind are the constants above)
    )
    op.execute(
        """
        UPDATE ingest_records i SET target = 'quarterly_report', target_id = q.id
        FROM quarterly_reports q
        WHERE q.source_id = i.source_id AND q.source_record_id = i.source_record_id
          AND i.target = 'workflow_revision'
        """
    )
    op.execute("DELETE FROM ingest_conflicts WHERE report_id IS NOT NULL")
    op.drop_index("ix_ingest_conflicts_report_id", "ingest_conflicts")
    op.drop_constraint("ingest_conflicts_report_id_fkey", "ingest_conflicts", type_="foreignkey")
    op.drop_column("ingest_conflicts", "report_id")
    op.drop_table("workflow_kind_levels")
