"""/help/news: OBEC's announcements (everyone reads what is meant for them; reviewers and admins
write them, with the days they are shown, typed in the reader's era)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import forms
from ..db import get_session
from ..errors import service_message
from ..models import AUDIENCES, NewsItem
from ..security import current_actor, require
from ..services import news as svc
from ..services.errors import ServiceError
from . import bp
from .home import manager, signed_in, today

FIELDS = ("title", "body", "audience", "publish_from", "publish_until")
LIMITS = {
    "title": svc.MAX_TITLE * 2,
    "body": svc.MAX_BODY * 2,
    "audience": 20,
    "publish_from": 20,
    "publish_until": 20,
    "pinned": 10,
}


def _typed() -> dict[str, Any]:
    form: dict[str, Any] = {k: request.form.get(k, "") for k in FIELDS}
    form["pinned"] = bool(request.form.get("pinned"))
    return form


def _read(form: dict[str, Any]) -> svc.NewsInput:
    forms.check_text(request.form, LIMITS, default_limit=100)
    return svc.NewsInput(
        title=form["title"],
        body=form["body"],
        audience=forms.one_of(form["audience"], "audience", AUDIENCES),
        publish_from=forms.day(form["publish_from"], "publish_from", required=True),
        publish_until=forms.day(form["publish_until"], "publish_until"),
        pinned=form["pinned"],
    )


def _form_of(item: NewsItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "body": item.body,
        "audience": item.audience,
        "publish_from": item.publish_from,
        "publish_until": item.publish_until,
        "pinned": item.pinned,
    }


def _edit_page(item: NewsItem | None, form: dict[str, Any], error: str | None = None) -> Any:
    return render_template(
        "help/news_edit.html", item=item, form=form, error=error, audiences=AUDIENCES
    )


@bp.get("/news")
def news_list() -> Any:
    is_manager = manager()
    return render_template(
        "help/news_list.html",
        items=svc.listing(get_session(), signed_in(), today(), manager=is_manager),
        manager=is_manager,
        today=today(),
        shown=lambda item: svc.is_shown(item, signed_in(), today()),
    )


@bp.get("/news/<int:news_id>")
def news_item(news_id: int) -> Any:
    is_manager = manager()
    item = svc.visible_or_404(get_session(), news_id, signed_in(), today(), manager=is_manager)
    return render_template(
        "help/news_item.html",
        item=item,
        manager=is_manager,
        shown=svc.is_shown(item, signed_in(), today()),
    )


@bp.get("/news/new")
@require("manage_help")
def news_new() -> Any:
    form = {"audience": "public", "publish_from": today(), "publish_until": None}
    return _edit_page(None, {**dict.fromkeys(FIELDS, ""), **form, "pinned": False})


@bp.post("/news/new")
@require("manage_help")
def news_create() -> Any:
    form = _typed()
    session = get_session()
    try:
        item = svc.create(session, current_actor(), _read(form))
    except ServiceError as err:
        session.rollback()
        return _edit_page(None, form, service_message(err)), err.status
    session.commit()
    flash(_("The news is saved."))
    return redirect(url_for("help.news_item", news_id=item.id))


@bp.get("/news/<int:news_id>/edit")
@require("manage_help")
def news_edit(news_id: int) -> Any:
    item = svc.get(get_session(), news_id)
    return _edit_page(item, _form_of(item))


@bp.post("/news/<int:news_id>/edit")
@require("manage_help")
def news_update(news_id: int) -> Any:
    session = get_session()
    item = svc.get(session, news_id)
    form = _typed()
    try:
        svc.update(session, current_actor(), item, _read(form))
    except ServiceError as err:
        session.rollback()
        return _edit_page(svc.get(session, news_id), form, service_message(err)), err.status
    session.commit()
    flash(_("The news is saved."))
    return redirect(url_for("help.news_item", news_id=news_id))
