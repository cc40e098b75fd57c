"""The one review workflow: saving a report's revision, and one state machine to move it.

    draft ──submit──▶ submitted@1 ──approve──▶ submitted@2 … ──approve──▶ approved@N (locked)
      ▲                    │ return (comment)        │ return                 │
      └──── returned ◀─────┴─────────────────────────┘                        │
                           ◀──────── unapprove (a higher level, comment) ─────┘

Level 1 is the office director's certification (submitting is certifying); the levels above
are OBEC's: a kind's defaults are in code (`KindSpec.levels`), and an administrator may change
them (`set_levels`, /admin/workflow): which roles decide the review level, and whether a second
OBEC level accepts, by which roles. Every check reads the levels in force (`levels_of`).
A report at level k waits for the holder of level k+1, who approves it (k+1) or returns it to
the office. A level above k may un-approve it (back to k-1; from level 1 that is a return).
A finally approved revision is locked: saving again opens a new revision, and the approved one
stays public until the new one is finally approved. Every write takes the office's write lock
and checks the version the writer read, so of two reviewers deciding at once one wins and the
other gets a 409.
Services never commit; refusals are ServiceErrors whose message says why and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from ..auth import LEVEL_ROLES, can, can_as
from ..models import (
    Office,
    WorkflowEvent,
    WorkflowKindLevels,
    WorkflowReport,
    WorkflowRevision,
)
from . import notify
from .audit import Actor, emit_change, record
from .errors import N_, Labels, ServiceError
from .lookups import get_or_404
from .review import MAX_COMMENT, check_version, limited_text, lock_office_work

EDITABLE: Final = ("draft", "returned")
DECISIONS: Final = ("approve", "return", "unapprove")


@dataclass(frozen=True)
class Level:
    """One approval level: who may pass it (an auth action) and what passing it is called."""

    key: str
    action: str
    label: str  # English msgid of the level's name, e.g. "Certified by the office director"
    # The roles that decide it when an administrator named them (else the action's roles).
    roles: frozenset[str] | None = None

    def held_by(self, user: Any, office_id: int | None = None) -> bool:
        if self.roles is None:
            return can(user, self.action, office_id)
        return can_as(user, self.action, self.roles)


# The usual chain; a kind takes the first two or all three.
CERTIFY = Level("certify", "certify_report", N_("Certified by the office director"))
REVIEW = Level("review", "review_report", N_("Reviewed by OBEC"))
ACCEPT = Level("accept", "accept_report", N_("Accepted by OBEC's monitoring office"))


def _no_check(report: WorkflowReport, actor: Actor) -> None:
    return None


@dataclass(frozen=True)
class KindSpec:
    """What the engine needs to know about one kind of report."""

    kind: str
    entity: str  # the audit log's entity name
    levels: tuple[Level, ...]
    # Cleans and checks a form's data (raises ServiceError); returns what is stored.
    clean: Callable[[WorkflowReport, dict[str, Any]], dict[str, Any]]
    # The keys a revision still lacks before it may be sent.
    missing: Callable[[WorkflowReport, dict[str, Any]], list[str]]
    labels: dict[str, str] = field(default_factory=dict)  # key -> English msgid
    edit_action: str = "edit_report"
    # Refuses sending outside the kind's reporting window (ServiceError), or returns.
    check_window: Callable[[WorkflowReport, Actor], None] = _no_check
    incomplete_msgid: str = N_("The report is incomplete: fill in %(fields)s, then send it again.")
    # English msgid of the kind's name for administrators (/admin/workflow lists named kinds).
    title: str = ""
    # A kind that emits change records of its own (progress: progress.saved … approved, which
    # pages and the map listen for) says False, and the engine emits none for it.
    change_events: bool = True
    # The audit log's action for an engine action, when the kind's history names it otherwise
    # (progress audited every save, the first one included, as "save").
    audit_names: dict[str, str] = field(default_factory=dict)

    @property
    def final(self) -> int:
        return len(self.levels)


KINDS: dict[str, KindSpec] = {}


def register(spec: KindSpec) -> KindSpec:
    if not spec.levels or spec.levels[0].action != CERTIFY.action:
        raise ValueError("a kind's first level is the office's certification")
    KINDS[spec.kind] = spec
    return spec


def spec_of(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ServiceError(404, N_("No such kind of report.")) from None


def levels_of(session: Session, kind: str) -> tuple[Level, ...]:
    """The approval levels of `kind` in force: an administrator's choice, else the defaults."""
    spec = spec_of(kind)
    chosen = session.get(WorkflowKindLevels, kind)
    if chosen is None:
        return spec.levels
    levels = [spec.levels[0], replace(REVIEW, roles=frozenset(chosen.review_roles))]
    if chosen.accept_enabled:
        levels.append(replace(ACCEPT, roles=frozenset(chosen.accept_roles)))
    return tuple(levels)


def report_levels(report: WorkflowReport) -> tuple[Level, ...]:
    session = object_session(report)
    if session is None:  # a report built in memory, not yet added: the kind's defaults
        return spec_of(report.kind).levels
    return levels_of(session, report.kind)


def final_level(report: WorkflowReport) -> int:
    return len(report_levels(report))


class FieldLabels(Labels):
    """Field names of one kind, translated when the message is formatted."""

    def __init__(self, labels: dict[str, str], *keys: str) -> None:
        super().__init__(*keys)
        self.labels = labels

    def __str__(self) -> str:
        from flask_babel import gettext

        return ", ".join(gettext(self.labels.get(k, k)) for k in self.keys)


# --- reading -----------------------------------------------------------------------------------


def find(
    session: Session, kind: str, office_id: int, fiscal_year: int, subject: str
) -> WorkflowReport | None:
    return session.scalars(
        select(WorkflowReport).filter_by(
            kind=kind, office_id=office_id, fiscal_year=fiscal_year, subject=subject
        )
    ).first()


def report_or_404(session: Session, report_id: int) -> WorkflowReport:
    return get_or_404(session, WorkflowReport, report_id, N_("No such report."))


def trail(session: Session, report: WorkflowReport) -> list[WorkflowEvent]:
    return list(
        session.scalars(
            select(WorkflowEvent).filter_by(report_id=report.id).order_by(WorkflowEvent.id)
        )
    )


def revisions(session: Session, report: WorkflowReport) -> list[WorkflowRevision]:
    return list(
        session.scalars(
            select(WorkflowRevision)
            .filter_by(report_id=report.id)
            .order_by(WorkflowRevision.revision_no)
        )
    )


def status(report: WorkflowReport | None) -> str:
    """The office's word for where a report stands: not_reported, saved, sent, returned,
    approved (an approved report being revised reads as its new revision's status)."""
    rev = report.current if report is not None else None
    if rev is None:
        return "not_reported"
    return {"draft": "saved", "submitted": "sent"}.get(rev.state, rev.state)


def waiting_level(report: WorkflowReport) -> Level | None:
    """The level a sent report waits for, or None."""
    rev = report.current
    levels = report_levels(report)
    if rev is None or rev.state != "submitted" or rev.level >= len(levels):
        return None
    return levels[rev.level]


def level_label(report: WorkflowReport) -> str | None:
    """The msgid of the last level the current revision passed (None below level 1)."""
    rev = report.current
    if rev is None or rev.level < 1:
        return None
    levels = report_levels(report)
    # A report approved under more levels than are in force now passed the last of them.
    return levels[min(rev.level, len(levels)) - 1].label


def may_decide(user: Any, report: WorkflowReport, decision: str) -> bool:
    """Whether `user` may take `decision` on the report now (for showing buttons)."""
    try:
        _check_decision(spec_of(report.kind), report, user, decision)
    except ServiceError:
        return False
    return True


def waiting_for(session: Session, kind: str, user: Any) -> list[WorkflowReport]:
    """Reports of `kind` sent and waiting for a level `user` may pass, oldest first."""
    levels = [n for n, lv in enumerate(levels_of(session, kind)) if n > 0 and lv.held_by(user)]
    if not levels:
        return []
    return list(
        session.scalars(
            select(WorkflowReport)
            .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
            .where(
                WorkflowReport.kind == kind,
                WorkflowRevision.state == "submitted",
                WorkflowRevision.level.in_(levels),
            )
            .order_by(WorkflowRevision.updated_at)
        )
    )


def revision_dict(rev: WorkflowRevision | None) -> dict[str, Any] | None:
    if rev is None:
        return None
    return {
        "revision_no": rev.revision_no,
        "state": rev.state,
        "level": rev.level,
        "version": rev.version,
        "source": rev.source,
        "data": rev.data,
    }


# --- saving ------------------------------------------------------------------------------------


def _trail(
    session: Session,
    actor: Actor,
    rev: WorkflowRevision,
    action: str,
    before: tuple[str, int],
    comment: str = "",
) -> None:
    session.add(
        WorkflowEvent(
            report_id=rev.report_id,
            revision_id=rev.id,
            at=actor.now,
            user_id=actor.user.id if actor.user else None,
            action=action,
            from_state=before[0],
            from_level=before[1],
            to_state=rev.state,
            to_level=rev.level,
            comment=comment,
        )
    )


def _events(
    session: Session, spec: KindSpec, report: WorkflowReport, action: str, public: bool
) -> None:
    """A private change record for the office's and OBEC's pages, and a public one when what
    the public sees changed (a final approval, or its undoing)."""
    if not spec.change_events:
        return
    office = session.get(Office, report.office_id)
    code = office.code if office else None
    rev = report.current
    emit_change(
        session,
        "report.changed",
        code,
        {
            "report_id": report.id,
            "kind": report.kind,
            "action": action,
            "state": rev.state if rev else None,
            "level": rev.level if rev else 0,
            "version": rev.version if rev else None,
        },
        audience="office",
        office_id=report.office_id,
    )
    if public:
        emit_change(
            session,
            "office.updated",
            code,
            {"fields": [spec.entity], "fiscal_year": report.fiscal_year},
        )


def _new_revision(
    session: Session,
    actor: Actor,
    report: WorkflowReport,
    base: WorkflowRevision | None,
    source: str,
) -> WorkflowRevision:
    number = (
        session.scalar(
            select(func.max(WorkflowRevision.revision_no)).where(
                WorkflowRevision.report_id == report.id
            )
        )
        or 0
    ) + 1
    rev = WorkflowRevision(
        report_id=report.id,
        revision_no=number,
        state="draft",
        level=0,
        data=dict(base.data) if base is not None else {},
        source=source,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(rev)
    session.flush()
    if base is not None:
        # Clients hold one number per report whichever revision it is: were each revision to
        # count from 1, a stale page could match the new revision's number and overwrite it.
        rev.version = base.version + 1
        session.flush()
    report.current_revision_id = rev.id
    report.current = rev
    session.flush()
    return rev


def save(
    session: Session,
    actor: Actor,
    kind: str,
    office: Office,
    fiscal_year: int,
    subject: str,
    data: dict[str, Any],
    expected_version: int | None,
    *,
    subject_id: int | None = None,
    period: int | None = None,
    source: str = "manual",
    authorized: bool = False,
) -> WorkflowReport:
    """Save `data` as the report's working revision, creating the report on its first save.

    A draft or returned revision is updated in place; a finally approved one is locked, so a
    new draft revision takes the data while the approved one stays public. `authorized` is for
    ingestion, which writes with no signed-in user (its source is configuration, not a person).
    """
    spec = spec_of(kind)
    if not authorized and not can(actor.user, spec.edit_action, office.id):
        raise ServiceError(403, N_("You may not edit this office's reports."))
    lock_office_work(session, office.id)
    report = find(session, kind, office.id, fiscal_year, subject)
    created = report is None
    if report is None:
        if expected_version not in (None, 0):
            raise ServiceError(
                409, N_("This report no longer exists; reload the page, then enter it again.")
            )
        report = WorkflowReport(
            kind=kind,
            office_id=office.id,
            fiscal_year=fiscal_year,
            subject=subject,
            subject_id=subject_id,
            period=period,
        )
        session.add(report)
        session.flush()
    rev = report.current
    if rev is not None:
        check_version(rev, expected_version)
        if rev.state == "submitted":
            raise ServiceError(
                409,
                N_(
                    "This report was sent and waits for review, so it cannot be changed now. "
                    "Ask the reviewer to return it if it must change."
                ),
            )
    clean = spec.clean(report, data)
    before = revision_dict(rev)
    was = (rev.state, rev.level) if rev is not None else ("", 0)
    if rev is None or rev.state == "approved":
        action = "create" if rev is None else "revise"
        rev = _new_revision(session, actor, report, rev, source)
    else:
        action = "save"
    rev.data = clean
    rev.source = source
    rev.updated_at = actor.now
    session.flush()
    _trail(session, actor, rev, action, was)
    record(
        session,
        actor,
        f"{spec.entity}.{spec.audit_names.get(action, action)}",
        spec.entity,
        report.id,
        before=before,
        after=revision_dict(rev),
        office_id=office.id,
    )
    _events(session, spec, report, action, public=False)
    if created:
        session.flush()
    return report


# --- the state machine -------------------------------------------------------------------------


def _state_name(rev: WorkflowRevision) -> str:
    return {
        "draft": N_("a draft"),
        "submitted": N_("waiting for review"),
        "returned": N_("returned to the office"),
        "approved": N_("approved and locked"),
    }[rev.state]


class _StateWord(Labels):
    def __init__(self, msgid: str) -> None:
        super().__init__(msgid)

    def __str__(self) -> str:
        from flask_babel import gettext

        return gettext(self.keys[0])


def _check_decision(spec: KindSpec, report: WorkflowReport, user: Any, decision: str) -> None:
    """Refuse a decision the report's state or the user's level does not allow."""
    rev = report.current
    if rev is None:
        raise ServiceError(
            409, N_("There is nothing to decide on yet: the office has not sent it.")
        )
    if decision not in DECISIONS:
        raise ServiceError(400, N_("The decision must be approve, return or un-approve."))
    if decision in ("approve", "return"):
        if rev.state != "submitted":
            raise ServiceError(
                409,
                N_(
                    "Only a report waiting for review can be approved or returned; this one is "
                    "%(state)s. Reload the page to see where it stands."
                ),
                state=_StateWord(_state_name(rev)),
            )
        levels = report_levels(report)
        if rev.level >= len(levels):
            raise ServiceError(
                409, N_("This report passed every approval level in force; reload the page.")
            )
        level = levels[rev.level]
        if not level.held_by(user):
            raise ServiceError(
                403,
                N_(
                    "This report waits for the level \u201c%(level)s\u201d, which you may not pass."
                ),
                level=_StateWord(level.label),
            )
        return
    # Un-approving level k: the levels above k may (the top level undoes its own final step).
    if rev.state not in ("submitted", "approved") or rev.level < 1:
        raise ServiceError(
            409,
            N_(
                "Only an approved or certified report can be un-approved; this one is "
                "%(state)s. Reload the page to see where it stands."
            ),
            state=_StateWord(_state_name(rev)),
        )
    levels = report_levels(report)
    passed = min(rev.level, len(levels))
    above = levels[passed:] or levels[-1:]
    if not any(lv.held_by(user) for lv in above):
        raise ServiceError(
            403,
            N_("Only a higher approval level may undo \u201c%(level)s\u201d."),
            level=_StateWord(levels[passed - 1].label),
        )


def submit(
    session: Session,
    actor: Actor,
    report: WorkflowReport,
    expected_version: int | None,
    *,
    authorized: bool = False,
) -> WorkflowReport:
    """The office director certifies the working revision and sends it up (level 1)."""
    spec = spec_of(report.kind)
    if not authorized and not spec.levels[0].held_by(actor.user, report.office_id):
        raise ServiceError(
            403, N_("Only the office's director may certify and send this office's reports.")
        )
    lock_office_work(session, report.office_id)
    rev = report.current
    if rev is None:
        raise ServiceError(409, N_("Save the report before sending it."))
    check_version(rev, expected_version)
    if rev.state not in EDITABLE:
        raise ServiceError(
            409,
            N_(
                "Only a draft or a returned report can be sent; this one is %(state)s. "
                "Reload the page to see where it stands."
            ),
            state=_StateWord(_state_name(rev)),
        )
    # A source (ingestion) certifies its own records: its rules, not the form's, made them.
    if not authorized:
        missing = spec.missing(report, rev.data)
        if missing:
            raise ServiceError(
                400, spec.incomplete_msgid, fields=FieldLabels(spec.labels, *missing)
            )
        spec.check_window(report, actor)
    return _move(session, actor, spec, report, "submit", 1, "")


def decide(
    session: Session,
    actor: Actor,
    report: WorkflowReport,
    decision: str,
    expected_version: int | None,
    comment: str = "",
    *,
    authorized: bool = False,
) -> WorkflowReport:
    """approve (to the next level), return (to the office) or unapprove (one level down).

    `authorized` is for a pre-approved ingestion source, which passes the levels itself.
    """
    spec = spec_of(report.kind)
    if decision not in DECISIONS:
        raise ServiceError(400, N_("The decision must be approve, return or un-approve."))
    comment = limited_text(comment or "", Labels("comment"), MAX_COMMENT)
    lock_office_work(session, report.office_id)
    rev = report.current
    if rev is not None:
        check_version(rev, expected_version)
    if authorized:
        if rev is None or rev.state != "submitted" or decision != "approve":
            raise ServiceError(409, N_("Only a report waiting for review can be approved."))
    else:
        _check_decision(spec, report, actor.user, decision)
    assert rev is not None  # noqa: S101 (_check_decision refuses a report with none)
    if decision in ("return", "unapprove") and not comment:
        raise ServiceError(
            400, N_("Say what must change: a comment is required to return or un-approve.")
        )
    if decision == "approve":
        to = rev.level + 1
    elif decision == "return":
        to = 0
    else:
        to = min(rev.level, final_level(report)) - 1
    return _move(session, actor, spec, report, decision, to, comment)


def _move(
    session: Session,
    actor: Actor,
    spec: KindSpec,
    report: WorkflowReport,
    action: str,
    to_level: int,
    comment: str,
) -> WorkflowReport:
    rev = report.current
    assert rev is not None  # noqa: S101 (callers checked)
    final = final_level(report)
    before = revision_dict(rev)
    was = (rev.state, rev.level)
    was_public = rev.state == "approved"
    if to_level == 0:
        rev.state = "returned"
    elif to_level >= final:
        rev.state = "approved"
    else:
        rev.state = "submitted"
    rev.level = min(to_level, final)
    rev.updated_at = actor.now
    if rev.state == "approved":
        rev.approved_at = actor.now
        report.approved_revision_id = rev.id
    elif was_public:
        # The public sees the previous finally approved revision again, if there is one.
        rev.approved_at = None
        report.approved_revision_id = session.scalar(
            select(WorkflowRevision.id)
            .where(
                WorkflowRevision.report_id == report.id,
                WorkflowRevision.id != rev.id,
                WorkflowRevision.state == "approved",
            )
            .order_by(WorkflowRevision.revision_no.desc())
            .limit(1)
        )
    session.flush()
    _trail(session, actor, rev, action, was, comment)
    record(
        session,
        actor,
        f"{spec.entity}.{spec.audit_names.get(action, action)}",
        spec.entity,
        report.id,
        before=before,
        after={**(revision_dict(rev) or {}), "comment": comment},
        office_id=report.office_id,
    )
    _events(session, spec, report, action, public=was_public or rev.state == "approved")
    # Messages to the office, in this transaction (the outbox sends them later).
    notify.on_workflow_event(session, report, action, comment)
    session.refresh(report)
    return report


def last_comment(session: Session, report: WorkflowReport) -> WorkflowEvent | None:
    """The newest return or un-approval of the current revision (what the office must fix)."""
    if report.current_revision_id is None:
        return None
    return session.scalars(
        select(WorkflowEvent)
        .where(
            WorkflowEvent.revision_id == report.current_revision_id,
            WorkflowEvent.action.in_(("return", "unapprove")),
        )
        .order_by(WorkflowEvent.id.desc())
        .limit(1)
    ).first()


# --- configuring a kind's levels (administrators) ----------------------------------------------


@dataclass
class KindLevels:
    """What /admin/workflow shows and changes for one kind."""

    kind: str
    review_roles: list[str]
    accept_enabled: bool
    accept_roles: list[str]
    version: int  # 0 while the kind runs on its defaults


def kind_levels(session: Session, kind: str) -> KindLevels:
    levels = levels_of(session, kind)
    chosen = session.get(WorkflowKindLevels, kind)

    def roles(level: Level, action: str) -> list[str]:
        from ..auth import RULES

        held = level.roles if level.roles is not None else RULES[action]
        return [r for r in LEVEL_ROLES if r in held]

    return KindLevels(
        kind,
        roles(levels[1], REVIEW.action) if len(levels) > 1 else ["reviewer", "admin"],
        len(levels) > 2,
        roles(levels[2], ACCEPT.action) if len(levels) > 2 else roles(ACCEPT, ACCEPT.action),
        chosen.version if chosen is not None else 0,
    )


def set_levels(
    session: Session,
    actor: Actor,
    kind: str,
    review_roles: list[str],
    accept_enabled: bool,
    accept_roles: list[str],
    expected_version: int | None,
) -> KindLevels:
    """Change a kind's OBEC levels. Reports in flight keep working:

    - adding the second level: reports already finally approved stay approved (they passed
      every level in force then); a report sent and not yet final now also waits for it;
    - removing it: a report that passed the review level and waited for acceptance is finally
      approved now (the trail says why); reports approved under three levels stay approved.
    """
    if not can(actor.user, "manage_workflow"):
        raise ServiceError(403, N_("Only an administrator may change approval levels."))
    spec_of(kind)
    for roles in (review_roles, *([accept_roles] if accept_enabled else [])):
        if not roles or any(r not in LEVEL_ROLES for r in roles):
            raise ServiceError(
                400, N_("Choose at least one role, among the listed ones, for each OBEC level.")
            )
    if not accept_enabled:
        accept_roles = accept_roles or ["admin"]
    accept_roles = [r for r in LEVEL_ROLES if r in accept_roles] or ["admin"]
    review_roles = [r for r in LEVEL_ROLES if r in review_roles]
    chosen = session.get(WorkflowKindLevels, kind, with_for_update=True)
    before = kind_levels(session, kind)
    if expected_version is not None and before.version != expected_version:
        raise ServiceError(
            409,
            N_("Someone changed these levels meanwhile; reload the page and choose again."),
        )
    if chosen is None:
        chosen = WorkflowKindLevels(kind=kind)
        session.add(chosen)
    chosen.review_roles = review_roles
    chosen.accept_enabled = accept_enabled
    chosen.accept_roles = accept_roles
    session.flush()
    after = kind_levels(session, kind)
    record(
        session,
        actor,
        "workflow_levels.set",
        "workflow_kind_levels",
        kind,
        before=_levels_dict(before),
        after=_levels_dict(after),
    )
    if before.accept_enabled and not accept_enabled:
        _finish_waiting(session, actor, kind)
    return after


def _levels_dict(levels: KindLevels) -> dict[str, Any]:
    return {
        "review_roles": levels.review_roles,
        "accept_enabled": levels.accept_enabled,
        "accept_roles": levels.accept_roles,
    }


def _finish_waiting(session: Session, actor: Actor, kind: str) -> None:
    """Reports that waited for a level no longer in force pass it: finally approved."""
    final = len(levels_of(session, kind))
    spec = spec_of(kind)
    waiting = session.scalars(
        select(WorkflowReport)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
        .where(
            WorkflowReport.kind == kind,
            WorkflowRevision.state == "submitted",
            WorkflowRevision.level >= final,
        )
        .order_by(WorkflowReport.office_id, WorkflowReport.id)
    ).all()
    for report in waiting:
        lock_office_work(session, report.office_id)
        session.refresh(report)
        _move(
            session,
            actor,
            spec,
            report,
            "approve",
            final,
            "the approval level it waited for was removed",
        )
