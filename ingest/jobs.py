"""Ingestion jobs: fetch → parse → upsert for one source, one transaction per page.

A run's counters are written in the same transaction as the page they count, so a run killed
at any point leaves data and log consistent; the next run marks it interrupted and carries on.
Only one run per source at a time, cluster-wide (a PostgreSQL advisory lock held for the run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from pinmap.models import (
    IngestConflict,
    IngestRecord,
    IngestRun,
    IngestSource,
    Office,
    PolicyItem,
    Quarantine,
    ReportingWindow,
    WorkflowEvent,
    WorkflowRevision,
)
from pinmap.services import progress as progress_svc
from pinmap.services.audit import Actor, emit_change, record
from pinmap.services.errors import N_, ServiceError
from pinmap.services.review import check_version
from pinmap.services.sanitize import clean_html, clean_text

from .clients import DEFAULT_RETRY_DELAY, Deadline, FetchError, credential, fetch, redact
from .parsers import PageError, Parsed, Refused, Unchanged, parse_page, parse_stats_csv
from .write import Candidate, StatsRow, Target, write_progress, write_stats
from .write_quarterly import QuarterlyRow, quarterly_row, resolve_report_conflict, write_quarterly

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 10_000
# Clocks drift a little; a version dated further ahead would win every later comparison.
FUTURE_SLACK = dt.timedelta(minutes=5)
# missing_for_submission names revision columns; quarantine names the contract's fields.
CONTRACT_FIELD = {
    "what": "narrative.what",
    "where": "narrative.where",
    "how": "narrative.how",
    "result": "narrative.result",
    "indicator_value": "indicator.value",
    "indicator_target": "indicator.target",
    "no_activity_reason": "no_activity.reason",
    "no_activity_when": "no_activity.when",
}

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def lock_key(source_name: str) -> int:
    # A stable 31-bit key per source, in its own key space (classid 0x696e67 = "ing").
    return zlib.crc32(f"ingest:{source_name}".encode()) & 0x7FFFFFFF


@dataclass
class RunResult:
    source: str
    run_id: int | None
    outcome: str
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""


class _Counts:
    KEYS = ("fetched", "inserted", "updated", "unchanged", "quarantined", "conflicts")

    def __init__(self) -> None:
        self.values = dict.fromkeys(self.KEYS, 0)

    def add(self, key: str, n: int = 1) -> None:
        self.values[key] += n


# --- applying records --------------------------------------------------------------------------


class _Context:
    """Per-run caches of the lookups every record needs."""

    def __init__(self, session: Session, source: IngestSource, run_id: int, now: dt.datetime):
        self.source = source
        self.run_id = run_id
        self.now = now
        self.actor = Actor(None, f"ingest:{source.name}", now=now)
        self.tag = f"ingest:{source.name}"
        self.offices = dict(session.execute(select(Office.code, Office.id)).all())
        self.items = {
            (fy, kind, no): item_id
            for item_id, fy, kind, no in session.execute(
                select(PolicyItem.id, PolicyItem.fiscal_year, PolicyItem.kind, PolicyItem.no)
            )
        }
        self.rounds = set(
            session.execute(select(ReportingWindow.fiscal_year, ReportingWindow.round_no)).all()
        )
        self.known: dict[str, IngestRecord] = {}
        self.target = Target(source.id, source.name, source.pre_approved, run_id, now, self.tag)
        self.changed_offices: dict[int, list[int]] = {}
        self.public_offices: dict[int, list[int]] = {}


def _quarantine(
    session: Session, ctx: _Context, rec: Refused | Parsed, field_: str, reason: str
) -> None:
    raw = rec.raw if isinstance(rec, Refused) else str(rec.data)[:4000]

    def scrub(value: str) -> str:
        # PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate (JSON's "\ud800"): the
        # quarantine row itself must always be storable, so both are written out as escapes.
        value = value.replace("\x00", "\\x00")
        return value.encode("utf-8", "backslashreplace").decode("utf-8")

    session.add(
        Quarantine(
            run_id=ctx.run_id,
            source_id=ctx.source.id,
            field=scrub(field_)[:100],
            source_record_id=scrub(rec.record_id)[:200],
            reason=scrub(reason),
            raw=scrub(raw),
        )
    )


def _revision_values(data: dict[str, Any]) -> dict[str, Any]:
    narrative = data["narrative"]
    indicator = data.get("indicator") or {}
    no_activity = data.get("no_activity") or {}
    values: dict[str, Any] = {
        "status": data["status"],
        **{k: clean_html(narrative.get(k, "")) for k in ("what", "where", "how", "result")},
        "indicator_value": indicator.get("value"),
        "indicator_target": indicator.get("target"),
        "indicator_unit": indicator.get("unit"),
        "no_activity_reason": clean_text(no_activity.get("reason", ""), max_length=2000),
        "no_activity_when": clean_text(no_activity.get("when", ""), max_length=2000),
        # The contract carries none of the framework's further points (ingest/CONTRACTS.md).
        "problems": "",
        "served_goal": "",
        "likely_success": None,
    }
    if values["indicator_value"] is not None and values["indicator_target"] is not None:
        values["indicator_achieved"] = values["indicator_value"] >= values["indicator_target"]
    else:
        values["indicator_achieved"] = None
    return values


def progress_problem(values: dict[str, Any]) -> tuple[str, str] | None:
    """The first rule a manual submission would fail, as (contract field, reason), or None."""
    # The rule only reads attributes: a namespace costs far less than an ORM object per record.
    missing = progress_svc.missing_for_submission(SimpleNamespace(**values))
    if missing:
        name = missing[0]
        return CONTRACT_FIELD.get(name, name), "required, as when a report is submitted by hand"
    if values["indicator_unit"] == "percent":
        for name in ("indicator_value", "indicator_target"):
            if values[name] is not None and values[name] > 100:
                return CONTRACT_FIELD[name], "a percentage: 0 to 100"
    return None


def _evidence(data: dict[str, Any]) -> list[Any]:
    from pinmap.models import Evidence

    return [
        Evidence(kind="link", url=e["url"], title=clean_text(e.get("title", ""), max_length=300))
        for e in data.get("evidence") or []
    ]


def _check_refs(session: Session, ctx: _Context, rec: Parsed) -> tuple[int, int] | None:
    data = rec.data
    office_id = ctx.offices.get(data["office_code"])
    if office_id is None:
        _quarantine(session, ctx, rec, "office_code", f"unknown office {data['office_code']!r}")
        return None
    # An item's number is text in the framework ("4", "4.1"); feeds may send 4 or "4".
    item_key = (data["fiscal_year"], data["item"]["kind"], str(data["item"]["no"]))
    item_id = ctx.items.get(item_key)
    if item_id is None:
        reason = "no item {1} {2} in fiscal year {0}".format(*item_key)
        _quarantine(session, ctx, rec, "item", reason)
        return None
    if (data["fiscal_year"], data["round"]) not in ctx.rounds:
        reason = f"fiscal year {data['fiscal_year']} has no reporting round {data['round']}"
        _quarantine(session, ctx, rec, "round", reason)
        return None
    return office_id, item_id


def _candidate(session: Session, ctx: _Context, rec: Parsed) -> Candidate | None:
    """The record ready for the write path, or None once it is quarantined."""
    refs = _check_refs(session, ctx, rec)
    if refs is None:
        return None
    office_id, item_id = refs
    data = rec.data
    values = _revision_values(data)
    problem = progress_problem(values)
    if problem is not None:
        _quarantine(session, ctx, rec, *problem)
        return None
    links = [
        {"url": e["url"], "title": clean_text(e.get("title", ""), max_length=300)}
        for e in data.get("evidence") or []
    ]
    return Candidate(rec, office_id, data["fiscal_year"], item_id, data["round"], values, links)


def _store_progress(session: Session, ctx: _Context, candidates: list[Candidate]) -> list[str]:
    """Hand the candidates to the write path; note which offices' reports changed."""
    outcomes = []
    for cand, done in zip(candidates, write_progress(session, ctx.target, candidates), strict=True):
        if done.outcome in ("inserted", "updated") and done.entry_id is not None:
            ctx.changed_offices.setdefault(cand.office_id, []).append(done.entry_id)
            if done.approved:
                ctx.public_offices.setdefault(cand.office_id, []).append(done.entry_id)
        outcomes.append(done.outcome)
    return outcomes


def _apply_progress(
    session: Session, ctx: _Context, rec: Parsed, known: IngestRecord | None
) -> str:
    """One record on its own (the careful path, inside the caller's savepoint)."""
    cand = _candidate(session, ctx, rec)
    if cand is None:
        return "quarantined"
    session.flush()  # the write path's statements bypass the session: flush what it holds
    (outcome,) = _store_progress(session, ctx, [cand])
    return outcome


def _apply_quarterly(
    session: Session, ctx: _Context, rec: Parsed, known: IngestRecord | None
) -> str:
    """One record on its own (the careful path, inside the caller's savepoint)."""
    row = _quarterly_row(session, ctx, rec)
    if row is None:
        return "quarantined"
    session.flush()  # the write path's statements bypass the session: flush what it holds
    (outcome,) = write_quarterly(session, ctx.target, [row])
    return outcome


def _quarterly_row(session: Session, ctx: _Context, rec: Parsed) -> QuarterlyRow | None:
    data = rec.data
    office_id = ctx.offices.get(data["office_code"])
    if office_id is None:
        _quarantine(session, ctx, rec, "office_code", f"unknown office {data['office_code']!r}")
        return None
    try:
        return quarterly_row(rec, office_id)
    except ServiceError as err:  # the engine's own check refused the content
        _quarantine(session, ctx, rec, "points", str(err))
        return None


def _apply_stats(session: Session, ctx: _Context, rec: Parsed, known: IngestRecord | None) -> str:
    """One record on its own (the careful path, inside the caller's savepoint)."""
    row = _stats_row(session, ctx, rec)
    if row is None:
        return "quarantined"
    session.flush()  # the write path's statements bypass the session: flush what it holds
    (outcome,) = write_stats(session, ctx.target, [row])
    return outcome


def _stats_row(session: Session, ctx: _Context, rec: Parsed) -> StatsRow | None:
    office_id = ctx.offices.get(rec.data["office_code"])
    if office_id is None:
        reason = f"unknown office {rec.data['office_code']!r}"
        _quarantine(session, ctx, rec, "office_code", reason)
        return None
    return StatsRow(rec, office_id)


PLAN: dict[
    str, Callable[[Session, _Context, Parsed], Candidate | StatsRow | QuarterlyRow | None]
] = {
    "progress-json": _candidate,
    "quarterly-json": _quarterly_row,
    "stats-csv": _stats_row,
}
APPLY: dict[str, Callable[[Session, _Context, Parsed, IngestRecord | None], str]] = {
    "progress-json": _apply_progress,
    "quarterly-json": _apply_quarterly,
    "stats-csv": _apply_stats,
}


def _prefetch(
    session: Session, ctx: _Context, results: Sequence[Parsed | Refused | Unchanged]
) -> None:
    """Load, in one query, the bookkeeping rows of the records this page touches."""
    ids = [r.record_id for r in results if isinstance(r, Parsed)]
    if ids:
        ctx.known.update(
            (r.source_record_id, r)
            for r in session.scalars(
                select(IngestRecord).where(
                    IngestRecord.source_id == ctx.source.id,
                    IngestRecord.source_record_id.in_(ids),
                )
            )
        )


def _is_stale(rec: Parsed, prior: IngestRecord | None) -> bool:
    """A replay, a duplicate, or an older version than the one already taken."""
    if prior is None:
        return False
    updated_at = rec.data.get("updated_at")
    return prior.payload_sha256 == rec.payload_sha256 or (
        updated_at is not None
        and prior.source_updated_at is not None
        and updated_at <= prior.source_updated_at
    )


def _newest_in_page(
    results: Sequence[Parsed | Refused | Unchanged], now: dt.datetime
) -> dict[str, int]:
    """For each dated record id, the index of its newest version in the page (the first of
    equals, as across pages), among the versions that can be taken (not dated in the future).

    Without this the bulk path plans both versions against the same revision and remembers the
    first: with the older one first, a replay would "update" again and, after an approval,
    stack a duplicate revision.
    """
    best: dict[str, tuple[dt.datetime, int]] = {}
    for index, rec in enumerate(results):
        if not isinstance(rec, Parsed):
            continue
        updated_at = rec.data.get("updated_at")
        if updated_at is None or updated_at > now + FUTURE_SLACK:
            continue
        seen = best.get(rec.record_id)
        if seen is None or updated_at > seen[0]:
            best[rec.record_id] = (updated_at, index)
    return {record_id: index for record_id, (_at, index) in best.items()}


def apply_batch(
    session: Session,
    ctx: _Context,
    results: Sequence[Parsed | Refused | Unchanged],
    counts: _Counts,
    *,
    careful: bool = False,
) -> None:
    """Apply one page. Progress pages go in bulk (the write path's set-based statements); the
    careful path puts each record in its own savepoint, so one record the database refuses only
    quarantines itself."""
    counts.add("fetched", len(results))
    _prefetch(session, ctx, results)
    bulk = not careful
    candidates: list[Candidate] = []
    stats: list[StatsRow] = []
    quarterly: list[QuarterlyRow] = []
    # Digests taken earlier in this page: the same record again is a duplicate.
    in_page: dict[str, str] = {}
    newest = _newest_in_page(results, ctx.now)
    for index, rec in enumerate(results):
        if isinstance(rec, Unchanged):
            counts.add("unchanged")
            continue
        if isinstance(rec, Refused):
            _quarantine(session, ctx, rec, rec.field, rec.reason)
            counts.add("quarantined")
            continue
        updated_at = rec.data.get("updated_at")
        if updated_at is not None and updated_at > ctx.now + FUTURE_SLACK:
            _quarantine(session, ctx, rec, "updated_at", "more than 5 minutes in the future")
            counts.add("quarantined")
            continue
        if newest.get(rec.record_id, index) != index:
            # Another version of this record in the same page is newer: this one is a duplicate,
            # whatever order the page lists them in.
            counts.add("unchanged")
            continue
        prior = ctx.known.get(rec.record_id)
        if _is_stale(rec, prior) or in_page.get(rec.record_id) == rec.payload_sha256:
            counts.add("unchanged")
            continue
        if bulk:
            planned = PLAN[ctx.source.kind](session, ctx, rec)
            if planned is None:
                counts.add("quarantined")
                continue
            in_page[rec.record_id] = rec.payload_sha256
            if isinstance(planned, Candidate):
                candidates.append(planned)
            elif isinstance(planned, StatsRow):
                stats.append(planned)
            else:
                quarterly.append(planned)
            continue
        try:
            with session.begin_nested():
                outcome = APPLY[ctx.source.kind](session, ctx, rec, prior)
        except Exception as exc:  # noqa: BLE001 (one record's failure must not sink the page)
            ctx.known.pop(rec.record_id, None)
            _quarantine(session, ctx, rec, "", f"could not be stored: {_describe(exc)}")
            outcome = "quarantined"
        counts.add("conflicts" if outcome == "conflict" else outcome)
    if candidates or stats or quarterly:
        session.flush()  # the write path's statements bypass the session: flush what it holds
        outcomes = _store_progress(session, ctx, candidates) if candidates else []
        outcomes += write_stats(session, ctx.target, stats) if stats else []
        outcomes += write_quarterly(session, ctx.target, quarterly) if quarterly else []
        for outcome in outcomes:
            counts.add("conflicts" if outcome == "conflict" else outcome)
    _announce(session, ctx)


def _announce(session: Session, ctx: _Context) -> None:
    """One change record per office per page, not per report: a sync is one burst."""
    codes = {v: k for k, v in ctx.offices.items()}
    for office_id, entries in ctx.changed_offices.items():
        emit_change(
            session,
            "progress.ingested",
            codes.get(office_id),
            {"source": ctx.source.name, "entries": entries[:500]},
            audience="office",
            office_id=office_id,
        )
    for office_id, entries in ctx.public_offices.items():
        emit_change(
            session,
            "progress.approved",
            codes.get(office_id),
            {"source": ctx.source.name, "entries": entries[:500]},
        )
    ctx.changed_offices.clear()
    ctx.public_offices.clear()


# --- conflicts, decided by a reviewer -----------------------------------------------------------


def resolve_conflict(
    session: Session, actor: Actor, conflict_id: int, decision: str, expected_version: int | None
) -> IngestConflict:
    """Keep the manual report, or take the source's version as a new revision on top of it.

    The source's version enters review like any ingested record (approved only when the source
    is pre-approved); the manual revision stays in the history either way.
    """
    conflict = session.get(IngestConflict, conflict_id, with_for_update=True)
    if conflict is None:
        raise ServiceError(404, N_("No such conflict."))
    if conflict.resolved_at is not None:
        raise ServiceError(409, N_("This conflict was already resolved by someone else."))
    if decision not in ("keep", "accept"):
        raise ServiceError(400, N_("Choose to keep the manual report or take the source's."))
    if conflict.report_id is not None:
        return resolve_report_conflict(session, actor, conflict, decision, expected_version)
    entry = progress_svc.entry_by_id(session, conflict.entry_id) if conflict.entry_id else None
    manual = entry.report.current if entry is not None else None
    if entry is None or manual is None:
        raise ServiceError(409, N_("The report this conflict was about no longer exists."))
    check_version(manual, expected_version)
    now = actor.now
    conflict.resolved_at = now
    record(
        session,
        actor,
        f"ingest.conflict.{decision}",
        "ingest_conflict",
        conflict.id,
        office_id=entry.office_id,
    )
    if decision == "keep":
        return conflict
    source = session.get_one(IngestSource, conflict.source_id)
    data = conflict.source_payload["record"]
    before = progress_svc.revision_dict(entry.current)
    state = "approved" if source.pre_approved else "submitted"
    level = progress_svc.SPEC.final if state == "approved" else 1
    # The source's version goes on top of the manual one (which stays in the history), sent
    # by the source itself, and approved when the source is pre-approved.
    rev = WorkflowRevision(
        report_id=entry.id,
        revision_no=manual.revision_no + 1,
        state=state,
        level=level,
        data={**progress_svc.EMPTY, **_revision_values(data)},
        source=f"ingest:{source.name}",
        approved_at=now if state == "approved" else None,
        created_at=now,
        updated_at=now,
    )
    rev.evidence = _evidence(data)  # type: ignore[attr-defined]  # models/reporting.py's backref
    session.add(rev)
    session.flush()
    # Clients hold one version number per report (see workflow._new_revision).
    rev.version = manual.version + 1
    entry.report.current_revision_id = rev.id
    if state == "approved":
        entry.report.approved_revision_id = rev.id
    session.flush()
    user_id = actor.user.id if actor.user else None
    steps = [("revise", ("", 0), ("draft", 0)), ("submit", ("draft", 0), ("submitted", 1))]
    if state == "approved":
        steps.append(("approve", ("submitted", 1), ("approved", level)))
    for action, was, to in steps:
        session.add(
            WorkflowEvent(
                report_id=entry.id,
                revision_id=rev.id,
                at=now,
                user_id=user_id,
                action=action,
                from_state=was[0],
                from_level=was[1],
                to_state=to[0],
                to_level=to[1],
            )
        )
    session.flush()
    session.refresh(entry.report)
    # The next run sees this version as the source's own: unchanged, not a new conflict.
    session.execute(
        update(IngestRecord)
        .where(
            IngestRecord.source_id == source.id,
            IngestRecord.source_record_id == conflict.source_record_id,
        )
        .values(
            target="progress_revision",
            target_id=rev.id,
            payload_sha256=conflict.source_payload["sha256"],
            source_updated_at=dt.datetime.fromisoformat(data["updated_at"]),
        )
    )
    record(
        session,
        actor,
        "ingest.accept",
        "progress_revision",
        rev.id,
        before=before,
        after=progress_svc.revision_dict(entry.current),
        office_id=entry.office_id,
    )
    code = session.scalar(select(Office.code).where(Office.id == entry.office_id))
    emit_change(
        session,
        "progress.ingested",
        code,
        {"source": source.name, "entries": [entry.id]},
        audience="office",
        office_id=entry.office_id,
    )
    if state == "approved":
        emit_change(
            session, "progress.approved", code, {"source": source.name, "entries": [entry.id]}
        )
    return conflict


# --- a run ---------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """One line for the run log: the database's own message, not SQLAlchemy's statement dump
    (which would copy record values, and maybe a token in a URL, into the log)."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return redact(f"{type(cause).__name__}: {first}" if first else type(cause).__name__)


def _save_counts(session: Session, run_id: int, counts: _Counts, **extra: Any) -> None:
    session.execute(
        update(IngestRun).where(IngestRun.id == run_id).values(**counts.values, **extra)
    )


def run_source(
    factory: sessionmaker[Session],
    name: str,
    *,
    progress: Callable[[int], None] | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> RunResult:
    """Run one source now. Returns `skipped` if the same source is already running anywhere."""
    with factory() as lock_session:
        conn = lock_session.connection()
        if not conn.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(name)}
        ).scalar():
            return RunResult(name, None, "skipped", error="already running elsewhere")
        try:
            return _run_locked(factory, name, progress, now)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(name)})
            lock_session.commit()


def _run_locked(
    factory: sessionmaker[Session],
    name: str,
    progress: Callable[[int], None] | None,
    now: Callable[[], dt.datetime],
) -> RunResult:
    with factory.begin() as session:
        source = session.scalars(select(IngestSource).filter_by(name=name)).first()
        if source is None:
            raise LookupError(f"no ingest source named {name!r}")
        # We hold the source's lock, so any run still marked running was killed mid-way.
        session.execute(
            update(IngestRun)
            .where(IngestRun.source_id == source.id, IngestRun.outcome == "running")
            .values(outcome="failed", finished_at=now(), error="interrupted (process died)")
        )
        run = IngestRun(source_id=source.id, started_at=now())
        session.add(run)
        session.flush()
        run_id, source_id = run.id, source.id
        kind, url, timeout = source.kind, source.url, source.timeout_seconds
        options = dict(source.options or {})
        token_env = source.credentials_env
        # What each record was when last taken: one sent again unchanged skips its schema.
        taken = dict(
            session.execute(
                select(IngestRecord.source_record_id, IngestRecord.payload_sha256).where(
                    IngestRecord.source_id == source_id
                )
            ).all()
        )
    counts = _Counts()
    deadline = Deadline.after(timeout)
    error = ""
    try:
        max_bytes = int(options.get("max_bytes", DEFAULT_MAX_BYTES))
        request_timeout = float(options.get("request_timeout", 30.0))
        retry_delay = float(options.get("retry_delay", DEFAULT_RETRY_DELAY))
        token = credential(token_env)
        if kind == "stats-csv":
            _body, parsed = fetch(
                url,
                token=token,
                deadline=deadline,
                max_bytes=max_bytes,
                request_timeout=request_timeout,
                base_delay=retry_delay,
                check=parse_stats_csv,
            )
            _apply_page(factory, source_id, run_id, parsed or [], counts, now)
            if progress:
                progress(counts.values["fetched"])
        else:
            cursor: str | None = None
            for _page in range(MAX_PAGES):
                page_url = url if cursor is None else _with_cursor(url, cursor)
                _body, page = fetch(
                    page_url,
                    token=token,
                    deadline=deadline,
                    max_bytes=max_bytes,
                    request_timeout=request_timeout,
                    base_delay=retry_delay,
                    check=lambda b: parse_page(kind, b, taken),
                )
                results, cursor = page if page is not None else ([], None)
                _apply_page(factory, source_id, run_id, results, counts, now)
                if progress:
                    progress(counts.values["fetched"])
                if cursor is None:
                    break
    except (FetchError, PageError) as exc:
        error = redact(str(exc)) or type(exc).__name__
    except Exception as exc:  # noqa: BLE001 (whatever went wrong, the log must say failed, not running)
        log.exception("ingest run %s of %s crashed", run_id, name)
        error = _describe(exc)
    except BaseException as exc:
        # Ctrl-C or SystemExit: note the run as failed, then let the interruption go on its way.
        with contextlib.suppress(Exception):
            _finish(factory, run_id, counts, "failed", f"interrupted ({type(exc).__name__})", now)
        raise
    outcome = "failed" if error else ("partial" if counts.values["quarantined"] else "ok")
    _finish(factory, run_id, counts, outcome, error, now)
    return RunResult(name, run_id, outcome, dict(counts.values), error)


def _finish(
    factory: sessionmaker[Session],
    run_id: int,
    counts: _Counts,
    outcome: str,
    error: str,
    now: Callable[[], dt.datetime],
) -> None:
    with factory.begin() as session:
        _save_counts(session, run_id, counts, outcome=outcome, finished_at=now(), error=error)


def _with_cursor(url: str, cursor: str) -> str:
    from urllib.parse import urlencode

    return f"{url}{'&' if '?' in url else '?'}{urlencode({'cursor': cursor})}"


def _apply_page(
    factory: sessionmaker[Session],
    source_id: int,
    run_id: int,
    results: Sequence[Parsed | Refused | Unchanged],
    counts: _Counts,
    now: Callable[[], dt.datetime],
) -> None:
    # Counts move only if the page commits: a crash loses the page and its counts together.
    for careful in (False, True):
        trial = _Counts()
        trial.values = dict(counts.values)
        try:
            with factory.begin() as session:
                source = session.get_one(IngestSource, source_id)
                ctx = _Context(session, source, run_id, now())
                apply_batch(session, ctx, results, trial, careful=careful)
                _save_counts(session, run_id, trial)
        except Exception:
            if careful:
                raise
            continue  # the bulk flush failed: redo the page one record at a time
        counts.values = trial.values
        return
