"""office profiles on the workflow engine: every profile revision carried into workflow reports

Each office's profile_revisions become the revisions (same numbers, states, data and versions)
of one workflow report of kind "profile" (subject "profile", fiscal year 0: a profile is of no
year). A proposed pin moves from the geom column into the data as "location": [lon, lat].
Levels: 1 when submitted, 2 when approved (office director certifies, OBEC reviews). The
report's working revision is the newest one, and its approved revision the newest approved
one, so an approved profile with a pending change stays public. The trail gets what the rows
knew: creation, submission (who, when), the approval or return (who, when, the comment).
Downgrade rebuilds the table from the reports (pin from "location", submission and review
from the trail) and removes them.

Revision ID: 9a3e5b7d2f46
Revises: 8d2f4a6c1e35
Create Date: 2026-11-30 13:40:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "9a3e5b7d2f46"
down_revision: str | None = "8d2f4a6c1e35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when the app's constants do.
KIND = "profile"
SUBJECT = "profile"
YEAR = 0
LEVELS = 2  # office director certifies, OBEC reviews


def _event(
    conn: sa.Connection,
    report: int,
    rev: int,
    at: Any,
    action: str,
    before: tuple[str, int],
    after: tuple[str, int],
    user: Any = None,
    comment: str = "",
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO workflow_events (report_id, revision_id, at, user_id, action, "
            "from_state, from_level, to_state, to_level, comment) VALUES (:r, :v, :at, :u, "
            ":action, :fs, :fl, :ts, :tl, :comment)"
        ),
        {
            "r": report,
            "v": rev,
            "at": at,
            "u": user,
            "action": action,
            "fs": before[0],
            "fl": before[1],
            "ts": after[0],
            "tl": after[1],
            "comment": comment,
        },
    )


def _trail(conn: sa.Connection, report: int, rev: int, row: Any, first: str) -> None:
    """What the row knew of its history, as trail events ending in its state."""
    _event(conn, report, rev, row.created_at, first, ("", 0), ("draft", 0), row.created_by_id)
    sent_at = row.submitted_at or row.updated_at
    decided_at = row.reviewed_at or row.updated_at
    comment = row.review_comment or ""
    if row.state in ("draft", "submitted") and comment:  # returned once, since edited or resent
        _event(conn, report, rev, sent_at, "submit", ("draft", 0), ("submitted", 1))
        _event(
            conn,
            report,
            rev,
            decided_at,
            "return",
            ("submitted", 1),
            ("returned", 0),
            row.reviewed_by_id,
            comment,
        )
        if row.state == "submitted":
            _event(
                conn,
                report,
                rev,
                sent_at,
                "submit",
                ("returned", 0),
                ("submitted", 1),
                row.submitted_by_id,
            )
        return
    if row.state == "draft":
        return
    _event(
        conn, report, rev, sent_at, "submit", ("draft", 0), ("submitted", 1), row.submitted_by_id
    )
    if row.state == "submitted":
        return
    decision = "approve" if row.state == "approved" else "return"
    to = ("approved", LEVELS) if row.state == "approved" else ("returned", 0)
    _event(
        conn, report, rev, decided_at, decision, ("submitted", 1), to, row.reviewed_by_id, comment
    )


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT *, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM profile_revisions "
            "ORDER BY office_id, revision_no"
        )
    ).all()
    by_office: dict[int, list[Any]] = {}
    for row in rows:
        by_office.setdefault(row.office_id, []).append(row)
    for office_id, revs in by_office.items():
        report = conn.execute(
            sa.text(
                "INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, created_at) "
                "VALUES (:k, :o, :fy, :s, :at) RETURNING id"
            ),
            {"k": KIND, "o": office_id, "fy": YEAR, "s": SUBJECT, "at": revs[0].created_at},
        ).scalar_one()
        current = approved = None
        for n, row in enumerate(revs):
            data = dict(row.data or {})
            data["location"] = [row.lon, row.lat] if row.lon is not None else None
            level = {"submitted": 1, "approved": LEVELS}.get(row.state, 0)
            rev = conn.execute(
                sa.text(
                    "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, "
                    "source, created_by_id, approved_at, created_at, updated_at, version) VALUES "
                    "(:r, :n, :state, :level, CAST(:data AS jsonb), 'manual', :by, :approved_at, "
                    ":created, :updated, :version) RETURNING id"
                ),
                {
                    "r": report,
                    "n": row.revision_no,
                    "state": row.state,
                    "level": level,
                    "data": json.dumps(data, ensure_ascii=False),
                    "by": row.created_by_id,
                    "approved_at": (row.reviewed_at or row.updated_at)
                    if row.state == "approved"
                    else None,
                    "created": row.created_at,
                    "updated": row.updated_at,
                    "version": row.version,
                },
            ).scalar_one()
            _trail(conn, report, rev, row, "create" if n == 0 else "revise")
            current = rev
            if row.state == "approved":
                approved = rev
        conn.execute(
            sa.text(
                "UPDATE workflow_reports SET current_revision_id = :c, approved_revision_id = :a "
                "WHERE id = :r"
            ),
            {"c": current, "a": approved, "r": report},
        )
    op.drop_index("ix_profile_revisions_office_id", table_name="profile_revisions")
    op.execute("DROP INDEX IF EXISTS idx_profile_revisions_geom")
    op.drop_table("profile_revisions")


def downgrade() -> None:
    op.create_table(
        "profile_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("revision_no", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "geom",
            Geometry(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
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
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'returned', 'approved')", name="ck_state_allowed"
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"]),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "revision_no"),
    )
    op.execute("CREATE INDEX idx_profile_revisions_geom ON profile_revisions USING gist (geom)")
    op.create_index(
        op.f("ix_profile_revisions_office_id"), "profile_revisions", ["office_id"], unique=False
    )
    op.execute(
        sa.text(
            """
        INSERT INTO profile_revisions (office_id, revision_no, state, data, geom, created_by_id,
            submitted_by_id, submitted_at, reviewed_by_id, reviewed_at, review_comment,
            created_at, updated_at, version)
        SELECT r.office_id, v.revision_no, v.state, v.data - 'location',
               CASE WHEN jsonb_typeof(v.data->'location') = 'array'
                    THEN ST_SetSRID(ST_MakePoint((v.data->'location'->>0)::float8,
                                                 (v.data->'location'->>1)::float8), 4326)
               END,
               v.created_by_id, s.user_id, s.at, d.user_id, d.at, coalesce(d.comment, ''),
               v.created_at, v.updated_at, v.version
        FROM workflow_reports r
        JOIN workflow_revisions v ON v.report_id = r.id
        LEFT JOIN LATERAL (SELECT e.user_id, e.at FROM workflow_events e
                           WHERE e.revision_id = v.id AND e.action = 'submit'
                           ORDER BY e.id DESC LIMIT 1) s ON true
        LEFT JOIN LATERAL (SELECT e.user_id, e.at, e.comment FROM workflow_events e
                           WHERE e.revision_id = v.id
                             AND e.action IN ('approve', 'return', 'unapprove')
                           ORDER BY e.id DESC LIMIT 1) d ON true
        WHERE r.kind = :kind
        ORDER BY r.office_id, v.revision_no
        """
        ).bindparams(kind=KIND)
    )
    op.execute(sa.text("DELETE FROM workflow_reports WHERE kind = :kind").bindparams(kind=KIND))
