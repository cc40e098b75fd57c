"""one workflow engine (reports, revisions, review trail) and quarterly projects

Copies the ingested quarterly reports (quarterly_reports) into projects and finally approved
workflow reports, as they were public already; quarterly_reports stays for ingestion until it
writes through the engine.

Revision ID: 4b7e2f9a1c58
Revises: 9e4d7a1c2b30
Create Date: 2026-11-30 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "4b7e2f9a1c58"
down_revision: str | None = "9e4d7a1c2b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The quarterly kind's number of approval levels when this ran (certify, review, accept).
QUARTERLY_LEVELS = 3


def _stamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "workflow_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("office_id", sa.Integer(), sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.SmallInteger(), nullable=True),
        sa.Column("current_revision_id", sa.Integer(), nullable=True),
        sa.Column("approved_revision_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.UniqueConstraint("kind", "office_id", "fiscal_year", "subject"),
    )
    op.create_index("ix_workflow_reports_office_id", "workflow_reports", ["office_id"])
    op.create_index("ix_workflow_reports_subject_id", "workflow_reports", ["subject_id"])
    op.create_table(
        "workflow_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "report_id",
            sa.Integer(),
            sa.ForeignKey("workflow_reports.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("revision_no", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("report_id", "revision_no"),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'returned', 'approved')", name="ck_state_allowed"
        ),
        sa.CheckConstraint("level >= 0", name="ck_wf_level"),
    )
    op.create_index("ix_workflow_revisions_report_id", "workflow_revisions", ["report_id"])
    op.create_foreign_key(
        "fk_wf_report_current",
        "workflow_reports",
        "workflow_revisions",
        ["current_revision_id"],
        ["id"],
    )
    op.create_foreign_key(
        "fk_wf_report_approved",
        "workflow_reports",
        "workflow_revisions",
        ["approved_revision_id"],
        ["id"],
    )
    op.create_table(
        "workflow_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "report_id",
            sa.Integer(),
            sa.ForeignKey("workflow_reports.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "revision_id",
            sa.Integer(),
            sa.ForeignKey("workflow_revisions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("from_state", sa.String(10), nullable=False),
        sa.Column("from_level", sa.SmallInteger(), nullable=False),
        sa.Column("to_state", sa.String(10), nullable=False),
        sa.Column("to_level", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'save', 'submit', 'approve', 'return', 'unapprove', 'revise')",
            name="ck_action_allowed",
        ),
    )
    op.create_index("ix_workflow_events_report_id", "workflow_events", ["report_id"])
    op.create_index("ix_workflow_events_revision_id", "workflow_events", ["revision_id"])
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("office_id", sa.Integer(), sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("budget_planned", sa.Numeric(14, 2), nullable=True),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        *_stamps(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("office_id", "fiscal_year", "name"),
        sa.CheckConstraint("budget_planned IS NULL OR budget_planned >= 0", name="ck_budget"),
    )
    op.create_index("ix_projects_office_id", "projects", ["office_id"])
    op.create_table(
        "project_quarter_deadlines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.UniqueConstraint("fiscal_year", "quarter"),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name="ck_quarter"),
    )
    _carry_over_ingested()


def _carry_over_ingested() -> None:
    """Each ingested quarterly report becomes a finally approved report of its project.

    Projects are keyed by office, year and name; a project's planned budget is the largest any
    of its quarters gave. Re-running finds everything carried over and adds nothing.
    """
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
    # One report per project and quarter: the newest source record wins.
    op.execute(
        """
        CREATE TEMPORARY TABLE _carried ON COMMIT DROP AS
        SELECT DISTINCT ON (p.id, q.quarter) q.*, p.id AS project_id, s.name AS source_name
        FROM quarterly_reports q
        JOIN ingest_sources s ON s.id = q.source_id
        JOIN projects p ON p.office_id = q.office_id AND p.fiscal_year = q.fiscal_year
             AND p.name = left(q.project, 500)
        ORDER BY p.id, q.quarter, q.source_updated_at DESC NULLS LAST, q.id DESC
        """
    )
    op.execute(
        """
        INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, subject_id, period)
        SELECT 'quarterly_project', c.office_id, c.fiscal_year,
               'project:' || c.project_id || ':' || 'q' || c.quarter, c.project_id, c.quarter
        FROM _carried c
        ON CONFLICT (kind, office_id, fiscal_year, subject) DO NOTHING
        """
    )
    op.execute(
        sa.text(
            """
        INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source,
                                        approved_at, version)
        SELECT r.id, 1, 'approved', :levels,
               jsonb_build_object(
                 'target_progress', coalesce(c.points->>'target_progress', ''),
                 'activity_progress', coalesce(c.points->>'activity_progress', ''),
                 'budget_disbursed', c.budget_disbursed,
                 'budget_disbursement', coalesce(c.points->>'budget_disbursement', ''),
                 'master_plan', coalesce(c.points->>'master_plan', ''),
                 'nesdp13', coalesce(c.points->>'nesdp13', ''),
                 'problems_suggestions', coalesce(c.points->>'problems_suggestions', ''),
                 'legacy_quarterly_report_id', c.id),
               'ingest:' || c.source_name, coalesce(c.source_updated_at, now()), 1
        FROM _carried c
        JOIN workflow_reports r ON r.kind = 'quarterly_project' AND r.subject_id = c.project_id
             AND r.period = c.quarter
        WHERE NOT EXISTS (SELECT 1 FROM workflow_revisions x WHERE x.report_id = r.id)
        """
        ).bindparams(levels=QUARTERLY_LEVELS)
    )
    op.execute(
        """
        UPDATE workflow_reports r SET current_revision_id = v.id, approved_revision_id = v.id
        FROM workflow_revisions v
        WHERE v.report_id = r.id AND v.revision_no = 1 AND r.current_revision_id IS NULL
        """
    )
    op.execute(
        """
        INSERT INTO workflow_events (report_id, revision_id, at, action, from_state, from_level,
                                     to_state, to_level, comment)
        SELECT v.report_id, v.id, v.approved_at, 'approve', '', 0, 'approved', v.level,
               'carried over from ' || v.source
        FROM workflow_revisions v
        WHERE v.source LIKE 'ingest:%'
          AND NOT EXISTS (SELECT 1 FROM workflow_events e WHERE e.revision_id = v.id)
        """
    )


def downgrade() -> None:
    op.drop_table("project_quarter_deadlines")
    op.drop_table("projects")
    op.drop_table("workflow_events")
    op.drop_constraint("fk_wf_report_current", "workflow_reports", type_="foreignkey")
    op.drop_constraint("fk_wf_report_approved", "workflow_reports", type_="foreignkey")
    op.drop_table("workflow_revisions")
    op.drop_table("workflow_reports")
