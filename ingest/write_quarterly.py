"""The write path of ingested quarterly project reports: through the workflow engine, in bulk.

A page of quarterly-json records becomes, in a handful of set-based statements, what the engine
would have made of each record one by one (`services.projects.ingest_quarterly`): the office's
project (found or created by name, its planned budget updated), the quarter's workflow report,
a revision carrying the record's six points, sent (certified by the source) or approved up to
the kind's last level when the source is pre-approved, the review trail, the audit rows, the
change records and the run's bookkeeping. The engine's rules decide which revision a record
lands on:

- no report yet: a new report and its first revision;
- the source's own revision not yet finally approved: replaced in place (a fresh review);
- a finally approved revision (the source's, or the office's older than the record): a new
  revision on top; the approved one stays public until the new one is approved;
- a revision the office (or another source) is working on — a draft, a sent or returned
  report — or one edited by hand after the record's `updated_at`: nothing is overwritten, a
  conflict is recorded for reviewers (once per source version).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from pinmap.models import (
    IngestConflict,
    IngestRecord,
    IngestSource,
    Office,
    Project,
    WorkflowReport,
)
from pinmap.services import projects as project_svc
from pinmap.services import workflow as wf
from pinmap.services.audit import Actor, emit_change, record
from pinmap.services.errors import N_, ServiceError
from pinmap.services.review import check_version
from pinmap.services.sanitize import clean_text

from .parsers import Parsed
from .write import StaleWrite, Target, _remember, _rows, _steps

KIND = project_svc.KIND
# States in which the source's own revision is replaced rather than stacked on.
UNREVIEWED = ("draft", "submitted", "returned")


@dataclass
class QuarterlyRow:
    """A quarterly record for a known office, its content already checked by the engine."""

    rec: Parsed
    office_id: int
    fiscal_year: int
    quarter: int
    project: str
    budget_planned: float | None
    data: dict[str, Any]

    @property
    def key(self) -> tuple[int, int, str, int]:
        return (self.office_id, self.fiscal_year, self.project, self.quarter)


def quarterly_row(rec: Parsed, office_id: int) -> QuarterlyRow:
    """The record as the engine would store it; ServiceError (to quarantine) if it refuses."""
    data = rec.data
    budget = data.get("budget") or {}
    name = clean_text(data["project"], max_length=project_svc.MAX_NAME)
    if not name:
        raise ServiceError(400, N_("Give the project a name."))
    points = data["points"]
    content = {
        **{k: points.get(k, "") for k in project_svc.POINTS},
        "budget_disbursed": budget.get("disbursed"),
    }
    # The engine's own check (texts cleaned and bounded, amounts in range).
    clean = project_svc.clean(cast(WorkflowReport, None), content)
    return QuarterlyRow(
        rec,
        office_id,
        data["fiscal_year"],
        data["quarter"],
        name,
        project_svc._amount(budget.get("planned"), "budget_planned"),
        clean,
    )


@dataclass
class _Current:
    report_id: int
    rev: dict[str, Any] | None


def _project_ids(
    session: Session, target: Target, rows: Sequence[QuarterlyRow]
) -> dict[tuple[int, int, str], int]:
    """Find or create every project the rows name; update a planned budget the source changed."""
    wanted: dict[tuple[int, int, str], float | None] = {}
    for r in rows:
        key = (r.office_id, r.fiscal_year, r.project)
        if r.budget_planned is not None or key not in wanted:
            wanted[key] = r.budget_planned
    keys = [{"o": o, "fy": fy, "name": name} for (o, fy, name) in wanted]
    found: dict[tuple[int, int, str], tuple[int, float | None, int]] = {}
    for pid, o, fy, name, budget, version in session.execute(
        text(
            "SELECT p.id, p.office_id, p.fiscal_year, p.name, p.budget_planned::float8,"
            " p.version FROM projects p JOIN jsonb_to_recordset(CAST(:rows AS jsonb))"
            " AS k(o int, fy int, name text) ON p.office_id = k.o AND p.fiscal_year = k.fy"
            " AND p.name = k.name"
        ),
        {"rows": _rows(keys)},
    ):
        key = (cast(int, o), cast(int, fy), cast(str, name))
        found[key] = (cast(int, pid), cast("float | None", budget), cast(int, version))
    audit: list[dict[str, Any]] = []
    new = [k for k in wanted if k not in found]
    if new:
        made = session.execute(
            text(
                "INSERT INTO projects (office_id, fiscal_year, name, budget_planned, source,"
                " created_at, updated_at, version) "
                "SELECT v.o, v.fy, v.name, v.budget, :source, :now, :now, 1"
                " FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
                " AS v(o int, fy int, name text, budget float8, ord int) ORDER BY v.ord "
                "RETURNING id, office_id, fiscal_year, name, version"
            ),
            {
                "source": target.tag,
                "now": target.now,
                "rows": _rows(
                    {"o": k[0], "fy": k[1], "name": k[2], "budget": wanted[k], "ord": n}
                    for n, k in enumerate(new)
                ),
            },
        )
        for pid, o, fy, name, version in made:
            key = (cast(int, o), cast(int, fy), cast(str, name))
            found[key] = (cast(int, pid), wanted[key], cast(int, version))
            after = _project_dict(
                cast(int, pid), key[1], key[2], wanted[key], target.tag, cast(int, version)
            )
            audit.append({"id": pid, "office_id": key[0], "before": None, "after": after})
    changed = [
        k for k in wanted if k not in new and wanted[k] is not None and found[k][1] != wanted[k]
    ]
    if changed:
        for pid, version in session.execute(
            text(
                "UPDATE projects p SET budget_planned = v.budget, updated_at = :now,"
                " version = p.version + 1 FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
                " AS v(id int, budget float8) WHERE p.id = v.id RETURNING p.id, p.version"
            ),
            {
                "now": target.now,
                "rows": _rows({"id": found[k][0], "budget": wanted[k]} for k in changed),
            },
        ):
            k = next(k for k in changed if found[k][0] == pid)
            audit.append(
                {
                    "id": pid,
                    "office_id": k[0],
                    "before": {"budget_planned": found[k][1], "version": found[k][2]},
                    "after": {"budget_planned": wanted[k], "version": version},
                }
            )
    if audit:
        session.execute(
            text(
                "INSERT INTO audit_log (at, user_id, ip, action, entity, entity_id, office_id,"
                " before, after) SELECT :now, NULL, :ip, 'project.save', 'project',"
                " v.id::text, v.office_id, v.before, v.after"
                " FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
                " AS v(id int, office_id int, before jsonb, after jsonb)"
            ),
            {"now": target.now, "ip": target.actor_ip, "rows": _rows(audit)},
        )
    return {k: v[0] for k, v in found.items()}


def _project_dict(
    pid: int, fy: int, name: str, budget: float | None, source: str, version: int
) -> dict[str, Any]:
    return {
        "id": pid,
        "fiscal_year": fy,
        "name": name,
        "budget_planned": budget,
        "source": source,
        "version": version,
    }


_CURRENT = text(
    "SELECT k.i, r.id AS report_id, v.id, v.state, v.level, v.source, v.updated_at,"
    " v.version, v.revision_no, v.data "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS k(i int, office_id int, fy int,"
    " subject text) "
    "JOIN workflow_reports r ON r.kind = :kind AND r.office_id = k.office_id"
    " AND r.fiscal_year = k.fy AND r.subject = k.subject "
    "LEFT JOIN workflow_revisions v ON v.id = r.current_revision_id"
)


def write_quarterly(session: Session, target: Target, rows: list[QuarterlyRow]) -> list[str]:
    """Store the rows (in order); one outcome per row: inserted, updated, conflict, unchanged.

    Two records for the same quarter of a project go in separate steps, the second seeing the
    first's revision as the next page would.
    """
    if not rows:
        return []
    # The engine's office lock, taken in one order for every office of the page.
    session.execute(
        text("SELECT id FROM offices WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE"),
        {"ids": sorted({r.office_id for r in rows})},
    )
    projects = _project_ids(session, target, rows)
    outcomes: list[str] = [""] * len(rows)
    for step in _steps([r.key for r in rows]):
        done = _write_step(session, target, [rows[i] for i in step], projects)
        for i, outcome in zip(step, done, strict=True):
            outcomes[i] = outcome
    return outcomes


def _write_step(
    session: Session, target: Target, rows: list[QuarterlyRow], projects: dict[Any, int]
) -> list[str]:
    final = len(wf.levels_of(session, KIND))
    tag, now = target.tag, target.now
    state = "approved" if target.pre_approved else "submitted"
    level = final if target.pre_approved else 1
    pid = [projects[(r.office_id, r.fiscal_year, r.project)] for r in rows]
    subjects = [project_svc.subject(pid[i], r.quarter) for i, r in enumerate(rows)]
    current: dict[int, _Current] = {}
    for row in session.execute(
        _CURRENT,
        {
            "kind": KIND,
            "rows": _rows(
                {"i": i, "office_id": r.office_id, "fy": r.fiscal_year, "subject": subjects[i]}
                for i, r in enumerate(rows)
            ),
        },
    ).mappings():
        rev = dict(row) if row["id"] is not None else None
        current[row["i"]] = _Current(row["report_id"], rev)

    outcomes = [""] * len(rows)
    new_reports: list[int] = []
    replace: list[int] = []
    stack: list[int] = []
    blocked: list[int] = []
    for i, r in enumerate(rows):
        cur = current.get(i)
        rev = cur.rev if cur else None
        if cur is None or rev is None:
            (new_reports if cur is None else stack).append(i)
        elif rev["source"] == tag and rev["state"] in UNREVIEWED:
            replace.append(i)
        elif rev["state"] == "approved" and (
            rev["source"] == tag or rev["updated_at"] < r.rec.data["updated_at"]
        ):
            stack.append(i)
        else:
            # The office's work in progress, or an approved edit newer than the record.
            blocked.append(i)

    for i in _note_conflicts(session, target, rows, blocked, current):
        outcomes[i] = "conflict"
    for i in blocked:
        outcomes[i] = outcomes[i] or "unchanged"

    report_of: dict[int, int] = {i: current[i].report_id for i in current}
    if new_reports:
        made = session.execute(
            text(
                "INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject,"
                " subject_id, period, created_at) "
                "SELECT :kind, v.office_id, v.fy, v.subject, v.pid, v.q, :now"
                " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(office_id int, fy int,"
                " subject text, pid int, q int, ord int) ORDER BY v.ord "
                "RETURNING id, subject"
            ),
            {
                "kind": KIND,
                "now": now,
                "rows": _rows(
                    {
                        "office_id": rows[i].office_id,
                        "fy": rows[i].fiscal_year,
                        "subject": subjects[i],
                        "pid": pid[i],
                        "q": rows[i].quarter,
                        "ord": n,
                    }
                    for n, i in enumerate(new_reports)
                ),
            },
        )
        by_subject = {s: cast(int, rid) for rid, s in made}
        for i in new_reports:
            report_of[i] = by_subject[subjects[i]]

    approved_at = now if target.pre_approved else None
    rev_of: dict[int, tuple[int, int, int]] = {}  # i -> (revision id, version, revision_no)
    if replace:
        done = session.execute(
            text(
                "UPDATE workflow_revisions w SET data = v.data, state = :state, level = :level,"
                " updated_at = :now, approved_at = :approved_at, version = w.version + 1 "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id int, version int,"
                " data jsonb) WHERE w.id = v.id AND w.version = v.version "
                "RETURNING w.id, w.version, w.revision_no"
            ),
            {
                "state": state,
                "level": level,
                "now": now,
                "approved_at": approved_at,
                "rows": _rows(
                    {
                        "id": current[i].rev["id"],  # type: ignore[index]
                        "version": current[i].rev["version"],  # type: ignore[index]
                        "data": rows[i].data,
                    }
                    for i in replace
                ),
            },
        ).all()
        if len(done) != len(replace):
            raise StaleWrite("a quarterly report changed while the page was being stored")
        by_id = {cast(int, rid): (cast(int, ver), cast(int, no)) for rid, ver, no in done}
        for i in replace:
            rid = cast(int, current[i].rev["id"])  # type: ignore[index]
            rev_of[i] = (rid, *by_id[rid])

    fresh = new_reports + stack
    if fresh:
        values = []
        for n, i in enumerate(fresh):
            base = current[i].rev if i in current else None
            values.append(
                {
                    "report_id": report_of[i],
                    "no": (base["revision_no"] if base else 0) + 1,
                    # One version number per report whichever revision (see wf._new_revision).
                    "version": (base["version"] + 1) if base else 1,
                    "data": rows[i].data,
                    "ord": n,
                }
            )
        made = session.execute(
            text(
                "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data,"
                " source, approved_at, created_at, updated_at, version) "
                "SELECT v.report_id, v.no, :state, :level, v.data, :source, :approved_at, :now,"
                " :now, v.version FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
                " AS v(report_id int, no int, version int, data jsonb, ord int) ORDER BY v.ord "
                "RETURNING id, report_id, version, revision_no"
            ),
            {
                "state": state,
                "level": level,
                "source": tag,
                "approved_at": approved_at,
                "now": now,
                "rows": _rows(values),
            },
        )
        by_report = {
            cast(int, rep): (cast(int, rid), cast(int, ver), cast(int, no))
            for rid, rep, ver, no in made
        }
        for i in fresh:
            rev_of[i] = by_report[report_of[i]]

    written = sorted(replace + fresh)
    if not written:
        return outcomes
    session.execute(
        text(
            "UPDATE workflow_reports r SET current_revision_id = v.rev,"
            " approved_revision_id = CASE WHEN :approved THEN v.rev"
            " ELSE r.approved_revision_id END "
            "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id int, rev int)"
            " WHERE r.id = v.id"
        ),
        {
            "approved": target.pre_approved,
            "rows": _rows({"id": report_of[i], "rev": rev_of[i][0]} for i in written),
        },
    )

    trail: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    bookkeeping: list[dict[str, Any]] = []
    for i in written:
        r = rows[i]
        before = current[i].rev if i in current else None
        rid, version, number = rev_of[i]
        was = (before["state"], before["level"]) if before and i in replace else ("", 0)
        action = "create" if before is None else ("save" if i in replace else "revise")
        steps = [(action, was, ("draft", 0)), ("submit", ("draft", 0), ("submitted", 1))]
        for lv in range(1, level):
            to = ("approved", lv + 1) if lv + 1 == final else ("submitted", lv + 1)
            steps.append(("approve", ("submitted", lv), to))
        for act, (fs, fl), (ts, tl) in steps:
            trail.append(
                {
                    "report_id": report_of[i],
                    "revision_id": rid,
                    "action": act,
                    "fs": fs,
                    "fl": fl,
                    "ts": ts,
                    "tl": tl,
                    "ord": len(trail),
                }
            )
        after = {
            "revision_no": number,
            "state": state,
            "level": level,
            "version": version,
            "source": tag,
            "data": r.data,
        }
        outcome = "inserted" if i in new_reports else "updated"
        outcomes[i] = outcome
        audit.append(
            {
                "action": f"ingest.{outcome}",
                "id": str(report_of[i]),
                "office_id": r.office_id,
                "before": _audit_view(before),
                "after": after,
                "ord": len(audit),
            }
        )
        bookkeeping.append(
            {
                "id": r.rec.record_id,
                "updated_at": r.rec.data["updated_at"],
                "sha": r.rec.payload_sha256,
                "target_id": rid,
            }
        )
    session.execute(
        text(
            "INSERT INTO workflow_events (report_id, revision_id, at, user_id, action,"
            " from_state, from_level, to_state, to_level, comment) "
            "SELECT v.report_id, v.revision_id, :now, NULL, v.action, v.fs, v.fl, v.ts, v.tl,"
            " '' FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(report_id int,"
            " revision_id int, action text, fs text, fl int, ts text, tl int, ord int)"
            " ORDER BY v.ord"
        ),
        {"now": now, "rows": _rows(trail)},
    )
    session.execute(
        text(
            "INSERT INTO audit_log (at, user_id, ip, action, entity, entity_id, office_id,"
            " before, after) SELECT :now, NULL, :ip, v.action, :entity, v.id, v.office_id,"
            " v.before, v.after FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
            " AS v(action text, id text, office_id int, before jsonb, after jsonb, ord int)"
            " ORDER BY v.ord"
        ),
        {
            "now": now,
            "ip": target.actor_ip,
            "entity": wf.spec_of(KIND).entity,
            "rows": _rows(audit),
        },
    )
    _remember(session, target, "workflow_revision", bookkeeping)
    _announce(session, target, [(rows[i], report_of[i]) for i in written])
    return outcomes


def _audit_view(rev: dict[str, Any] | None) -> dict[str, Any] | None:
    if rev is None:
        return None
    return {k: rev[k] for k in ("revision_no", "state", "level", "version", "source", "data")}


def _note_conflicts(
    session: Session,
    target: Target,
    rows: list[QuarterlyRow],
    blocked: list[int],
    current: dict[int, _Current],
) -> list[int]:
    """Record a conflict for each blocked row not already on record for this source version;
    returns the rows that got one (a replay of a known conflict stays unchanged)."""
    if not blocked:
        return []
    known = {
        (str(a), str(b))
        for a, b in session.execute(
            text(
                "SELECT c.source_record_id, c.source_payload->>'sha256' FROM ingest_conflicts c"
                " JOIN jsonb_to_recordset(CAST(:rows AS jsonb)) AS k(id text, sha text)"
                " ON c.source_record_id = k.id AND c.source_payload->>'sha256' = k.sha"
                " WHERE c.source_id = :source"
            ),
            {
                "source": target.source_id,
                "rows": _rows(
                    {"id": rows[i].rec.record_id, "sha": rows[i].rec.payload_sha256}
                    for i in blocked
                ),
            },
        )
    }
    fresh = []
    for i in blocked:
        pair = (rows[i].rec.record_id, rows[i].rec.payload_sha256)
        if pair not in known:
            known.add(pair)
            fresh.append(i)
    if fresh:
        session.execute(
            text(
                "INSERT INTO ingest_conflicts (source_id, source_record_id, report_id, run_id,"
                " source_payload) SELECT :source, v.id, v.report_id, :run, v.payload "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id text, report_id int,"
                " payload jsonb, ord int) ORDER BY v.ord"
            ),
            {
                "source": target.source_id,
                "run": target.run_id,
                "rows": _rows(
                    {
                        "id": rows[i].rec.record_id,
                        "report_id": current[i].report_id,
                        "payload": {
                            "sha256": rows[i].rec.payload_sha256,
                            "record": json.loads(json.dumps(rows[i].rec.data, default=str)),
                        },
                        "ord": n,
                    }
                    for n, i in enumerate(fresh)
                ),
            },
        )
    return fresh


def _announce(session: Session, target: Target, written: list[tuple[QuarterlyRow, int]]) -> None:
    """One private change record per office (its reports), and a public one per office and
    year when a pre-approved source changed what the public sees."""
    by_office: dict[int, list[int]] = {}
    years: dict[int, set[int]] = {}
    for row, report_id in written:
        by_office.setdefault(row.office_id, []).append(report_id)
        years.setdefault(row.office_id, set()).add(row.fiscal_year)
    codes = dict(
        session.execute(select(Office.id, Office.code).where(Office.id.in_(by_office))).all()
    )
    entity = wf.spec_of(KIND).entity
    for office_id, reports in by_office.items():
        emit_change(
            session,
            "report.changed",
            codes.get(office_id),
            {
                "kind": KIND,
                "action": "ingest",
                "source": target.source_name,
                "reports": reports[:500],
            },
            audience="office",
            office_id=office_id,
        )
        if target.pre_approved:
            for fy in sorted(years[office_id]):
                emit_change(
                    session,
                    "office.updated",
                    codes.get(office_id),
                    {"fields": [entity], "fiscal_year": fy},
                )


# --- a conflict, decided by a reviewer -----------------------------------------------------------


def resolve_report_conflict(
    session: Session,
    actor: Actor,
    conflict: IngestConflict,
    decision: str,
    expected_version: int | None,
) -> IngestConflict:
    """Keep the office's report, or take the source's version through the engine (a new
    working revision, sent; approved when the source is pre-approved). The caller locked the
    conflict row and checked it is open and the decision is known."""
    report = session.get(WorkflowReport, conflict.report_id) if conflict.report_id else None
    if report is None or report.current is None:
        raise ServiceError(409, N_("The report this conflict was about no longer exists."))
    check_version(report.current, expected_version)
    conflict.resolved_at = actor.now
    record(
        session,
        actor,
        f"ingest.conflict.{decision}",
        "ingest_conflict",
        conflict.id,
        office_id=report.office_id,
    )
    if decision == "keep":
        return conflict
    source = session.get_one(IngestSource, conflict.source_id)
    office = session.get_one(Office, report.office_id)
    data = conflict.source_payload["record"]
    project = session.get(Project, report.subject_id) if report.subject_id else None
    if project is None:
        raise ServiceError(409, N_("The report this conflict was about no longer exists."))
    budget = data.get("budget") or {}
    points = data.get("points") or {}
    saved = project_svc.ingest_quarterly(
        session,
        source,
        office,
        project.fiscal_year,
        int(report.period or 0),
        project.name,
        points,
        budget.get("planned"),
        budget.get("disbursed"),
        now=actor.now,
    )
    assert saved.current is not None  # noqa: S101 (ingest_quarterly made one)
    # The next run sees this version as the source's own: unchanged, not a new conflict.
    session.execute(
        update(IngestRecord)
        .where(
            IngestRecord.source_id == source.id,
            IngestRecord.source_record_id == conflict.source_record_id,
        )
        .values(
            target="workflow_revision",
            target_id=saved.current.id,
            payload_sha256=conflict.source_payload["sha256"],
            source_updated_at=dt.datetime.fromisoformat(data["updated_at"]),
        )
    )
    return conflict
