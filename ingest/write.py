"""The one write path of ingested progress reports: a page of records in a few set-based statements.

Every ingested progress record is stored here, whether a whole page at once (the usual path) or
one record inside its own savepoint (the careful path after the database refused a page): the
entry, its revision (replacing the source's own unreviewed one, or stacked on top of anything
else), its evidence links, the entry's pointers, the audit rows, the conflict records and the
bookkeeping rows. Rows travel as one JSON parameter per statement (`jsonb_to_recordset`), so a
page of 500 costs about ten round trips instead of thousands of ORM statements.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.orm import Session

from pinmap.models import ProgressRevision
from pinmap.services import progress as progress_svc

from .parsers import Parsed

CONTENT = (
    "status",
    "what",
    "where",
    "how",
    "result",
    "indicator_value",
    "indicator_target",
    "indicator_unit",
    "indicator_achieved",
    "no_activity_reason",
    "no_activity_when",
)
# jsonb_to_recordset column types of the content columns.
CONTENT_TYPES = (
    'status text, what text, "where" text, how text, result text, indicator_value float8, '
    "indicator_target float8, indicator_unit text, indicator_achieved boolean, "
    "no_activity_reason text, no_activity_when text"
)
CONTENT_COLS = ", ".join(f'"{c}"' if c == "where" else c for c in CONTENT)
CONTENT_SET = ", ".join(f'"{c}" = v."{c}"' if c == "where" else f"{c} = v.{c}" for c in CONTENT)
CONTENT_V = ", ".join(f'v."{c}"' if c == "where" else f"v.{c}" for c in CONTENT)


# A report's points the source's contract does not carry (read for the audit log's "before").
FURTHER = ("problems", "served_goal", "likely_success")

# The states in which the source's own revision is replaced rather than stacked on.
UNREVIEWED = ("draft", "submitted", "returned")
EVIDENCE_KEYS = ("id", "kind", "title", "url", "mime", "original_name", "size_bytes")


class StaleWrite(RuntimeError):
    """A revision changed between reading and writing it (a person saved it meanwhile)."""


@dataclass
class Target:
    """Where records go and as whom: the source and the run."""

    source_id: int
    source_name: str
    pre_approved: bool
    run_id: int
    now: dt.datetime
    actor_ip: str

    @property
    def tag(self) -> str:
        return f"ingest:{self.source_name}"


@dataclass
class Candidate:
    """A record that passed every check and names a known office, item and round."""

    rec: Parsed
    office_id: int
    fiscal_year: int
    item_id: int
    round_no: int
    values: dict[str, Any]
    evidence: list[dict[str, str]]

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.office_id, self.item_id, self.round_no)


@dataclass
class Written:
    """What became of a candidate: inserted, updated, conflict or unchanged (a known conflict)."""

    outcome: str
    entry_id: int | None = None
    approved: bool = False


@dataclass
class _Current:
    entry_id: int
    rev: dict[str, Any] | None
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _rows(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _revision_dict(rev: dict[str, Any], evidence: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The audit log's shape of a revision, from plain values (see progress.revision_dict)."""
    view = SimpleNamespace(**rev, evidence=[SimpleNamespace(**e) for e in evidence])
    out = progress_svc.revision_dict(cast(ProgressRevision, view))
    return out or {}


def write_progress(session: Session, target: Target, candidates: list[Candidate]) -> list[Written]:
    """Store the candidates (in order); returns one result per candidate.

    Two records for the same report in one call are applied one after the other, as separate
    steps, so the second sees the first's revision exactly as the next page would.
    """
    results: list[Written | None] = [None] * len(candidates)
    for step in _steps([c.key for c in candidates]):
        stored = _write_step(session, target, [candidates[i] for i in step])
        for i, written in zip(step, stored, strict=True):
            results[i] = written
    return [r for r in results if r is not None]


# Column names come from the constants above, never from input.
_CURRENT = text(
    "SELECT k.i, e.id AS entry_id, r.id, r.source, r.state, r.updated_at, r.revision_no, "  # noqa: S608
    f"r.version, r.review_comment, {', '.join('r.' + c for c in CONTENT_COLS.split(', '))}, "
    "r.problems, r.served_goal, r.likely_success, "
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.id, 'kind', x.kind, 'title', x.title,"
    " 'url', x.url, 'mime', x.mime, 'original_name', x.original_name, 'size_bytes',"
    " x.size_bytes) ORDER BY x.id), '[]'::jsonb) FROM evidence x WHERE x.revision_id = r.id)"
    " AS evidence "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS k(i int, office_id int, item_id int,"
    " round_no int) "
    "JOIN progress_entries e ON e.office_id = k.office_id AND e.item_id = k.item_id"
    " AND e.round_no = k.round_no "
    "LEFT JOIN progress_revisions r ON r.id = e.current_revision_id"
)


# New content for the source's own unreviewed revision, unless someone saved it meanwhile.
_REPLACE = text(
    f"UPDATE progress_revisions r SET {CONTENT_SET}, state = :state,"  # noqa: S608
    " updated_at = :now, review_comment = '', reviewed_at = :reviewed_at,"
    " reviewed_by_id = NULL, submitted_by_id = NULL, submitted_at = :now,"
    " version = r.version + 1 "
    f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id int, version int, {CONTENT_TYPES}) "
    "WHERE r.id = v.id AND r.version = v.version RETURNING r.id, r.version"
)
# A new revision on top of the current one (or the first of a new entry).
_STACK = text(
    "INSERT INTO progress_revisions (entry_id, revision_no, version, state, source,"  # noqa: S608
    f" submitted_at, reviewed_at, review_comment, problems, served_goal, {CONTENT_COLS}) "
    "SELECT v.entry_id, v.revision_no, v.version, :state, :source, :now,"
    # The source's contract has no problems / served-goal points: a source revision has none.
    f" :reviewed_at, '', '', '', {CONTENT_V} "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(entry_id int,"
    f" revision_no int, version int, ord int, {CONTENT_TYPES}) ORDER BY v.ord "
    "RETURNING id, entry_id, version, revision_no"
)


def _load_current(session: Session, candidates: list[Candidate]) -> dict[int, _Current]:
    keys = (
        {"i": i, "office_id": c.office_id, "item_id": c.item_id, "round_no": c.round_no}
        for i, c in enumerate(candidates)
    )
    found: dict[int, _Current] = {}
    for row in session.execute(_CURRENT, {"rows": _rows(keys)}).mappings():
        rev = None
        if row["id"] is not None:
            rev = {k: row[k] for k in ("id", "source", "state", "updated_at", "revision_no")}
            rev.update({k: row[k] for k in ("version", "review_comment", *CONTENT, *FURTHER)})
        found[row["i"]] = _Current(row["entry_id"], rev, list(row["evidence"] or []))
    return found


def _known_conflicts(session: Session, target: Target, recs: list[Parsed]) -> set[tuple[str, str]]:
    if not recs:
        return set()
    query = text(
        "SELECT DISTINCT c.source_record_id, c.source_payload->>'sha256' FROM ingest_conflicts c "
        "JOIN jsonb_to_recordset(CAST(:rows AS jsonb)) AS k(id text, sha text)"
        " ON c.source_record_id = k.id AND c.source_payload->>'sha256' = k.sha "
        "WHERE c.source_id = :source"
    )
    rows = _rows({"id": r.record_id, "sha": r.payload_sha256} for r in recs)
    found = session.execute(query, {"rows": rows, "source": target.source_id})
    return {(str(a), str(b)) for a, b in found}


def _write_step(session: Session, target: Target, cands: list[Candidate]) -> list[Written]:
    """One step: each report at most once."""
    current = _load_current(session, cands)
    tag, now = target.tag, target.now
    state = "approved" if target.pre_approved else "submitted"
    results: list[Written] = [Written("")] * len(cands)

    # Decide: a conflict, a new entry, the source's own version replaced, or a revision on top.
    blocked: list[int] = []
    new_entries: list[int] = []
    replace: list[int] = []
    replaced: dict[int, dict[str, Any]] = {}
    stack: list[int] = []
    for i, c in enumerate(cands):
        cur = current.get(i)
        rev = cur.rev if cur else None
        if cur is None:
            new_entries.append(i)
        elif (
            rev is not None
            and rev["source"] != tag
            and rev["updated_at"] >= c.rec.data["updated_at"]
        ):
            # A person edited this report after the source's version: never overwrite it.
            blocked.append(i)
        elif rev is not None and rev["source"] == tag and rev["state"] in UNREVIEWED:
            replace.append(i)  # the source's own unreviewed version: replace its content
            replaced[i] = rev
        else:
            stack.append(i)

    # Conflicts: noted once per source version; a replay still blocked by the conflict already
    # on record is unchanged, not a second conflict (a reviewer who kept the manual report is not
    # asked again until the source sends something new).
    known = _known_conflicts(session, target, [cands[i].rec for i in blocked])
    fresh = []
    for i in blocked:
        rec = cands[i].rec
        if (rec.record_id, rec.payload_sha256) in known:
            results[i] = Written("unchanged")
        else:
            known.add((rec.record_id, rec.payload_sha256))
            results[i] = Written("conflict")
            fresh.append(i)
    if fresh:
        session.execute(
            text(
                "INSERT INTO ingest_conflicts (source_id, source_record_id, entry_id, run_id,"
                " source_payload) SELECT :source, v.id, v.entry_id, :run, v.payload "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id text, entry_id int,"
                " payload jsonb, ord int) ORDER BY v.ord"
            ),
            {
                "source": target.source_id,
                "run": target.run_id,
                "rows": _rows(
                    {
                        "id": cands[i].rec.record_id,
                        "entry_id": current[i].entry_id,
                        "payload": {
                            "sha256": cands[i].rec.payload_sha256,
                            # Dates as str() wrote them: resolve_conflict reads them back.
                            "record": json.loads(json.dumps(cands[i].rec.data, default=str)),
                        },
                        "ord": n,
                    }
                    for n, i in enumerate(fresh)
                ),
            },
        )

    entry_of: dict[int, int] = {i: current[i].entry_id for i in current}
    if new_entries:
        made = session.execute(
            text(
                "INSERT INTO progress_entries (office_id, fiscal_year, item_id, round_no) "
                "SELECT v.office_id, v.fiscal_year, v.item_id, v.round_no "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(office_id int,"
                " fiscal_year int, item_id int, round_no int, ord int) ORDER BY v.ord "
                "RETURNING id, office_id, item_id, round_no"
            ),
            {
                "rows": _rows(
                    {
                        "office_id": cands[i].office_id,
                        "fiscal_year": cands[i].fiscal_year,
                        "item_id": cands[i].item_id,
                        "round_no": cands[i].round_no,
                        "ord": n,
                    }
                    for n, i in enumerate(new_entries)
                )
            },
        )
        by_key = {(o, it, r): cast(int, eid) for eid, o, it, r in made}
        for i in new_entries:
            entry_of[i] = by_key[cands[i].key]
    reviewed_at = now if state == "approved" else None

    # The source's own unreviewed revision: new content, not yet reviewed (a returned
    # version's comment and reviewer no longer apply). The version check refuses a revision
    # someone saved since it was read.
    rev_of: dict[int, int] = {}
    version_of: dict[int, int] = {}
    revision_no_of: dict[int, int] = {}
    if replace:
        done = session.execute(
            _REPLACE,
            {
                "state": state,
                "now": now,
                "reviewed_at": reviewed_at,
                "rows": _rows(
                    {
                        "id": replaced[i]["id"],
                        "version": replaced[i]["version"],
                        **cands[i].values,
                    }
                    for i in replace
                ),
            },
        ).all()
        if len(done) != len(replace):
            raise StaleWrite("a report changed while the page was being stored")
        new_version = {cast(int, rid): cast(int, ver) for rid, ver in done}
        for i in replace:
            rid: int = replaced[i]["id"]
            rev_of[i], version_of[i] = rid, new_version[rid]
            revision_no_of[i] = replaced[i]["revision_no"]
        # The replaced content's evidence goes with it (as the ORM's delete-orphan did).
        session.execute(
            text("DELETE FROM evidence WHERE revision_id = ANY(:ids)"),
            {"ids": [rev_of[i] for i in replace]},
        )

    fresh_revs = new_entries + stack
    if fresh_revs:
        rows = []
        for n, i in enumerate(fresh_revs):
            base = current[i].rev if i in current else None
            rows.append(
                {
                    "entry_id": entry_of[i],
                    "revision_no": (base["revision_no"] if base else 0) + 1,
                    # Clients hold one version number per report (see review.continue_version).
                    "version": (base["version"] + 1) if base else 1,
                    "ord": n,
                    **cands[i].values,
                }
            )
        made = session.execute(
            _STACK,
            {
                "state": state,
                "source": tag,
                "now": now,
                "reviewed_at": reviewed_at,
                "rows": _rows(rows),
            },
        )
        by_entry = {
            cast(int, eid): (cast(int, rid), cast(int, ver), cast(int, no))
            for rid, eid, ver, no in made
        }
        for i in fresh_revs:
            rev_of[i], version_of[i], revision_no_of[i] = by_entry[entry_of[i]]

    written = replace + fresh_revs
    if not written:
        return results
    written.sort()

    # Evidence links, in the record's order (ids ascending, as the revision lists them).
    evidence_rows = [
        {"revision_id": rev_of[i], "ord": n * 100 + k, **e}
        for n, i in enumerate(written)
        for k, e in enumerate(cands[i].evidence)
    ]
    evidence_of: dict[int, list[dict[str, Any]]] = {rev_of[i]: [] for i in written}
    if evidence_rows:
        for row in session.execute(
            text(
                "INSERT INTO evidence (revision_id, kind, title, url) "
                "SELECT v.revision_id, 'link', v.title, v.url FROM jsonb_to_recordset("
                "CAST(:rows AS jsonb)) AS v(revision_id int, title text, url text, ord int)"
                " ORDER BY v.ord "
                "RETURNING id, revision_id, kind, title, url, mime, original_name, size_bytes"
            ),
            {"rows": _rows(evidence_rows)},
        ).mappings():
            evidence_of[row["revision_id"]].append(dict(row))
        for items in evidence_of.values():
            items.sort(key=lambda e: e["id"])

    # The entry points at its new revision (and, when pre-approved, the public one at it too).
    pointers = [
        {"id": entry_of[i], "rev": rev_of[i]} for i in written if i in fresh_revs or reviewed_at
    ]
    if pointers:
        session.execute(
            text(
                "UPDATE progress_entries e SET current_revision_id = v.rev,"
                " approved_revision_id = CASE WHEN :approved THEN v.rev"
                " ELSE e.approved_revision_id END "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id int, rev int)"
                " WHERE e.id = v.id"
            ),
            {"approved": state == "approved", "rows": _rows(pointers)},
        )

    # The audit log: before → after for every stored record.
    audit: list[dict[str, Any]] = []
    bookkeeping: list[dict[str, Any]] = []
    for i in written:
        c = cands[i]
        cur = current.get(i)
        before = _revision_dict(cur.rev, cur.evidence) if cur and cur.rev else None
        after = _revision_dict(
            {
                "revision_no": revision_no_of[i],
                "state": state,
                **c.values,
                "review_comment": "",
                "version": version_of[i],
                "source": tag,
            },
            [{k: e[k] for k in EVIDENCE_KEYS} for e in evidence_of[rev_of[i]]],
        )
        outcome = "inserted" if i in new_entries else "updated"
        results[i] = Written(outcome, entry_of[i], state == "approved")
        audit.append(
            {
                "ord": len(audit),
                "action": f"ingest.{outcome}",
                "entity_id": str(rev_of[i]),
                "office_id": c.office_id,
                "before": before,
                "after": after,
            }
        )
        bookkeeping.append(
            {
                "id": c.rec.record_id,
                "updated_at": c.rec.data["updated_at"],
                "sha": c.rec.payload_sha256,
                "target_id": rev_of[i],
            }
        )
    session.execute(
        text(
            "INSERT INTO audit_log (at, user_id, ip, action, entity, entity_id, office_id,"
            " before, after) SELECT :now, NULL, :ip, v.action, 'progress_revision', v.entity_id,"
            " v.office_id, v.before, v.after FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
            " AS v(action text, entity_id text, office_id int, before jsonb, after jsonb,"
            " ord int) ORDER BY v.ord"
        ),
        {"now": now, "ip": target.actor_ip, "rows": _rows(audit)},
    )
    _remember(session, target, "progress_revision", bookkeeping)
    return results


# --- office statistics ---------------------------------------------------------------------------

_STATS = text(
    "INSERT INTO office_stats (office_id, source, as_of, ingest_source_id, schools, teachers,"
    " students, staff) "
    "SELECT v.office_id, :name, v.as_of, :source, v.schools, v.teachers, v.students, v.staff "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(office_id int, as_of date, schools int,"
    " teachers int, students int, staff int, ord int) ORDER BY v.ord "
    "ON CONFLICT (office_id, source, as_of) DO UPDATE SET schools = excluded.schools,"
    " teachers = excluded.teachers, students = excluded.students, staff = excluded.staff "
    # xmax is 0 on a row this statement inserted, not on one it updated.
    "RETURNING id, office_id, as_of, (xmax = 0) AS inserted"
)


@dataclass
class StatsRow:
    """A statistics record for a known office."""

    rec: Parsed
    office_id: int

    @property
    def key(self) -> tuple[int, dt.date]:
        return (self.office_id, self.rec.data["as_of"])


def write_stats(session: Session, target: Target, rows: list[StatsRow]) -> list[str]:
    """Insert or update each office's counts as of a date; returns inserted/updated per row."""
    outcomes: list[str] = [""] * len(rows)
    # The same office and date twice: the later one updates the earlier one.
    for step in _steps([r.key for r in rows]):
        values = [
            {
                "office_id": rows[i].office_id,
                "as_of": rows[i].rec.data["as_of"],
                "ord": n,
                **{
                    k: rows[i].rec.data.get(k) for k in ("schools", "teachers", "students", "staff")
                },
            }
            for n, i in enumerate(step)
        ]
        stored = {
            (office_id, as_of): (row_id, inserted)
            for row_id, office_id, as_of, inserted in session.execute(
                _STATS,
                {"name": target.source_name, "source": target.source_id, "rows": _rows(values)},
            )
        }
        bookkeeping = []
        for i in step:
            row_id, inserted = stored[rows[i].key]
            outcomes[i] = "inserted" if inserted else "updated"
            rec = rows[i].rec
            bookkeeping.append(
                {"id": rec.record_id, "sha": rec.payload_sha256, "target_id": row_id}
            )
        _remember(session, target, "office_stats", bookkeeping)
    return outcomes


_REMEMBER = text(
    "INSERT INTO ingest_records (source_id, source_record_id, source_updated_at,"
    " payload_sha256, target, target_id, last_run_id) "
    "SELECT :source, v.id, v.updated_at, v.sha, :target, v.target_id, :run "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id text, updated_at timestamptz,"
    " sha text, target_id int) "
    "ON CONFLICT (source_id, source_record_id) DO UPDATE SET"
    " source_updated_at = excluded.source_updated_at,"
    " payload_sha256 = excluded.payload_sha256, target_id = excluded.target_id,"
    " last_run_id = excluded.last_run_id"
)


def _remember(
    session: Session, target: Target, kind: str, bookkeeping: list[dict[str, Any]]
) -> None:
    """The bookkeeping row of each record: the version taken, for the next run's comparison."""
    session.execute(
        _REMEMBER,
        {
            "source": target.source_id,
            "run": target.run_id,
            "target": kind,
            "rows": _rows(bookkeeping),
        },
    )


def _steps(keys: Sequence[object]) -> list[list[int]]:
    """Indexes split into steps in which each key appears once (in order): a second record for
    the same row is applied after the first, as a later page would apply it."""
    steps: list[list[int]] = []
    todo = list(range(len(keys)))
    while todo:
        seen: set[object] = set()
        step: list[int] = []
        later: list[int] = []
        for i in todo:
            (later if keys[i] in seen else step).append(i)
            seen.add(keys[i])
        steps.append(step)
        todo = later
    return steps
