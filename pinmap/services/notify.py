"""Notifications: recording a message (inbox row + outbox deliveries) in the transaction of the
event that causes it, reading the inbox, preferences, and the admins' view of failed deliveries.

Recording is idempotent: a notification is unique per (kind, user, subject, occasion) and is
inserted with ON CONFLICT DO NOTHING, so the same event recorded twice (a retried request, two
schedulers, a restart) gives one message. Sending is not done here: the scheduler's delivery job
(ingest.notify_jobs) claims due outbox rows, so a failing SMTP server or webhook never blocks the
action that caused the message. Texts are kept as a kind's message id and its values, rendered
in the reader's language when shown or sent. Imports no Flask (the scheduler uses it too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..models import (
    NOTIFICATION_KINDS,
    NOTIFY_LANGUAGES,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    Office,
    PolicyItem,
    ReportingWindow,
    User,
    WorkflowEvent,
    WorkflowReport,
    WorkflowRevision,
)
from ..refusal import N_
from .audit import Actor
from .audit import record as audit
from .errors import ServiceError

BANGKOK: Final = dt.timezone(dt.timedelta(hours=7))
DIGEST_HOUR: Final = 7  # a daily digest leaves at 07:00 Bangkok time
MAX_LISTED: Final = 15  # missing items named in one reminder; the rest are counted
INBOX_PAGE: Final = 50

# kind -> (title, text); values come from the notification's params.
TEXTS: Final[dict[str, tuple[str, str]]] = {
    "report_returned": (
        N_("Report returned: %(title)s"),
        N_("Your report was returned for changes. Reviewer's comment: %(comment)s"),
    ),
    "report_approved": (
        N_("Report approved: %(title)s"),
        N_("Your report was approved and is now public."),
    ),
    "window_open": (
        N_("Reporting window open: %(title)s"),
        N_("You may send reports from %(opens)s to %(closes)s."),
    ),
    "window_closing": (
        N_("%(days)s days left: %(title)s"),
        N_("The window closes on %(closes)s. Still missing (%(count)s): %(missing)s"),
    ),
    "visit_planned": (
        N_("Coaching visit planned: %(title)s"),
        N_("A coaching visit is planned on %(date)s. %(agenda)s"),
    ),
    "feedback_published": (
        N_("Feedback published: %(title)s"),
        N_("Feedback for your office has been published."),
    ),
    "question_answered": (
        N_("Your question was answered: %(title)s"),
        N_("OBEC has answered your question."),
    ),
}
DIGEST_SUBJECT: Final = N_("Your messages from pinmap (%(count)s)")
DIGEST_INTRO: Final = N_("Your messages since the last digest:")
DIGEST_FOOTER: Final = N_("You get one e-mail a day: change this in your notification settings.")
KIND_LABELS: Final[dict[str, str]] = {
    "report_returned": N_("A report returned"),
    "report_approved": N_("A report approved"),
    "window_open": N_("A reporting window opening"),
    "window_closing": N_("Reminders before a window closes"),
    "visit_planned": N_("Coaching visits and invitations"),
    "feedback_published": N_("Feedback published"),
    "question_answered": N_("Answers to my questions"),
}


def render(n: Notification, gettext: Callable[[str], str], language: str = "th") -> tuple[str, str]:
    """The notification's title and text in the language of `gettext`. Values recorded in both
    languages ("title" and "title_en") are shown in the reader's `language`."""
    title, text = TEXTS[n.kind]
    params = n.params or {}
    values = {k: str(v) for k, v in params.items()}
    if language == "en":
        values.update({k[:-3]: str(v) for k, v in params.items() if k.endswith("_en") and v})

    def fill(msgid: str) -> str:
        try:
            return gettext(msgid) % values
        except (KeyError, ValueError, TypeError):  # a translation missing a value
            return msgid % values

    return fill(title), fill(text)


def render_mail(
    n: Notification, gettext: Callable[[str], str], language: str, base_url: str
) -> tuple[str, str]:
    """One message's e-mail: its title as the subject, its text and the page to open."""
    title, text = render(n, gettext, language)
    link = base_url + n.link if n.link else ""
    return title, f"{text}\n\n{link}\n" if link else f"{text}\n"


def render_digest(
    messages: Sequence[Notification], gettext: Callable[[str], str], language: str, base_url: str
) -> tuple[str, str]:
    """The daily digest: one e-mail listing every message (title, text, page), oldest first."""
    blocks = []
    for number, n in enumerate(messages, 1):
        title, text = render(n, gettext, language)
        lines = [f"{number}. {title}", f"   {text}"]
        if n.link:
            lines.append(f"   {base_url}{n.link}")
        blocks.append("\n".join(lines))
    subject = gettext(DIGEST_SUBJECT) % {"count": len(messages)}
    body = "\n\n".join([gettext(DIGEST_INTRO), *blocks, gettext(DIGEST_FOOTER)])
    return subject, body + "\n"


def _digest_time(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(BANGKOK)
    at = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if at <= local:
        at += dt.timedelta(days=1)
    return at


def record(
    session: Session,
    user_ids: Iterable[int],
    kind: str,
    subject: str,
    occasion: str,
    params: dict[str, Any],
    link: str = "",
    *,
    now: dt.datetime | None = None,
) -> int:
    """Record one message per user (once per occasion) with its deliveries; returns how many
    are new. Runs in the caller's transaction and never sends."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind}")
    users = sorted(set(user_ids))
    if not users:
        return 0
    now = now or dt.datetime.now(dt.UTC)
    rows = [
        {
            "user_id": uid,
            "kind": kind,
            "subject": subject[:120],
            "occasion": occasion[:80],
            "params": params,
            "link": link[:500],
        }
        for uid in users
    ]
    new = session.execute(
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_notifications_once")
        .returning(Notification.id, Notification.user_id)
    ).all()
    if not new:
        return 0
    prefs = {
        p.user_id: p
        for p in session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id.in_([uid for _, uid in new])
            )
        )
    }
    deliveries: list[dict[str, Any]] = []
    for nid, uid in new:
        pref = prefs.get(uid)
        if pref is None or kind not in (pref.email_off or []):
            # A digest's messages wait for the morning and leave together, in one e-mail.
            digest = pref is not None and pref.daily_digest
            due = _digest_time(now) if digest else now
            deliveries.append(
                {
                    "notification_id": nid,
                    "channel": "email",
                    "next_attempt_at": due,
                    "digest": digest,
                }
            )
        deliveries.append(
            {"notification_id": nid, "channel": "webhook", "next_attempt_at": now, "digest": False}
        )
    session.execute(
        insert(NotificationDelivery)
        .values([{**d, "status": "pending", "attempts": 0, "last_error": ""} for d in deliveries])
        .on_conflict_do_nothing(constraint="uq_notification_deliveries_once")
    )
    return len(new)


def office_users(session: Session, office_ids: Iterable[int]) -> list[int]:
    ids = list(set(office_ids))
    if not ids:
        return []
    return list(
        session.scalars(select(User.id).where(User.office_id.in_(ids), User.active.is_(True)))
    )


# --- events ------------------------------------------------------------------------------------


# A report is named the way the office's pages name it, never by its internal subject key.
# Titles are recorded in Thai ("title") and English ("title_en"); render() picks the reader's.
KIND_NAMES = {
    "progress": ("รายงานความก้าวหน้า", "Progress report"),
    "quarterly_project": ("รายงานโครงการรายไตรมาส", "Quarterly project report"),
    "operating_plan": ("แผนปฏิบัติการ", "Operating plan"),
    "profile": ("ข้อมูลสำนักงาน", "Office profile"),
    "best_practice": ("แนวปฏิบัติที่ดี", "Best practice"),
}
KIND_NAMES_TH = {kind: names[0] for kind, names in KIND_NAMES.items()}


def report_titles(session: Session, report: WorkflowReport) -> tuple[str, str]:
    """A workflow report in words, in Thai and in English: its kind, what it is about, its
    period and fiscal year (Buddhist Era in both: the year's own name at OBEC)."""
    th, en = KIND_NAMES.get(report.kind, ("รายงาน", "Report"))
    parts_th, parts_en = [th], [en]
    data = report.current.data if report.current is not None else {}
    if report.kind == "progress" and report.subject_id is not None:
        item = session.get(PolicyItem, report.subject_id)
        if item is not None:
            parts_th.append(f"ข้อ {item.no}")
            parts_en.append(f"item {item.no}")
        if report.period:
            parts_th.append(f"รอบที่ {report.period}")
            parts_en.append(f"round {report.period}")
    elif report.kind == "quarterly_project":
        if report.period:
            parts_th.append(f"ไตรมาสที่ {report.period}")
            parts_en.append(f"quarter {report.period}")
    elif report.kind == "best_practice" and data.get("title"):
        quoted = f"“{str(data['title'])[:80]}”"
        parts_th.append(quoted)
        parts_en.append(quoted)
    if report.fiscal_year:
        parts_th.append(f"ปีงบประมาณ {report.fiscal_year}")
        parts_en.append(f"fiscal year {report.fiscal_year}")
    return " ".join(parts_th), " ".join(parts_en)


def report_title(session: Session, report: WorkflowReport) -> str:
    return report_titles(session, report)[0]


def report_link(session: Session, report: WorkflowReport) -> str:
    """The portal page where the office opens this report (the same addresses as the portal's
    blueprints: progress.ENTRY, projects.QUARTER, operating_plan.PLAN, profile.PROFILE,
    best_practices.ONE); an unknown kind opens the office's year page."""
    office = session.get(Office, report.office_id)
    if office is None:
        return "/portal/"
    base = f"/portal/offices/{office.code}"
    if report.kind == "progress" and report.subject_id is not None and report.period:
        item = session.get(PolicyItem, report.subject_id)
        if item is not None:
            return f"{base}/entries/{item.fiscal_year}/{report.period}/{item.kind}/{item.no}"
    elif report.kind == "quarterly_project" and report.subject_id is not None and report.period:
        return f"{base}/projects/{report.subject_id}/quarters/{report.period}"
    elif report.kind == "operating_plan" and report.fiscal_year:
        return f"{base}/plan/{report.fiscal_year}"
    elif report.kind == "profile":
        return f"{base}/profile"
    elif report.kind == "best_practice" and report.subject_id is not None:
        return f"{base}/best-practices/{report.subject_id}"
    return base


def on_workflow_event(session: Session, report: WorkflowReport, action: str, comment: str) -> int:
    """Called by the workflow engine after a move: a return (or an un-approval back to the
    office) and a final approval notify the office's staff."""
    rev = report.current
    if rev is None:
        return 0
    if rev.state == "returned":
        kind = "report_returned"
    elif action == "approve" and rev.state == "approved":
        kind = "report_approved"
    else:
        return 0
    # The trail row of this move makes the occasion: each return is its own message.
    event_id = session.scalar(
        select(func.max(WorkflowEvent.id)).where(WorkflowEvent.revision_id == rev.id)
    )
    title, title_en = report_titles(session, report)
    return record(
        session,
        office_users(session, [report.office_id]),
        kind,
        f"report:{report.id}",
        f"{action}:{event_id}",
        {"title": title, "title_en": title_en, "comment": comment},
        report_link(session, report),
    )


def on_visit_planned(
    session: Session,
    office_ids: Sequence[int],
    plan_id: int,
    title: str,
    date: str,
    agenda: str,
    link: str = "/portal/",
) -> int:
    """A coaching visit plan published: its host and invited offices are told (once per plan
    and date: a new date is a new message). `link` is the page the office opens (the caller's)."""
    return record(
        session,
        office_users(session, office_ids),
        "visit_planned",
        f"visit-plan:{plan_id}",
        f"date:{date}",
        {"title": title, "date": date, "agenda": agenda[:500]},
        link,
    )


def on_feedback_published(
    session: Session, office_id: int, subject: str, title: str, link: str = "/portal/"
) -> int:
    return record(
        session,
        office_users(session, [office_id]),
        "feedback_published",
        subject,
        "published",
        {"title": title},
        link,
    )


def on_question_answered(
    session: Session,
    asker_id: int,
    question_id: int,
    title: str,
    link: str = "",
    version: int = 1,
) -> int:
    """For the Q&A: the person who asked is told, once per answer version (an edit that
    changes the answer is a new version and a new message; the same version twice is one)."""
    return record(
        session,
        [asker_id],
        "question_answered",
        f"question:{question_id}",
        f"answer:{version}",
        {"title": title},
        link or f"/help/questions/{question_id}",
    )


def _window_title(w: ReportingWindow) -> str:
    return w.label_th or w.label_en


def missing_items(session: Session, window: ReportingWindow) -> dict[int, list[str]]:
    """Office id -> numbers of the items of the window's round it has not sent yet."""
    # Items asked in the round (empty `rounds`: every round), not retired, not a parent of
    # sub-items (those are reported item by item).
    parents = select(PolicyItem.parent_id).where(PolicyItem.parent_id.is_not(None))
    items = [
        (i.id, i.no)
        for i in session.scalars(
            select(PolicyItem)
            .where(PolicyItem.fiscal_year == window.fiscal_year, PolicyItem.id.not_in(parents))
            .order_by(PolicyItem.id)
        )
        if i.asked_in(window.round_no)
    ]
    if not items:
        return {}
    sent = set(
        session.execute(
            select(WorkflowReport.office_id, WorkflowReport.subject_id)
            .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
            .where(
                WorkflowReport.kind == "progress",
                WorkflowReport.fiscal_year == window.fiscal_year,
                WorkflowReport.period == window.round_no,
                WorkflowRevision.state.in_(("submitted", "approved")),
            )
        ).all()
    )
    offices = session.scalars(
        select(User.office_id).where(User.office_id.is_not(None), User.active.is_(True)).distinct()
    ).all()
    out: dict[int, list[str]] = {}
    for office_id in offices:
        if office_id is None:
            continue
        gone = [str(no) for iid, no in items if (office_id, iid) not in sent]
        if gone:
            out[office_id] = gone
    return out


def remind_windows(session: Session, today: dt.date, days_before: Sequence[int]) -> int:
    """Record the window-opening messages and the N-days-before reminders due `today`
    (Bangkok). Safe to run any number of times: each occasion is recorded once."""
    made = 0
    windows = session.scalars(
        select(ReportingWindow).where(
            ReportingWindow.opens_on <= today, ReportingWindow.closes_on >= today
        )
    ).all()
    for w in windows:
        params = {
            "title": _window_title(w),
            "title_en": w.label_en or w.label_th,
            "opens": w.opens_on.isoformat(),
            "closes": w.closes_on.isoformat(),
        }
        all_offices = session.scalars(
            select(User.office_id).where(User.office_id.is_not(None)).distinct()
        ).all()
        made += record(
            session,
            office_users(session, [o for o in all_offices if o is not None]),
            "window_open",
            f"window:{w.id}",
            "open",
            params,
            "/portal/",
        )
        left = (w.closes_on - today).days
        due = [d for d in days_before if d >= left]
        if not due:
            continue
        # The smallest N already reached: a scheduler down for days sends one, not a burst.
        n = min(due)
        missing_by_office = missing_items(session, w)
        codes = dict(
            session.execute(
                select(Office.id, Office.code).where(Office.id.in_(list(missing_by_office)))
            ).all()
        )
        for office_id, missing in missing_by_office.items():
            listed = ", ".join(missing[:MAX_LISTED]) + ("…" if len(missing) > MAX_LISTED else "")
            made += record(
                session,
                office_users(session, [office_id]),
                "window_closing",
                f"window:{w.id}",
                f"closes-in:{n}",
                {**params, "days": left, "count": len(missing), "missing": listed},
                # The office's year page, where the missing items are listed and opened.
                f"/portal/offices/{codes[office_id]}" if office_id in codes else "/portal/",
            )
    return made


# --- the inbox ---------------------------------------------------------------------------------


def unread_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def inbox(session: Session, user_id: int, limit: int = INBOX_PAGE) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, actor: Actor, notification_id: int | None) -> int:
    """Mark one of the user's messages (or all, with None) read; another user's id is a 404."""
    assert actor.user is not None  # noqa: S101 (the views require a signed-in user)
    user_id = actor.user.id
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        owned = session.scalar(
            select(Notification.id).where(
                Notification.id == notification_id, Notification.user_id == user_id
            )
        )
        if owned is None:
            raise ServiceError(404, N_("No such message."))
        query = query.where(Notification.id == notification_id)
    count = len(session.execute(query.values(read_at=actor.now).returning(Notification.id)).all())
    audit(
        session,
        actor,
        "notification.read",
        "notification",
        notification_id if notification_id is not None else "all",
        after={"count": count},
    )
    return count


# --- preferences -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    email_off: frozenset[str]
    daily_digest: bool
    language: str = "th"  # of e-mails and webhook texts; Thai unless the user chose English


def preferences(session: Session, user_id: int) -> Preferences:
    pref = session.get(NotificationPreference, user_id)
    if pref is None:
        return Preferences(frozenset(), False)
    return Preferences(frozenset(pref.email_off or []), pref.daily_digest, pref.language or "th")


def save_preferences(
    session: Session,
    actor: Actor,
    email_on: Iterable[str],
    daily_digest: bool,
    language: str | None = None,
) -> Preferences:
    """Save the user's choices; `language` None keeps the one saved before."""
    assert actor.user is not None  # noqa: S101 (the views require a signed-in user)
    user_id = actor.user.id
    before = preferences(session, user_id)
    chosen = set(email_on)
    unknown = chosen - set(NOTIFICATION_KINDS)
    if unknown:
        raise ServiceError(400, N_("Choose among the kinds of message listed."))
    language = before.language if language is None else language
    if language not in NOTIFY_LANGUAGES:
        raise ServiceError(400, N_("Choose Thai or English for your e-mails."))
    off = sorted(set(NOTIFICATION_KINDS) - chosen)
    values = {"email_off": off, "daily_digest": daily_digest, "language": language}
    session.execute(
        insert(NotificationPreference)
        .values(user_id=user_id, **values)
        .on_conflict_do_update(index_elements=["user_id"], set_=values)
    )
    audit(
        session,
        actor,
        "notification.preferences",
        "user",
        user_id,
        before={
            "email_off": sorted(before.email_off),
            "daily_digest": before.daily_digest,
            "language": before.language,
        },
        after=values,
    )
    return Preferences(frozenset(off), daily_digest, language)


# --- the admins' view --------------------------------------------------------------------------


def troubled_deliveries(
    session: Session, limit: int = 200
) -> list[tuple[NotificationDelivery, Notification, User]]:
    """Failed deliveries and pending ones that already failed once, newest first."""
    rows = session.execute(
        select(NotificationDelivery, Notification, User)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .join(User, User.id == Notification.user_id)
        .where(
            (NotificationDelivery.status == "failed")
            | ((NotificationDelivery.status == "pending") & (NotificationDelivery.attempts > 0))
        )
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    ).all()
    return [(d, n, u) for d, n, u in rows]


def retry_delivery(session: Session, actor: Actor, delivery_id: int) -> NotificationDelivery:
    """An admin sends a failed delivery again at the next delivery run."""
    d = session.get(NotificationDelivery, delivery_id, with_for_update=True)
    if d is None:
        raise ServiceError(404, N_("No such delivery."))
    if d.status not in ("failed", "pending"):
        raise ServiceError(409, N_("This message was already delivered."))
    before = {"status": d.status, "attempts": d.attempts, "error": d.last_error}
    d.status = "pending"
    d.next_attempt_at = actor.now
    session.flush()
    audit(
        session,
        actor,
        "notification_delivery.retry",
        "notification_delivery",
        d.id,
        before=before,
        after={"status": "pending"},
    )
    return d


def office_name(session: Session, office_id: int | None) -> str:
    if office_id is None:
        return ""
    office = session.get(Office, office_id)
    return office.name_th if office is not None else ""
