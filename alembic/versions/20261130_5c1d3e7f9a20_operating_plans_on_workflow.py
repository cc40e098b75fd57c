"""operating plans on the workflow engine: every plan carried into workflow reports, table dropped

Each operating_plans row becomes one workflow report of kind "operating_plan" (subject "plan"):
- approved: one approved revision (level 2) holding the plan's texts;
- draft / submitted / returned with no approved snapshot: one revision in that state;
- draft / submitted / returned with an approved snapshot (a plan approved, then changed): an
  approved revision holding the snapshot (still public) and a newer working revision.
The trail gets what the row knew: the approval (at the snapshot's time), the return with the
reviewer's comment, the submission. The working revision keeps the plan's version, so a page
opened before the upgrade still saves. A reviewer's comment on a draft or submitted plan that
had been approved before cannot be told apart from an approval comment; it is kept on the
approval. Downgrade rebuilds the table from the reports (snapshot from the approved revision,
comment from the newest decision) and removes them.

Revision ID: 5c1d3e7f9a20
Revises: b7e2c4a9d1f0
Create Date: 2026-11-30 11:30:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "5c1d3e7f9a20"
down_revision: str | None = "b7e2c4a9d1f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when the app's constants do.
KIND = "operating_plan"
SUBJECT = "plan"
FIELDS = ("problem", "approach", "targets", "timeline")
LEVELS = 2  # office director certifies, OBEC reviews


def _new_report(conn: sa.Connection, plan: Any, created: Any) -> int:
    return int(
        conn.execute(
            sa.text(
                "INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, created_at) "
                "VALUES (:kind, :office, :fy, :subject, CAST(:created AS timestamptz)) RETURNING id"
            ),
            {
                "kind": KIND,
                "office": plan.office_id,
                "fy": plan.fiscal_year,
                "subject": SUBJECT,
                "created": created,
            },
        ).scalar_one()
    )


def _new_revision(
    conn: sa.Connection,
    report_id: int,
    number: int,
    state: str,
    level: int,
    data: dict[str, Any],
    at: Any,
    approved_at: Any,
    version: int,
) -> int:
    return int(
        conn.execute(
            sa.text(
                "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, "
                "source, approved_at, created_at, updated_at, version) VALUES (:r, :n, :state, "
                ":level, CAST(:data AS jsonb), 'manual', CAST(:approved_at AS timestamptz), "
                "CAST(:at AS timestamptz), CAST(:at AS timestamptz), :version) RETURNING id"
            ),
            {
                "r": report_id,
                "n": number,
                "state": state,
                "level": level,
                "data": json.dumps(data, ensure_ascii=False),
                "approved_at": approved_at,
                "at": at,
                "version": version,
            },
        ).scalar_one()
    )


def _event(
    conn: sa.Connection,
    report_id: int,
    revision_id: int,
    at: Any,
    action: str,
    before: tuple[str, int],
    after: tuple[str, int],
    comment: str = "",
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO workflow_events (report_id, revision_id, at, action, from_state, "
            "from_level, to_state, to_level, comment) VALUES (:r, :v, CAST(:at AS timestamptz), "
            ":action, :fs, :fl, :ts, :tl, :comment)"
        ),
        {
            "r": report_id,
            "v": revision_id,
            "at": at,
            "action": action,
            "fs": before[0],
            "fl": before[1],
            "ts": after[0],
            "tl": after[1],
            "comment": comment,
        },
    )


def _carry(conn: sa.Connection, plan: Any) -> None:
    texts = {k: getattr(plan, k) or "" for k in FIELDS}
    snap = plan.approved_snapshot if isinstance(plan.approved_snapshot, dict) else None
    snap_at = (snap or {}).get("approved_at") or plan.updated_at
    comment = plan.review_comment or ""
    report = _new_report(conn, plan, snap_at if snap else plan.updated_at)
    approved: int | None = None
    if plan.state == "approved":
        current = _new_revision(
            conn, report, 1, "approved", LEVELS, texts, plan.updated_at, snap_at, plan.version
        )
        _event(
            conn,
            report,
            current,
            snap_at,
            "approve",
            ("submitted", 1),
            ("approved", LEVELS),
            comment,
        )
        approved = current
    else:
        number = 1
        if snap is not None:
            approved = _new_revision(
                conn,
                report,
                1,
                "approved",
                LEVELS,
                {k: str(snap.get(k) or "") for k in FIELDS},
                snap_at,
                snap_at,
                max(plan.version - 1, 1),
            )
            # The comment kept on a changed, once-approved plan: see the module's docstring.
            _event(
                conn,
                report,
                approved,
                snap_at,
                "approve",
                ("submitted", 1),
                ("approved", LEVELS),
                comment if plan.state != "returned" else "",
            )
            number = 2
        level = 1 if plan.state == "submitted" else 0
        at = plan.updated_at
        current = _new_revision(
            conn, report, number, plan.state, level, texts, at, None, plan.version
        )
        _event(conn, report, current, at, "revise" if snap else "create", ("", 0), ("draft", 0))
        if plan.state == "returned":
            _event(conn, report, current, at, "submit", ("draft", 0), ("submitted", 1))
            _event(conn, report, current, at, "return", ("submitted", 1), ("returned", 0), comment)
        else:
            if comment and snap is None:
                # Only a return leaves a comment on a plan never approved.
                _event(
                    conn, report, current, at, "return", ("submitted", 1), ("returned", 0), comment
                )
            if plan.state == "submitted":
                _event(conn, report, current, at, "submit", ("draft", 0), ("submitted", 1))
    conn.execute(
        sa.text(
            "UPDATE workflow_reports SET current_revision_id = :c, approved_revision_id = :a "
            "WHERE id = :r"
        ),
        {"c": current, "a": approved, "r": report},
    )


def upgrade() -> None:
    conn = op.get_bind()
    plans = conn.execute(sa.text("SELECT * FROM operating_plans ORDER BY id")).all()
    for plan in plans:
        _carry(conn, plan)
    op.drop_index("ix_operating_plans_office_id", table_name="operating_plans")
    op.drop_table("operating_plans")


def downgrade() -> None:
    op.create_table(
        "operating_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("approach", sa.Text(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("timeline", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("approved_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'returned', 'approved')", name="ck_state_allowed"
        ),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "fiscal_year"),
    )
    op.create_index(
        op.f("ix_operating_plans_office_id"), "operating_plans", ["office_id"], unique=False
    )
    op.execute(
        sa.text(
            """
        INSERT INTO operating_plans (office_id, fiscal_year, problem, approach, targets,
                                     timeline, state, review_comment, approved_snapshot,
                                     updated_at, version)
        SELECT r.office_id, r.fiscal_year,
               coalesce(c.data->>'problem', ''), coalesce(c.data->>'approach', ''),
               coalesce(c.data->>'targets', ''), coalesce(c.data->>'timeline', ''),
               c.state,
               coalesce((SELECT e.comment FROM workflow_events e
                         WHERE e.report_id = r.id
                           AND e.action IN ('approve', 'return', 'unapprove')
                         ORDER BY e.id DESC LIMIT 1), ''),
               CASE WHEN a.id IS NULL THEN NULL
                    ELSE jsonb_build_object(
                      'problem', coalesce(a.data->>'problem', ''),
                      'approach', coalesce(a.data->>'approach', ''),
                      'targets', coalesce(a.data->>'targets', ''),
                      'timeline', coalesce(a.data->>'timeline', ''),
                      'approved_at', to_char(a.approved_at AT TIME ZONE 'UTC',
                                             'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
               END,
               c.updated_at, c.version
        FROM workflow_reports r
        JOIN workflow_revisions c ON c.id = r.current_revision_id
        LEFT JOIN workflow_revisions a ON a.id = r.approved_revision_id
        WHERE r.kind = :kind
        """
        ).bindparams(kind=KIND)
    )
    op.execute(sa.text("DELETE FROM workflow_reports WHERE kind = :kind").bindparams(kind=KIND))
