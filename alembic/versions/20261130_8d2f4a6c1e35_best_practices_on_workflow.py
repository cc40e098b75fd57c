"""best practices on the workflow engine: every practice carried into workflow reports

Each best practice (a row with no replaces_id) keeps its id, which every address uses, and
becomes one workflow report of kind "best_practice" (subject "best_practice:<id>"):
- approved with no working copy: one approved revision (level 2);
- draft / submitted / returned: one revision in that state (level 1 when submitted);
- approved with a working copy (a change pending): the approved revision (still public) and a
  newer working revision holding the copy's content, state and version (at least one above
  the approved one, so a page opened on either row cannot overwrite the other's text).
A revision's data holds the content (title, owner, fiscal year, dimensions, aligned items, the
five texts, infographic, attachments); best_practice_items now names revisions. The trail gets
what the rows knew: creation, submission, the approval or return with the reviewer's comment
and who made it. The working copies' rows are removed (their content is in the revisions) and
best_practices keeps only the practice's identity. Downgrade rebuilds the columns, the working
copies and the item rows from the reports, and removes the reports.

Revision ID: 8d2f4a6c1e35
Revises: 8a3f6c2d1e47
Create Date: 2026-11-30 13:30:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "8d2f4a6c1e35"
down_revision: str | None = "8a3f6c2d1e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when the app's constants do.
KIND = "best_practice"
LEVELS = 2  # office director certifies, OBEC reviews
RICH = ("background", "objectives", "process", "results", "success_factors")
ATTACHMENT_KEYS = ("stored_name", "original_name", "title", "mime", "size_bytes", "sha256")
OLD_COLUMNS = (
    "fiscal_year",
    "title",
    "owner",
    "dimensions",
    *RICH,
    "infographic_photo_id",
    "attachments",
    "state",
    "replaces_id",
    "review_comment",
    "reviewed_by_id",
    "reviewed_at",
    "updated_at",
    "version",
)


def _content(row: Any, items: list[int]) -> dict[str, Any]:
    return {
        "fiscal_year": int(row.fiscal_year),
        "title": row.title or "",
        "owner": row.owner or "",
        "dimensions": list(row.dimensions or []),
        "items": sorted(items),
        **{k: getattr(row, k) or "" for k in RICH},
        "infographic_photo_id": row.infographic_photo_id,
        "attachments": [
            {k: a.get(k) for k in ATTACHMENT_KEYS}
            for a in (row.attachments or [])
            if isinstance(a, dict)
        ],
    }


def _insert(conn: sa.Connection, sql: str, params: dict[str, Any]) -> int:
    return int(conn.execute(sa.text(sql), params).scalar_one())


def _revision(
    conn: sa.Connection,
    report: int,
    number: int,
    row: Any,
    items: list[int],
    level: int,
    version: int,
    approved_at: Any,
) -> int:
    rev = _insert(
        conn,
        "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source, "
        "created_by_id, approved_at, created_at, updated_at, version) VALUES (:r, :n, :state, "
        ":level, CAST(:data AS jsonb), 'manual', :by, :approved_at, :created, :updated, "
        ":version) RETURNING id",
        {
            "r": report,
            "n": number,
            "state": row.state,
            "level": level,
            "data": json.dumps(_content(row, items), ensure_ascii=False),
            "by": row.created_by_id,
            "approved_at": approved_at,
            "created": row.created_at,
            "updated": row.updated_at,
            "version": version,
        },
    )
    for item in sorted(set(items)):
        conn.execute(
            sa.text("INSERT INTO best_practice_items (revision_id, item_id) VALUES (:r, :i)"),
            {"r": rev, "i": item},
        )
    return rev


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
    at = row.reviewed_at or row.updated_at
    comment = row.review_comment or ""
    if row.state == "draft":
        if comment:  # a return, edited since
            _event(conn, report, rev, at, "submit", ("draft", 0), ("submitted", 1))
            _event(
                conn,
                report,
                rev,
                at,
                "return",
                ("submitted", 1),
                ("returned", 0),
                row.reviewed_by_id,
                comment,
            )
        return
    _event(conn, report, rev, at, "submit", ("draft", 0), ("submitted", 1))
    if row.state == "submitted":
        if comment:  # returned once, sent again
            _event(
                conn,
                report,
                rev,
                at,
                "return",
                ("submitted", 1),
                ("returned", 0),
                row.reviewed_by_id,
                comment,
            )
            _event(conn, report, rev, row.updated_at, "submit", ("returned", 0), ("submitted", 1))
        return
    decision = "approve" if row.state == "approved" else "return"
    to = ("approved", LEVELS) if row.state == "approved" else ("returned", 0)
    _event(conn, report, rev, at, decision, ("submitted", 1), to, row.reviewed_by_id, comment)


def _carry(conn: sa.Connection, row: Any, copy: Any, items: dict[int, list[int]]) -> None:
    report = _insert(
        conn,
        "INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, subject_id, "
        "created_at) VALUES (:kind, :office, :fy, :subject, :sid, :created) RETURNING id",
        {
            "kind": KIND,
            "office": row.office_id,
            "fy": row.fiscal_year,
            "subject": f"best_practice:{row.id}",
            "sid": row.id,
            "created": row.created_at,
        },
    )
    level = {"submitted": 1, "approved": LEVELS}.get(row.state, 0)
    approved_at = (row.reviewed_at or row.updated_at) if row.state == "approved" else None
    first = _revision(conn, report, 1, row, items.get(row.id, []), level, row.version, approved_at)
    _trail(conn, report, first, row, "create")
    current, approved = first, first if row.state == "approved" else None
    if copy is not None and row.state == "approved":
        version = max(copy.version, row.version + 1)
        level = {"submitted": 1, "approved": LEVELS}.get(copy.state, 0)
        current = _revision(conn, report, 2, copy, items.get(copy.id, []), level, version, None)
        _trail(conn, report, current, copy, "revise")
    conn.execute(
        sa.text(
            "UPDATE workflow_reports SET current_revision_id = :c, approved_revision_id = :a "
            "WHERE id = :r"
        ),
        {"c": current, "a": approved, "r": report},
    )
    conn.execute(
        sa.text("UPDATE best_practices SET report_id = :r WHERE id = :id"),
        {"r": report, "id": row.id},
    )


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("best_practices", sa.Column("report_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("best_practices_report_id_fkey"),
        "best_practices",
        "workflow_reports",
        ["report_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_unique_constraint(
        op.f("best_practices_report_id_key"), "best_practices", ["report_id"]
    )
    items: dict[int, list[int]] = {}
    for bp_id, item_id in conn.execute(
        sa.text("SELECT best_practice_id, item_id FROM best_practice_items")
    ):
        items.setdefault(bp_id, []).append(item_id)
    op.drop_table("best_practice_items")
    op.create_table(
        "best_practice_items",
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["revision_id"], ["workflow_revisions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["policy_items.id"]),
        sa.PrimaryKeyConstraint("revision_id", "item_id"),
    )
    rows = conn.execute(sa.text("SELECT * FROM best_practices ORDER BY id")).all()
    copies = {r.replaces_id: r for r in rows if r.replaces_id is not None}
    for row in rows:
        if row.replaces_id is None:
            _carry(conn, row, copies.get(row.id), items)
    conn.execute(sa.text("DELETE FROM best_practices WHERE replaces_id IS NOT NULL"))
    for column in OLD_COLUMNS:
        op.drop_column("best_practices", column)


def downgrade() -> None:
    conn = op.get_bind()
    op.add_column("best_practices", sa.Column("fiscal_year", sa.SmallInteger(), nullable=True))
    op.add_column("best_practices", sa.Column("title", sa.String(300), nullable=True))
    op.add_column("best_practices", sa.Column("owner", sa.String(300), nullable=True))
    op.add_column(
        "best_practices",
        sa.Column("dimensions", postgresql.ARRAY(sa.String(length=20)), nullable=True),
    )
    for key in RICH:
        op.add_column("best_practices", sa.Column(key, sa.Text(), nullable=True))
    op.add_column(
        "best_practices",
        sa.Column("infographic_photo_id", sa.Integer(), sa.ForeignKey("photos.id"), nullable=True),
    )
    op.add_column(
        "best_practices",
        sa.Column("attachments", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("best_practices", sa.Column("state", sa.String(10), nullable=True))
    op.add_column("best_practices", sa.Column("review_comment", sa.Text(), nullable=True))
    op.add_column(
        "best_practices",
        sa.Column("reviewed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.add_column(
        "best_practices", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "best_practices",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
    )
    op.add_column("best_practices", sa.Column("version", sa.Integer(), nullable=True))
    op.add_column("best_practices", sa.Column("replaces_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("best_practices_replaces_id_fkey"),
        "best_practices",
        "best_practices",
        ["replaces_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_unique_constraint(
        op.f("best_practices_replaces_id_key"), "best_practices", ["replaces_id"]
    )
    fill = sa.text(
        """
        UPDATE best_practices SET
          fiscal_year = (x.d ->> 'fiscal_year')::smallint,
          title = x.d ->> 'title', owner = x.d ->> 'owner',
          dimensions = ARRAY(SELECT jsonb_array_elements_text(x.d -> 'dimensions')),
          background = x.d ->> 'background', objectives = x.d ->> 'objectives',
          process = x.d ->> 'process', results = x.d ->> 'results',
          success_factors = x.d ->> 'success_factors',
          infographic_photo_id = (x.d ->> 'infographic_photo_id')::int,
          attachments = coalesce(x.d -> 'attachments', '[]'::jsonb),
          state = :state, review_comment = :comment, reviewed_by_id = :reviewer,
          reviewed_at = :reviewed_at, updated_at = :updated, version = :version
        FROM (SELECT CAST(:data AS jsonb) AS d) AS x
        WHERE id = :id
        """
    )
    last_decision = sa.text(
        "SELECT user_id, at, comment FROM workflow_events WHERE revision_id = :v "
        "AND action IN ('approve', 'return', 'unapprove') ORDER BY id DESC LIMIT 1"
    )
    pairs: list[tuple[int, list[int]]] = []
    reports = conn.execute(
        sa.text(
            "SELECT b.id AS bp_id, b.office_id, b.created_by_id, b.created_at, "
            "r.current_revision_id, r.approved_revision_id FROM best_practices b "
            "JOIN workflow_reports r ON r.id = b.report_id ORDER BY b.id"
        )
    ).all()
    for rep in reports:
        wanted = [rep.approved_revision_id or rep.current_revision_id]
        if rep.approved_revision_id and rep.current_revision_id != rep.approved_revision_id:
            wanted.append(rep.current_revision_id)
        for n, rev_id in enumerate(wanted):
            rev = conn.execute(
                sa.text("SELECT * FROM workflow_revisions WHERE id = :v"), {"v": rev_id}
            ).one()
            target = rep.bp_id
            if n == 1:  # the pending change becomes the working copy it was
                target = _insert(
                    conn,
                    "INSERT INTO best_practices (office_id, created_by_id, created_at, "
                    "replaces_id) VALUES (:o, :by, :at, :orig) RETURNING id",
                    {
                        "o": rep.office_id,
                        "by": rev.created_by_id,
                        "at": rev.created_at,
                        "orig": rep.bp_id,
                    },
                )
            decision = conn.execute(last_decision, {"v": rev_id}).first()
            conn.execute(
                fill,
                {
                    "data": json.dumps(rev.data or {}, ensure_ascii=False),
                    "state": rev.state,
                    "comment": decision.comment if decision else "",
                    "reviewer": decision.user_id if decision else None,
                    "reviewed_at": decision.at if decision else None,
                    "updated": rev.updated_at,
                    "version": rev.version,
                    "id": target,
                },
            )
            pairs.append((target, [int(i) for i in (rev.data or {}).get("items") or []]))
    op.drop_table("best_practice_items")
    op.create_table(
        "best_practice_items",
        sa.Column("best_practice_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["best_practice_id"], ["best_practices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["item_id"], ["policy_items.id"]),
        sa.PrimaryKeyConstraint("best_practice_id", "item_id"),
    )
    for bp_id, item_ids in pairs:
        for item in sorted(set(item_ids)):
            conn.execute(
                sa.text("INSERT INTO best_practice_items VALUES (:b, :i)"), {"b": bp_id, "i": item}
            )
    op.drop_constraint(op.f("best_practices_report_id_key"), "best_practices", type_="unique")
    op.drop_constraint(op.f("best_practices_report_id_fkey"), "best_practices", type_="foreignkey")
    conn.execute(sa.text("UPDATE best_practices SET report_id = NULL"))
    conn.execute(sa.text("DELETE FROM workflow_reports WHERE kind = :k"), {"k": KIND})
    op.drop_column("best_practices", "report_id")
    for column in (
        "fiscal_year",
        "title",
        "owner",
        "dimensions",
        *RICH,
        "attachments",
        "state",
        "review_comment",
        "updated_at",
        "version",
    ):
        op.alter_column("best_practices", column, nullable=False)
    op.create_check_constraint(
        "ck_state_allowed",
        "best_practices",
        "state IN ('draft', 'submitted', 'returned', 'approved')",
    )
