"""Bulk work on workflow reports: a director certifies and sends many, a reviewer decides many.

Generic by report kind: whatever kind the engine knows (services.workflow.KINDS) works here, and
a kind may add a title for lists with `describe`. Each report is its own transaction: the
`*_each` functions are generators that do one report's work and yield its Outcome, and the
caller commits (a success) or rolls back (a refusal) before asking for the next, so a refusal
undoes only that report. Like every service they never commit themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..itemnames import item_set_name, reads_thai
from ..models import PolicyItem, Project, WorkflowReport, WorkflowRevision
from . import plans, progress, projects
from . import workflow as wf
from .audit import Actor
from .errors import N_, ServiceError

MAX_ITEMS: Final = 500  # reports in one request: more than an office has in a round
BULK_DECISIONS: Final = ("approve", "return")


@dataclass(frozen=True)
class Item:
    """One report asked for, with the version the asker saw."""

    report_id: int
    version: int | None


@dataclass
class Outcome:
    """What became of one report: done (its new version), or refused and why."""

    report_id: int
    title: str
    period: int | None
    fiscal_year: int | None
    error: ServiceError | None = None
    version: int | None = None
    office_name: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Candidate:
    """A report the office could send: `refusal` says why it cannot be sent now (or None)."""

    report: WorkflowReport
    title: str
    refusal: ServiceError | None

    @property
    def complete(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class KindInfo:
    label: str  # English msgid naming the kind, e.g. "Quarterly project report"
    period: str | None  # English msgid of its period with %(n)s, e.g. "Quarter %(n)s"
    title: Callable[[Session, WorkflowReport], str] | None = None


KIND_INFO: dict[str, KindInfo] = {}


def describe(
    kind: str,
    label: str,
    period: str | None = None,
    title: Callable[[Session, WorkflowReport], str] | None = None,
) -> None:
    """Name a kind for bulk lists (a kind the engine knows works without this, less named)."""
    KIND_INFO[kind] = KindInfo(label, period, title)


def info(kind: str) -> KindInfo:
    wf.spec_of(kind)  # 404 for a kind the engine does not know
    return KIND_INFO.get(kind, KindInfo(N_("Report"), None))


def title(session: Session, report: WorkflowReport) -> str:
    make = info(report.kind).title
    return make(session, report) if make else ""


def _project_title(session: Session, report: WorkflowReport) -> str:
    project = session.get(Project, report.subject_id) if report.subject_id else None
    return project.name if project else ""


def _progress_title(session: Session, report: WorkflowReport) -> str:
    """The item in words, in the reader's language ("Policy 4.1. <title>"), never its subject
    key; the round is the report's period and is shown beside it."""
    item = session.get(PolicyItem, report.subject_id) if report.subject_id else None
    if item is None:
        return ""
    title = item.title_th if reads_thai() else item.title_en
    return f"{item_set_name(item)} {item.no}. {title}"


describe(progress.KIND, N_("Progress report"), N_("Round %(n)s"), title=_progress_title)
describe(projects.KIND, N_("Quarterly project report"), N_("Quarter %(n)s"), title=_project_title)
describe(plans.KIND, N_("Operating plan"))


# --- what a director may send ----------------------------------------------------------------


def _why_not(spec: wf.KindSpec, report: WorkflowReport, actor: Actor) -> ServiceError | None:
    rev = report.current
    if rev is None:
        return ServiceError(409, N_("Save the report before sending it."))
    missing = spec.missing(report, rev.data)
    if missing:
        return ServiceError(
            400, spec.incomplete_msgid, fields=wf.FieldLabels(spec.labels, *missing)
        )
    try:
        spec.check_window(report, actor)
    except ServiceError as err:
        return err
    return None


def sendable(
    session: Session,
    actor: Actor,
    kind: str,
    office_id: int,
    fiscal_year: int,
    period: int | None = None,
) -> list[Candidate]:
    """The office's reports of `kind` and year (and period) that wait to be sent: drafts and
    returned ones, each complete (ready) or with the reason it cannot go yet."""
    spec = wf.spec_of(kind)
    query = (
        select(WorkflowReport)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
        .where(
            WorkflowReport.kind == kind,
            WorkflowReport.office_id == office_id,
            WorkflowReport.fiscal_year == fiscal_year,
            WorkflowRevision.state.in_(wf.EDITABLE),
        )
        .order_by(WorkflowReport.period, WorkflowReport.subject_id, WorkflowReport.id)
    )
    if period is not None:
        query = query.where(WorkflowReport.period == period)
    return [
        Candidate(report, title(session, report), _why_not(spec, report, actor))
        for report in session.scalars(query)
    ]


def waiting(session: Session, kind: str, user: object) -> list[WorkflowReport]:
    """Reports of `kind` waiting for a level `user` may pass (the bulk review list)."""
    return wf.waiting_for(session, kind, user)


# --- doing it, one report at a time -----------------------------------------------------------


def check_items(items: Sequence[Item]) -> None:
    if not items:
        raise ServiceError(400, N_("Choose at least one report."))
    if len(items) > MAX_ITEMS:
        raise ServiceError(400, N_("Choose at most %(n)s reports at once."), n=MAX_ITEMS)


def _one(
    session: Session,
    kind: str,
    item: Item,
    office_id: int | None,
    work: Callable[[WorkflowReport], WorkflowReport],
) -> Outcome:
    report = session.get(WorkflowReport, item.report_id) if 0 < item.report_id < 2**31 else None
    if report is None or report.kind != kind or office_id not in (None, report.office_id):
        return Outcome(item.report_id, "", None, None, ServiceError(404, N_("No such report.")))
    outcome = Outcome(report.id, title(session, report), report.period, report.fiscal_year)
    outcome.office_name = report.office.name_th if report.office else ""
    try:
        done = work(report)
    except ServiceError as err:
        outcome.error = err
    except (IntegrityError, OperationalError):
        # A lost race with another writer (the services lock first, so this is rare): refused
        # like a stale version, and only this report is rolled back.
        outcome.error = ServiceError(
            409,
            N_(
                "Someone else saved this at the same moment. "
                "Reload it, then apply your changes again."
            ),
        )
    else:
        outcome.version = done.current.version if done.current else None
    return outcome


def submit_each(
    session: Session,
    actor: Actor,
    kind: str,
    items: Sequence[Item],
    *,
    office_id: int | None = None,
) -> Iterator[Outcome]:
    """Certify and send each report (the engine's submit, version checked); yields each outcome
    for the caller to commit or roll back. `office_id` limits it to one office's reports."""
    wf.spec_of(kind)
    check_items(items)  # before the first report: a refusal of the whole request

    def each() -> Iterator[Outcome]:
        for item in items:

            def send(report: WorkflowReport, v: int | None = item.version) -> WorkflowReport:
                return wf.submit(session, actor, report, v)

            yield _one(session, kind, item, office_id, send)

    return each()


def decide_each(
    session: Session,
    actor: Actor,
    kind: str,
    items: Sequence[Item],
    decision: str,
    comment: str = "",
) -> Iterator[Outcome]:
    """Approve or return each report (the engine's decide); one comment serves every return."""
    wf.spec_of(kind)
    if decision not in BULK_DECISIONS:
        raise ServiceError(400, N_("The decision must be approve or return."))
    if decision == "return" and not (comment or "").strip():
        raise ServiceError(
            400, N_("Say what must change: a comment is required to return or un-approve.")
        )
    check_items(items)

    def each() -> Iterator[Outcome]:
        for item in items:

            def act(report: WorkflowReport, v: int | None = item.version) -> WorkflowReport:
                return wf.decide(session, actor, report, decision, v, comment)

            yield _one(session, kind, item, None, act)

    return each()
