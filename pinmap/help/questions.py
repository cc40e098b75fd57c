"""/help/questions (an office's questions and the form to ask one; OBEC's queue of open
questions), /help/questions/<id> (the question, its answer, OBEC's answer and FAQ forms) and
the public FAQ, /help/faq (by category, searched by keyword, paged)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..models import QUESTION_CATEGORIES, Question
from ..security import current_actor, require
from ..services import questions as svc
from ..services.errors import ServiceError
from . import bp

BANGKOK = dt.timezone(dt.timedelta(hours=7))
# A field longer than this is refused by the service (which says so); a request far longer
# is cut here so no megabytes reach it. The refusal still shows the typed start of it.
FORM_CAP = 2 * svc.MAX_ANSWER


def _form(name: str) -> str:
    return request.form.get(name, "")[:FORM_CAP]


def categories() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in QUESTION_CATEGORIES.items()]


def local(at: dt.datetime | None) -> dt.datetime | None:
    return at.astimezone(BANGKOK) if at is not None else None


def _list_page(
    error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Any:
    session = get_session()
    actor = current_actor()
    if svc.is_obec(actor):
        open_, answered = svc.queue(session)
        return (
            render_template(
                "help/questions_queue.html",
                open_questions=open_,
                answered=answered,
                labels=dict(categories()),
                local=local,
            ),
            status,
        )
    if current_user.office_id is None or not can(
        current_user, "ask_question", current_user.office_id
    ):
        abort(403, description=_("This page is for office staff and OBEC."))
    return (
        render_template(
            "help/questions.html",
            questions=svc.office_questions(session, current_user.office_id),
            categories=categories(),
            labels=dict(categories()),
            typed=typed or {},
            limits={"title": svc.MAX_TITLE, "body": svc.MAX_BODY},
            error=error,
            local=local,
        ),
        status,
    )


@bp.get("/questions")
@require("view_portal")
def questions() -> Any:
    return _list_page()


@bp.post("/questions")
@require("ask_question")
def ask() -> Any:
    session = get_session()
    typed = {k: _form(k) for k in ("category", "title", "body")}
    try:
        q = svc.ask(session, current_actor(), typed["category"], typed["title"], typed["body"])
    except ServiceError as err:
        session.rollback()
        return _list_page(service_message(err), err.status, typed)
    session.commit()
    flash(_("Your question is sent to OBEC. You will be told when it is answered."))
    return redirect(url_for("help.question", question_id=q.id))


def _question_page(
    q: Question,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Any:
    session = get_session()
    entry = svc.faq_entry_of(session, q.id)
    obec = svc.is_obec(current_actor())
    typed = typed or {}
    return (
        render_template(
            "help/questions_one.html",
            q=q,
            obec=obec,
            entry=entry,
            labels=dict(categories()),
            categories=categories(),
            typed=typed,
            # The public wording starts from the question and answer as they are.
            faq_question=typed.get("faq_question", entry.question if entry else q.body),
            faq_answer=typed.get("faq_answer", entry.answer if entry else q.answer),
            faq_category=typed.get("faq_category", entry.category if entry else q.category),
            answer_text=typed.get("answer", q.answer),
            limits={"answer": svc.MAX_ANSWER, "body": svc.MAX_BODY},
            error=error,
            local=local,
        ),
        status,
    )


def _readable(question_id: int) -> Question:
    try:
        return svc.readable(get_session(), current_actor(), question_id)
    except ServiceError as err:
        abort(err.status, description=service_message(err))


@bp.get("/questions/<int:question_id>")
@require("view_portal")
def question(question_id: int) -> Any:
    return _question_page(_readable(question_id))


@bp.post("/questions/<int:question_id>/answer")
@require("answer_question")
def answer(question_id: int) -> Any:
    session = get_session()
    q = _readable(question_id)
    typed = {"answer": _form("answer")}
    try:
        _q, changed = svc.answer(session, current_actor(), q.id, typed["answer"])
    except ServiceError as err:
        session.rollback()
        return _question_page(_readable(question_id), service_message(err), err.status, typed)
    session.commit()
    if changed:
        flash(_("The answer is saved and the person who asked is told."))
    else:
        flash(_("The answer is unchanged: nobody is told again."))
    return redirect(url_for("help.question", question_id=question_id))


@bp.post("/questions/<int:question_id>/faq")
@require("answer_question")
def publish(question_id: int) -> Any:
    session = get_session()
    q = _readable(question_id)
    typed = {k: _form(k) for k in ("faq_category", "faq_question", "faq_answer")}
    try:
        svc.publish(
            session,
            current_actor(),
            q.id,
            typed["faq_category"],
            typed["faq_question"],
            typed["faq_answer"],
        )
    except ServiceError as err:
        session.rollback()
        return _question_page(_readable(question_id), service_message(err), err.status, typed)
    session.commit()
    flash(_("Published in the FAQ."))
    return redirect(url_for("help.question", question_id=question_id))


@bp.post("/questions/<int:question_id>/faq/withdraw")
@require("answer_question")
def withdraw(question_id: int) -> Any:
    session = get_session()
    q = _readable(question_id)
    try:
        svc.withdraw(session, current_actor(), q.id)
    except ServiceError as err:
        session.rollback()
        return _question_page(_readable(question_id), service_message(err), err.status)
    session.commit()
    flash(_("Taken out of the FAQ."))
    return redirect(url_for("help.question", question_id=question_id))


@bp.get("/faq")
def faq() -> Any:
    query = request.args.get("q", "")
    category = request.args.get("category", "")
    try:
        page_no = int(request.args.get("page", "1"))
    except ValueError:
        page_no = 1
    status, error = 200, None
    try:
        result = svc.faq(get_session(), query, category, page_no)
    except ServiceError as err:
        status, error = err.status, service_message(err)
        result = svc.faq(get_session())
    return (
        render_template(
            "help/faq.html",
            result=result,
            query=query[: svc.MAX_QUERY * 2],
            category=category if category in QUESTION_CATEGORIES else "",
            categories=categories(),
            labels=dict(categories()),
            error=error,
        ),
        status,
    )
