"""Questions and answers: an office asks OBEC under a category, OBEC answers (and may change the
answer: each new wording is a version the asker is told about once), and OBEC publishes a
question with its answer to the public FAQ in a public wording, searchable by keyword.

Texts are plain lines (control characters dropped, line breaks kept): pages escape them line by
line, so no markup is ever stored or shown. The FAQ never names the office or the asker.
Search is a substring match of every word typed against the entry's normalised text (Thai is
written without spaces between words), served by a trigram index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..auth import can
from ..models import QUESTION_CATEGORIES, FaqEntry, Question
from ..refusal import N_
from . import notify
from .audit import Actor
from .audit import record as audit
from .errors import ServiceError
from .sanitize import clean_text
from .search import normalise

MAX_TITLE: Final = 200
MAX_BODY: Final = 4_000
MAX_ANSWER: Final = 8_000
MAX_QUERY: Final = 100
FAQ_PAGE: Final = 20
LIST_LIMIT: Final = 200


@dataclass(frozen=True)
class FaqPage:
    entries: list[FaqEntry]
    total: int
    page: int
    pages: int


def _text(value: str, limit: int, empty: str, too_long: str) -> str:
    # Refused when too long, never cut: the writer sees their whole text again.
    kept = clean_text(value.replace("\r\n", "\n").replace("\r", "\n"), max_length=limit + 1)
    if not kept:
        raise ServiceError(400, empty)
    if len(kept) > limit:
        raise ServiceError(400, too_long, n=limit)
    return kept


def _category(value: str) -> str:
    if value not in QUESTION_CATEGORIES:
        raise ServiceError(400, N_("Choose a category from the list."))
    return value


def is_obec(actor: Actor) -> bool:
    return can(actor.user, "answer_question")


def ask(session: Session, actor: Actor, category: str, title: str, body: str) -> Question:
    """An office user's new question, for their own office."""
    user = actor.user
    if user is None or user.office_id is None or not can(user, "ask_question", user.office_id):
        raise ServiceError(403, N_("Only an office's staff may ask a question here."))
    q = Question(
        office_id=user.office_id,
        asker_id=user.id,
        category=_category(category),
        title=_text(
            title,
            MAX_TITLE,
            N_("Write your question's subject."),
            N_("The subject is longer than %(n)s characters."),
        ).replace("\n", " "),
        body=_text(
            body,
            MAX_BODY,
            N_("Write your question."),
            N_("The question is longer than %(n)s characters."),
        ),
        status="open",
        answer="",
        answer_version=0,
    )
    session.add(q)
    session.flush()
    audit(
        session,
        actor,
        "question.ask",
        "question",
        q.id,
        after={"category": q.category, "title": q.title},
        office_id=q.office_id,
    )
    return q


def readable(session: Session, actor: Actor, question_id: int) -> Question:
    """The question if the reader may see it (OBEC, or its own office); otherwise 404."""
    q = session.get(Question, question_id)
    user = actor.user
    if q is None or user is None:
        raise ServiceError(404, N_("No such question."))
    if not is_obec(actor) and user.office_id != q.office_id:
        raise ServiceError(404, N_("No such question."))
    return q


def office_questions(session: Session, office_id: int) -> list[Question]:
    return list(
        session.scalars(
            select(Question)
            .where(Question.office_id == office_id)
            .order_by(Question.id.desc())
            .limit(LIST_LIMIT)
        )
    )


def queue(session: Session) -> tuple[list[Question], list[Question]]:
    """OBEC's desk: the open questions (oldest first) and the latest answered ones."""
    open_ = session.scalars(
        select(Question)
        .options(selectinload(Question.office))  # each row names its office
        .where(Question.status == "open")
        .order_by(Question.created_at, Question.id)
        .limit(LIST_LIMIT)
    ).all()
    answered = session.scalars(
        select(Question)
        .options(selectinload(Question.office))
        .where(Question.status == "answered")
        .order_by(Question.answered_at.desc(), Question.id.desc())
        .limit(50)
    ).all()
    return list(open_), list(answered)


def answer(session: Session, actor: Actor, question_id: int, text: str) -> tuple[Question, bool]:
    """OBEC answers or changes its answer; returns (question, changed). The asker is told once
    per answer version: the same wording saved again is no new version and no new message."""
    if not is_obec(actor):
        raise ServiceError(403, N_("Only OBEC answers questions."))
    q = session.get(Question, question_id, with_for_update=True)
    if q is None:
        raise ServiceError(404, N_("No such question."))
    new = _text(
        text,
        MAX_ANSWER,
        N_("Write the answer."),
        N_("The answer is longer than %(n)s characters."),
    )
    if new == q.answer:
        return q, False
    before = {"answer": q.answer, "version": q.answer_version}
    q.answer = new
    q.answer_version += 1
    q.status = "answered"
    q.answered_by_id = actor.user.id if actor.user is not None else None
    q.answered_at = actor.now
    session.flush()
    if q.asker_id is not None:
        notify.on_question_answered(
            session,
            q.asker_id,
            q.id,
            q.title,
            f"/help/questions/{q.id}",
            version=q.answer_version,
        )
    audit(
        session,
        actor,
        "question.answer",
        "question",
        q.id,
        before=before,
        after={"answer": q.answer, "version": q.answer_version},
        office_id=q.office_id,
    )
    return q, True


def faq_entry_of(session: Session, question_id: int) -> FaqEntry | None:
    return session.scalar(select(FaqEntry).where(FaqEntry.question_id == question_id))


def publish(
    session: Session,
    actor: Actor,
    question_id: int,
    category: str,
    question: str,
    answer_text: str,
) -> FaqEntry:
    """Publish (or re-word) an answered question in the FAQ, in OBEC's public wording."""
    if not is_obec(actor):
        raise ServiceError(403, N_("Only OBEC publishes to the FAQ."))
    q = session.get(Question, question_id, with_for_update=True)
    if q is None:
        raise ServiceError(404, N_("No such question."))
    if q.status != "answered":
        raise ServiceError(409, N_("Answer the question before publishing it."))
    wording = _text(
        question,
        MAX_BODY,
        N_("Write the question as the public will read it."),
        N_("The question is longer than %(n)s characters."),
    )
    reply = _text(
        answer_text,
        MAX_ANSWER,
        N_("Write the answer."),
        N_("The answer is longer than %(n)s characters."),
    )
    entry = faq_entry_of(session, q.id)
    before = None
    if entry is None:
        entry = FaqEntry(question_id=q.id)
        session.add(entry)
    else:
        before = {"category": entry.category, "question": entry.question, "answer": entry.answer}
    entry.category = _category(category)
    entry.question = wording
    entry.answer = reply
    entry.search_text = normalise(f"{wording}\n{reply}")
    entry.published_by_id = actor.user.id if actor.user is not None else None
    if before is None:
        entry.published_at = actor.now
    session.flush()
    audit(
        session,
        actor,
        "faq.publish",
        "faq_entry",
        entry.id,
        before=before,
        after={"category": entry.category, "question": wording, "answer": reply},
    )
    return entry


def faq(session: Session, query: str = "", category: str = "", page: int = 1) -> FaqPage:
    """Published entries, newest first, of one category or all, matching every word typed."""
    if len(query) > MAX_QUERY:
        raise ServiceError(400, N_("The search is longer than %(n)s characters."), n=MAX_QUERY)
    conditions = []
    if category:
        conditions.append(FaqEntry.category == _category(category))
    for word in normalise(query).split():
        conditions.append(FaqEntry.search_text.contains(word, autoescape=True))
    total = int(session.scalar(select(func.count()).select_from(FaqEntry).where(*conditions)) or 0)
    pages = max(1, -(-total // FAQ_PAGE))
    page = min(max(page, 1), pages)
    entries = session.scalars(
        select(FaqEntry)
        .where(*conditions)
        .order_by(FaqEntry.published_at.desc(), FaqEntry.id.desc())
        .offset((page - 1) * FAQ_PAGE)
        .limit(FAQ_PAGE)
    ).all()
    return FaqPage(list(entries), total, page, pages)


def withdraw(session: Session, actor: Actor, question_id: int) -> None:
    """Take a question's entry out of the public FAQ (the question and its answer stay)."""
    if not is_obec(actor):
        raise ServiceError(403, N_("Only OBEC publishes to the FAQ."))
    entry = session.scalar(
        select(FaqEntry).where(FaqEntry.question_id == question_id).with_for_update()
    )
    if entry is None:
        raise ServiceError(404, N_("This question is not in the FAQ."))
    before = {"category": entry.category, "question": entry.question, "answer": entry.answer}
    session.delete(entry)
    session.flush()
    audit(session, actor, "faq.withdraw", "faq_entry", entry.id, before=before)
