"""progress reports on the workflow engine: every entry, revision and comment carried over

Each progress_entries row becomes one workflow report of kind "progress" (subject
"item:<item id>:round:<round>", subject_id the item, period the round); each of its revisions
becomes a workflow revision with the same number, state and version, its content as the
revision's data, at level 0 (draft, returned), 1 (submitted: the director certified) or 2
(approved). The entry's two pointers (working, public) point at the carried revisions, so an
approved report being revised keeps its approved revision public.

The trail gets what the rows knew: the creation (or revision), every return with the
reviewer's comment (review_comments, oldest first), the last submission, the approval with its
note. When a revision went through several returns, each return is preceded by a submission
at the comment's time (the old rows kept no earlier submission times).

Evidence rows now belong to the carried revisions (evidence.revision_id re-pointed), ingestion
conflicts to the carried reports, and ingestion bookkeeping of progress records to the carried
revisions. The old tables are then dropped. Downgrade rebuilds them from the reports (returns'
comments from the trail) and removes the reports.

Revision ID: 7d2a9c4e1b63
Revises: 9a3e5b7d2f46
Create Date: 2026-11-30 13:40:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "7d2a9c4e1b63"
down_revision: str | None = "9a3e5b7d2f46"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when the app's constants do.
KIND = "progress"
LEVELS = 2  # office director certifies, OBEC reviewer approves
TEXT_KEYS = (
    "status",
    "what",
    "where",
    "how",
    "result",
    "problems",
    "served_goal",
    "no_activity_reason",
    "no_activity_when",
)
NULLABLE_KEYS = (
    "indicator_value",
    "indicator_target",
    "indicator_unit",
    "indicator_achieved",
    "likely_success",
)
LEVEL_OF = {"draft": 0, "returned": 0, "submitted": 1, "approved": LEVELS}


def _fk_name(table: str, column: str) -> str | None:
    for fk in sa.inspect(op.get_bind()).get_foreign_keys(table):
        if fk["constrained_columns"] == [column]:
            return str(fk["name"])
    return None


def _repoint(table: str, column: str, target: str) -> None:
    name = _fk_name(table, column)
    if name:
        op.drop_constraint(name, table, type_="foreignkey")
    op.create_foreign_key(
        f"fk_{table}_{column}", table, target, [column], ["id"], ondelete="CASCADE"
    )


def _events(conn: sa.Connection) -> None:
    """The trail of every carried revision, in the order things happened to it."""
    revs = conn.execute(
        sa.text(
            "SELECT m.new_id, m.report_id, v.revision_no, v.state, v.created_at, v.updated_at,"
            " v.created_by_id, v.submitted_by_id, v.submitted_at, v.reviewed_by_id,"
            " v.reviewed_at, v.review_comment,"
            " coalesce((SELECT jsonb_agg(jsonb_build_object('author', c.author_id, 'body',"
            " c.body, 'at', c.created_at) ORDER BY c.id) FROM review_comments c"
            " WHERE c.revision_id = v.id), '[]'::jsonb) AS comments "
            "FROM progress_revision_map m JOIN progress_revisions v ON v.id = m.old_id "
            "ORDER BY m.new_id"
        )
    ).mappings()
    rows: list[dict[str, Any]] = []

    def add(
        rev: Any,
        at: Any,
        user: Any,
        action: str,
        fr: tuple[str, int],
        to: tuple[str, int],
        comment: str = "",
    ) -> None:
        rows.append(
            {
                "ord": len(rows),
                "report_id": rev["report_id"],
                "revision_id": rev["new_id"],
                "at": at.isoformat() if hasattr(at, "isoformat") else at,
                "user_id": user,
                "action": action,
                "fs": fr[0],
                "fl": fr[1],
                "ts": to[0],
                "tl": to[1],
                "comment": comment,
            }
        )

    for rev in revs:
        state = rev["state"]
        comments = list(rev["comments"])
        note = ""
        if (
            state == "approved"
            and comments
            and rev["review_comment"]
            and comments[-1]["body"] == rev["review_comment"]
        ):
            note = comments.pop()["body"]  # the approval's note, not a return
        if state == "returned" and not comments:
            comments = [
                {
                    "author": rev["reviewed_by_id"],
                    "body": rev["review_comment"] or "",
                    "at": rev["reviewed_at"] or rev["updated_at"],
                }
            ]
        first = "create" if rev["revision_no"] == 1 else "revise"
        add(rev, rev["created_at"], rev["created_by_id"], first, ("", 0), ("draft", 0))
        for c in comments:
            add(rev, c["at"], None, "submit", ("draft", 0), ("submitted", 1))
            add(rev, c["at"], c["author"], "return", ("submitted", 1), ("returned", 0), c["body"])
        if state in ("submitted", "approved"):
            before = ("returned", 0) if comments else ("draft", 0)
            at = rev["submitted_at"] or rev["updated_at"]
            add(rev, at, rev["submitted_by_id"], "submit", before, ("submitted", 1))
        if state == "approved":
            at = rev["reviewed_at"] or rev["updated_at"]
            add(
                rev,
                at,
                rev["reviewed_by_id"],
                "approve",
                ("submitted", 1),
                ("approved", LEVELS),
                note,
            )
    if not rows:
        return
    conn.execute(
        sa.text(
            "INSERT INTO workflow_events (report_id, revision_id, at, user_id, action,"
            " from_state, from_level, to_state, to_level, comment) "
            "SELECT v.report_id, v.revision_id, v.at, v.user_id, v.action, v.fs, v.fl, v.ts,"
            " v.tl, v.comment FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(ord int,"
            " report_id int, revision_id int, at timestamptz, user_id int, action text,"
            " fs text, fl int, ts text, tl int, comment text) ORDER BY v.ord"
        ),
        {"rows": json.dumps(rows, default=str, ensure_ascii=False)},
    )


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, subject_id,"
            " period, created_at) "
            "SELECT :kind, e.office_id, e.fiscal_year,"
            " 'item:' || e.item_id || ':round:' || e.round_no, e.item_id, e.round_no,"
            " e.created_at FROM progress_entries e ORDER BY e.id"
        ),
        {"kind": KIND},
    )
    conn.execute(
        sa.text(
            "CREATE TEMP TABLE progress_entry_map ON COMMIT DROP AS "
            "SELECT e.id AS old_id, r.id AS new_id FROM progress_entries e "
            "JOIN workflow_reports r ON r.kind = :kind AND r.office_id = e.office_id"
            " AND r.fiscal_year = e.fiscal_year AND r.subject_id = e.item_id"
            " AND r.period = e.round_no"
        ),
        {"kind": KIND},
    )
    data = ", ".join(
        [f"'{k}', v.\"{k}\"" for k in TEXT_KEYS] + [f"'{k}', v.{k}" for k in NULLABLE_KEYS]
    )
    conn.execute(
        sa.text(
            "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source,"  # noqa: S608 (constants)
            " created_by_id, approved_at, created_at, updated_at, version) "
            f"SELECT m.new_id, v.revision_no, v.state, CASE v.state WHEN 'submitted' THEN 1"
            f" WHEN 'approved' THEN {LEVELS} ELSE 0 END, jsonb_build_object({data}),"
            " v.source, v.created_by_id,"
            " CASE WHEN v.state = 'approved' THEN coalesce(v.reviewed_at, v.updated_at) END,"
            " v.created_at, v.updated_at, v.version "
            "FROM progress_revisions v JOIN progress_entry_map m ON m.old_id = v.entry_id "
            "ORDER BY v.id"
        )
    )
    conn.execute(
        sa.text(
            "CREATE TEMP TABLE progress_revision_map ON COMMIT DROP AS "
            "SELECT v.id AS old_id, w.id AS new_id, w.report_id FROM progress_revisions v "
            "JOIN progress_entry_map m ON m.old_id = v.entry_id "
            "JOIN workflow_revisions w ON w.report_id = m.new_id"
            " AND w.revision_no = v.revision_no"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE workflow_reports r SET current_revision_id = c.new_id,"
            " approved_revision_id = a.new_id "
            "FROM progress_entries e JOIN progress_entry_map m ON m.old_id = e.id "
            "LEFT JOIN progress_revision_map c ON c.old_id = e.current_revision_id "
            "LEFT JOIN progress_revision_map a ON a.old_id = e.approved_revision_id "
            "WHERE r.id = m.new_id"
        )
    )
    _events(conn)

    # Evidence, conflicts and bookkeeping follow their report to the engine.
    name = _fk_name("evidence", "revision_id")
    if name:
        op.drop_constraint(name, "evidence", type_="foreignkey")
    conn.execute(
        sa.text(
            "UPDATE evidence x SET revision_id = m.new_id FROM progress_revision_map m"
            " WHERE x.revision_id = m.old_id"
        )
    )
    op.create_foreign_key(
        "fk_evidence_revision_id",
        "evidence",
        "workflow_revisions",
        ["revision_id"],
        ["id"],
        ondelete="CASCADE",
    )
    name = _fk_name("ingest_conflicts", "entry_id")
    if name:
        op.drop_constraint(name, "ingest_conflicts", type_="foreignkey")
    conn.execute(
        sa.text(
            "UPDATE ingest_conflicts c SET entry_id = m.new_id FROM progress_entry_map m"
            " WHERE c.entry_id = m.old_id"
        )
    )
    op.create_foreign_key(
        "fk_ingest_conflicts_entry_id", "ingest_conflicts", "workflow_reports", ["entry_id"], ["id"]
    )
    conn.execute(
        sa.text(
            "UPDATE ingest_records i SET target_id = m.new_id FROM progress_revision_map m"
            " WHERE i.target = 'progress_revision' AND i.target_id = m.old_id"
        )
    )
    # Dropped now, not at commit: a caller may run more migrations in the same transaction.
    conn.execute(sa.text("DROP TABLE progress_revision_map, progress_entry_map"))
    op.drop_table("review_comments")
    op.drop_constraint("fk_entry_approved_revision", "progress_entries", type_="foreignkey")
    op.drop_constraint("fk_entry_current_revision", "progress_entries", type_="foreignkey")
    op.drop_table("progress_revisions")
    op.drop_table("progress_entries")


def downgrade() -> None:
    conn = op.get_bind()
    op.execute(
        sa.text(
            """
        CREATE TABLE progress_entries (
            id serial PRIMARY KEY,
            office_id integer NOT NULL REFERENCES offices(id),
            fiscal_year smallint NOT NULL REFERENCES fiscal_years(year_be),
            item_id integer NOT NULL REFERENCES policy_items(id),
            round_no smallint NOT NULL,
            current_revision_id integer,
            approved_revision_id integer,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (office_id, item_id, round_no)
        );
        CREATE INDEX ix_progress_entries_office_id ON progress_entries (office_id);
        CREATE INDEX ix_progress_entries_item_id ON progress_entries (item_id);
        CREATE TABLE progress_revisions (
            id serial PRIMARY KEY,
            entry_id integer NOT NULL REFERENCES progress_entries(id) ON DELETE CASCADE,
            revision_no smallint NOT NULL,
            state varchar(10) NOT NULL,
            status varchar(20) NOT NULL,
            what text NOT NULL,
            "where" text NOT NULL,
            how text NOT NULL,
            result text NOT NULL,
            indicator_value double precision,
            indicator_target double precision,
            indicator_unit varchar(10),
            indicator_achieved boolean,
            problems text NOT NULL,
            likely_success varchar(10),
            served_goal text NOT NULL,
            no_activity_reason text NOT NULL,
            no_activity_when text NOT NULL,
            source varchar(100) NOT NULL,
            created_by_id integer REFERENCES users(id),
            submitted_by_id integer REFERENCES users(id),
            submitted_at timestamptz,
            reviewed_by_id integer REFERENCES users(id),
            reviewed_at timestamptz,
            review_comment text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            version integer NOT NULL,
            UNIQUE (entry_id, revision_no),
            CONSTRAINT ck_state_allowed
                CHECK (state IN ('draft', 'submitted', 'returned', 'approved')),
            CONSTRAINT ck_status_allowed CHECK (status IN ('not_started', 'on_plan',
                'plan_adjusted', 'output_achieved')),
            CONSTRAINT ck_indicator_unit
                CHECK (indicator_unit IS NULL OR indicator_unit IN ('number', 'percent')),
            CONSTRAINT ck_likely_success CHECK (likely_success IS NULL
                OR likely_success IN ('on_track', 'at_risk', 'off_track'))
        );
        CREATE INDEX ix_progress_revisions_entry_id ON progress_revisions (entry_id);
        CREATE TABLE review_comments (
            id serial PRIMARY KEY,
            revision_id integer NOT NULL REFERENCES progress_revisions(id) ON DELETE CASCADE,
            author_id integer NOT NULL REFERENCES users(id),
            body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_review_comments_revision_id ON review_comments (revision_id);
        """
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO progress_entries (office_id, fiscal_year, item_id, round_no, created_at)"
            " SELECT office_id, fiscal_year, subject_id, period, created_at"
            " FROM workflow_reports WHERE kind = :kind ORDER BY id"
        ),
        {"kind": KIND},
    )
    conn.execute(
        sa.text(
            "CREATE TEMP TABLE progress_entry_map ON COMMIT DROP AS "
            "SELECT e.id AS old_id, r.id AS new_id FROM progress_entries e "
            "JOIN workflow_reports r ON r.kind = :kind AND r.office_id = e.office_id"
            " AND r.subject_id = e.item_id AND r.period = e.round_no"
        ),
        {"kind": KIND},
    )

    def text_of(k: str) -> str:
        return f"coalesce(w.data->>'{k}', '')"

    conn.execute(
        sa.text(
            "INSERT INTO progress_revisions (entry_id, revision_no, state, status, what,"  # noqa: S608 (constants)
            ' "where", how, result, indicator_value, indicator_target, indicator_unit,'
            " indicator_achieved, problems, likely_success, served_goal, no_activity_reason,"
            " no_activity_when, source, created_by_id, submitted_by_id, submitted_at,"
            " reviewed_by_id, reviewed_at, review_comment, created_at, updated_at, version) "
            "SELECT m.old_id, w.revision_no, w.state,"
            " coalesce(w.data->>'status', 'not_started'), "
            + ", ".join(text_of(k) for k in ("what", "where", "how", "result"))
            + ", (w.data->>'indicator_value')::float8, (w.data->>'indicator_target')::float8,"
            " w.data->>'indicator_unit', (w.data->>'indicator_achieved')::boolean, "
            + text_of("problems")
            + ", w.data->>'likely_success', "
            + ", ".join(text_of(k) for k in ("served_goal", "no_activity_reason"))
            + ", "
            + text_of("no_activity_when")
            + ", left(w.source, 100), w.created_by_id,"
            " s.user_id, s.at, d.user_id, CASE WHEN w.state IN ('approved', 'returned')"
            " THEN d.at END,"
            " CASE WHEN w.state IN ('approved', 'returned') THEN coalesce(d.comment, '')"
            " ELSE '' END, w.created_at, w.updated_at, w.version "
            "FROM workflow_revisions w JOIN progress_entry_map m ON m.new_id = w.report_id "
            "LEFT JOIN LATERAL (SELECT e.user_id, e.at FROM workflow_events e"
            " WHERE e.revision_id = w.id AND e.action = 'submit' ORDER BY e.id DESC LIMIT 1)"
            " s ON true "
            "LEFT JOIN LATERAL (SELECT e.user_id, e.at, e.comment FROM workflow_events e"
            " WHERE e.revision_id = w.id AND e.action IN ('approve', 'return', 'unapprove')"
            " ORDER BY e.id DESC LIMIT 1) d ON true "
            "ORDER BY w.id"
        )
    )
    conn.execute(
        sa.text(
            "CREATE TEMP TABLE progress_revision_map ON COMMIT DROP AS "
            "SELECT v.id AS old_id, w.id AS new_id FROM progress_revisions v "
            "JOIN progress_entry_map m ON m.old_id = v.entry_id "
            "JOIN workflow_revisions w ON w.report_id = m.new_id"
            " AND w.revision_no = v.revision_no"
        )
    )
    # Every return's comment (and an approval's note) beside its revision, oldest first.
    conn.execute(
        sa.text(
            "INSERT INTO review_comments (revision_id, author_id, body, created_at) "
            "SELECT m.old_id, e.user_id, e.comment, e.at FROM workflow_events e "
            "JOIN progress_revision_map m ON m.new_id = e.revision_id "
            "WHERE e.comment <> '' AND e.user_id IS NOT NULL"
            " AND e.action IN ('approve', 'return', 'unapprove') ORDER BY e.id"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE progress_entries e SET current_revision_id = c.old_id,"
            " approved_revision_id = a.old_id "
            "FROM progress_entry_map m JOIN workflow_reports r ON r.id = m.new_id "
            "LEFT JOIN progress_revision_map c ON c.new_id = r.current_revision_id "
            "LEFT JOIN progress_revision_map a ON a.new_id = r.approved_revision_id "
            "WHERE e.id = m.old_id"
        )
    )
    op.create_foreign_key(
        "fk_entry_current_revision",
        "progress_entries",
        "progress_revisions",
        ["current_revision_id"],
        ["id"],
    )
    op.create_foreign_key(
        "fk_entry_approved_revision",
        "progress_entries",
        "progress_revisions",
        ["approved_revision_id"],
        ["id"],
    )
    op.drop_constraint("fk_evidence_revision_id", "evidence", type_="foreignkey")
    conn.execute(
        sa.text(
            "UPDATE evidence x SET revision_id = m.old_id FROM progress_revision_map m"
            " WHERE x.revision_id = m.new_id"
        )
    )
    op.create_foreign_key(
        "evidence_revision_id_fkey",
        "evidence",
        "progress_revisions",
        ["revision_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_constraint("fk_ingest_conflicts_entry_id", "ingest_conflicts", type_="foreignkey")
    conn.execute(
        sa.text(
            "UPDATE ingest_conflicts c SET entry_id = m.old_id FROM progress_entry_map m"
            " WHERE c.entry_id = m.new_id"
        )
    )
    op.create_foreign_key(
        "ingest_conflicts_entry_id_fkey",
        "ingest_conflicts",
        "progress_entries",
        ["entry_id"],
        ["id"],
    )
    conn.execute(
        sa.text(
            "UPDATE ingest_records i SET target_id = m.old_id FROM progress_revision_map m"
            " WHERE i.target = 'progress_revision' AND i.target_id = m.new_id"
        )
    )
    conn.execute(sa.text("DROP TABLE progress_revision_map, progress_entry_map"))
    conn.execute(sa.text("DELETE FROM workflow_reports WHERE kind = :kind"), {"kind": KIND})
