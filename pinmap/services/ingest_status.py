"""Read-side of ingestion for people: run logs, failing sources, quarantine, conflicts, and
consistency checks between the counts an office's sources report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    IngestConflict,
    IngestRun,
    IngestSource,
    Office,
    OfficeStats,
    Quarantine,
    School,
)

FAILING_AFTER = 3  # consecutive failed runs before a source is flagged


def runs(session: Session, *, source: str | None = None, limit: int = 100) -> list[IngestRun]:
    stmt = select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)
    if source:
        stmt = stmt.join(IngestSource, IngestSource.id == IngestRun.source_id).where(
            IngestSource.name == source
        )
    return list(session.scalars(stmt))


def run_dict(run: IngestRun, source_name: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "source": source_name,
        "outcome": run.outcome,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "fetched": run.fetched,
        "inserted": run.inserted,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "quarantined": run.quarantined,
        "conflicts": run.conflicts,
        "error": run.error,
    }


def failing_streaks(session: Session) -> dict[int, int]:
    """{source_id: number of most recent consecutive failed runs} for every source."""
    out: dict[int, int] = {}
    for source_id in session.scalars(select(IngestSource.id)):
        outcomes = session.scalars(
            select(IngestRun.outcome)
            .where(IngestRun.source_id == source_id, IngestRun.outcome != "running")
            .order_by(IngestRun.id.desc())
            .limit(50)
        ).all()
        streak = 0
        for outcome in outcomes:
            if outcome != "failed":
                break
            streak += 1
        out[source_id] = streak
    return out


def quarantine(session: Session, run_id: int | None = None, limit: int = 200) -> list[Quarantine]:
    stmt = select(Quarantine).order_by(Quarantine.id.desc()).limit(limit)
    if run_id:
        stmt = stmt.where(Quarantine.run_id == run_id)
    return list(session.scalars(stmt))


def open_conflicts_of_entry(session: Session, entry_id: int) -> list[IngestConflict]:
    """A source's versions of this report that a newer manual edit blocked, still undecided."""
    return list(
        session.scalars(
            select(IngestConflict)
            .where(IngestConflict.entry_id == entry_id, IngestConflict.resolved_at.is_(None))
            .order_by(IngestConflict.id)
        )
    )


def open_conflicts(session: Session, office_id: int | None = None) -> list[IngestConflict]:
    from ..models import WorkflowReport

    stmt = (
        select(IngestConflict)
        .where(IngestConflict.resolved_at.is_(None))
        .order_by(IngestConflict.id.desc())
    )
    if office_id is not None:
        stmt = stmt.join(WorkflowReport, WorkflowReport.id == IngestConflict.entry_id).where(
            WorkflowReport.office_id == office_id
        )
    return list(session.scalars(stmt.limit(500)))


@dataclass(frozen=True)
class Disagreement:
    office_code: str
    office_name: str
    measure: str
    values: dict[str, int]  # source → value


def disagreements(session: Session, office_id: int | None = None) -> list[Disagreement]:
    """Counts that differ between an office's sources (latest value per source), plus the
    school count implied by the imported school list."""
    latest = (
        select(OfficeStats.office_id, OfficeStats.source, func.max(OfficeStats.as_of).label("d"))
        .group_by(OfficeStats.office_id, OfficeStats.source)
        .subquery()
    )
    stmt = (
        select(OfficeStats, Office.code, Office.name_th)
        .join(
            latest,
            (latest.c.office_id == OfficeStats.office_id)
            & (latest.c.source == OfficeStats.source)
            & (latest.c.d == OfficeStats.as_of),
        )
        .join(Office, Office.id == OfficeStats.office_id)
        .order_by(Office.code)
    )
    if office_id is not None:
        stmt = stmt.where(OfficeStats.office_id == office_id)
    per_office: dict[str, dict[str, dict[str, int]]] = {}
    names: dict[str, str] = {}
    ids: dict[str, int] = {}
    for stats, code, name in session.execute(stmt):
        names[code], ids[code] = name, stats.office_id
        for measure in ("schools", "teachers", "students", "staff"):
            value = getattr(stats, measure)
            if value is not None:
                per_office.setdefault(code, {}).setdefault(measure, {})[stats.source] = value
    school_counts = dict(
        session.execute(select(School.office_id, func.count()).group_by(School.office_id)).all()
    )
    for code, office in ids.items():
        if office in school_counts:
            per_office.setdefault(code, {}).setdefault("schools", {})["school list"] = (
                school_counts[office]
            )
    out = []
    for code, measures in per_office.items():
        for measure, values in measures.items():
            if len(values) > 1 and len(set(values.values())) > 1:
                out.append(Disagreement(code, names[code], measure, values))
    return out
