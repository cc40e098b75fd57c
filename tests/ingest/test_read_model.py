"""The dashboard read-model under statements that write many rows at once, as a sync does.

The statement triggers (migration a4d6e8f0b2c1) refresh, in one statement, every report a
statement wrote; `dashboard_cells` is compared with the status rule recomputed from the
workflow tables after multi-row statements of each kind the triggers follow
(tests/pinmap/test_dashboard_cells_migration.py covers single rows, test_jobs a national sync).
"""

from __future__ import annotations

from sqlalchemy import text

from ..support.ingest import IngestDB, exact_cells


def _run(db: IngestDB, statement: str) -> None:
    with db.factory.begin() as s:
        s.execute(text(statement))


def _statuses(db: IngestDB) -> set[object]:
    return {c[5] for c in exact_cells(db)}


def test_the_read_model_follows_statements_that_write_many_rows(rollback_db: IngestDB) -> None:
    # Reports of every office on three items (one statement), a revision each, then pointers.
    _run(
        rollback_db,
        "INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, subject_id, period)"
        " SELECT k, o.id, 2567, 'item/' || i.id || '/' || k, i.id, 1 FROM offices o,"
        " (SELECT id FROM policy_items ORDER BY id LIMIT 3) i, (VALUES ('progress'), ('plan')) v(k)",
    )
    assert _statuses(rollback_db) == {"draft"}
    _run(
        rollback_db,
        "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source,"
        " version) SELECT id, 1, 'submitted', 1, '{}', 'manual', 1 FROM workflow_reports",
    )
    _run(
        rollback_db,
        "UPDATE workflow_reports r SET current_revision_id = v.id FROM workflow_revisions v"
        " WHERE v.report_id = r.id",
    )
    cells = exact_cells(rollback_db)
    assert len(cells) == 245 * 3 and {c[5] for c in cells} == {"submitted"}
    # Every revision's state at once; then approval pointers on half the reports at once.
    _run(rollback_db, "UPDATE workflow_revisions SET state = 'returned'")
    assert _statuses(rollback_db) == {"returned"}
    _run(
        rollback_db,
        "UPDATE workflow_reports SET approved_revision_id = current_revision_id"
        " WHERE office_id % 2 = 0",
    )
    assert _statuses(rollback_db) == {"returned", "approved"}
    # A second revision on some reports made current, then both revisions of each changed in
    # one statement (the same report twice in the statement's rows).
    _run(
        rollback_db,
        "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source,"
        " version) SELECT id, 2, 'draft', 0, '{}', 'manual', 2 FROM workflow_reports"
        " WHERE office_id % 3 = 0",
    )
    _run(
        rollback_db,
        "UPDATE workflow_reports r SET current_revision_id = v.id FROM workflow_revisions v"
        " WHERE v.report_id = r.id AND v.revision_no = 2",
    )
    assert "draft" in _statuses(rollback_db)
    _run(
        rollback_db,
        "UPDATE workflow_revisions SET state = 'submitted' WHERE report_id IN"
        " (SELECT report_id FROM workflow_revisions WHERE revision_no = 2)",
    )
    assert "draft" not in _statuses(rollback_db)
    # A column the cell does not read changes nothing; un-approving every report at once does.
    _run(rollback_db, "UPDATE workflow_reports SET subject = subject || '/x'")
    exact_cells(rollback_db)
    _run(rollback_db, "UPDATE workflow_reports SET approved_revision_id = NULL")
    assert "approved" not in _statuses(rollback_db)
    _run(rollback_db, "DELETE FROM workflow_reports WHERE office_id % 5 = 0")
    assert len(exact_cells(rollback_db)) < 245 * 3
