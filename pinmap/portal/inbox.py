"""/portal/inbox: a user's messages (reports returned or approved, reminders, visits, answers),
marking them read, and /portal/inbox/settings (e-mail per kind, daily digest, the e-mails'
language). The header's
unread count comes from the context processor here: one indexed count per page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..db import get_session
from ..errors import service_message
from ..mail import MailSettings
from ..models import NOTIFICATION_KINDS
from ..security import current_actor, require
from ..services import notify
from ..services.errors import ServiceError
from . import bp

BANGKOK = dt.timezone(dt.timedelta(hours=7))


@bp.app_context_processor
def _unread() -> dict[str, Any]:
    def unread_messages() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return notify.unread_count(get_session(), current_user.id)
        except SQLAlchemyError:
            # An error page drawn after the database failed must not fail again on the header.
            return 0

    return {"unread_messages": unread_messages}


def _page(error: str | None = None, status: int = 200) -> Any:
    session = get_session()
    language = str(get_locale() or "th")
    rows = [
        (n, *notify.render(n, _, language), n.created_at.astimezone(BANGKOK))
        for n in notify.inbox(session, current_user.id)
    ]
    return (
        render_template(
            "portal/inbox.html",
            rows=rows,
            unread=sum(1 for n, *_rest in rows if n.read_at is None),
            mail_on=MailSettings.from_config(current_app.config) is not None,
            error=error,
        ),
        status,
    )


@bp.get("/inbox")
@require("view_portal")
def inbox() -> Any:
    return _page()


@bp.post("/inbox/<int:notification_id>/read")
@require("view_portal")
def inbox_read(notification_id: int) -> Any:
    session = get_session()
    try:
        notify.mark_read(session, current_actor(), notification_id)
    except ServiceError as err:
        session.rollback()
        return _page(error=service_message(err), status=err.status)
    session.commit()
    return redirect(url_for("portal.inbox"))


@bp.post("/inbox/read-all")
@require("view_portal")
def inbox_read_all() -> Any:
    session = get_session()
    count = notify.mark_read(session, current_actor(), None)
    session.commit()
    flash(_("%(n)s messages marked read.", n=count))
    return redirect(url_for("portal.inbox"))


LANGUAGE_LABELS = {"th": "ภาษาไทย", "en": "English"}  # each in its own language


def _settings_page(
    error: str | None = None, status: int = 200, typed: notify.Preferences | None = None
) -> Any:
    # A refused form is drawn again with what was chosen, not with what is saved.
    prefs = typed or notify.preferences(get_session(), current_user.id)
    kinds = [(k, _(notify.KIND_LABELS[k]), k not in prefs.email_off) for k in NOTIFICATION_KINDS]
    return (
        render_template(
            "portal/inbox_settings.html",
            kinds=kinds,
            digest=prefs.daily_digest,
            language=prefs.language,
            languages=LANGUAGE_LABELS,
            mail_on=MailSettings.from_config(current_app.config) is not None,
            error=error,
        ),
        status,
    )


@bp.get("/inbox/settings")
@require("view_portal")
def inbox_settings() -> Any:
    return _settings_page()


@bp.post("/inbox/settings")
@require("view_portal")
def inbox_settings_save() -> Any:
    session = get_session()
    chosen = request.form.getlist("email")[: len(NOTIFICATION_KINDS) + 1]
    digest = request.form.get("digest") == "on"
    language = request.form.get("language", "th")[:10]
    try:
        notify.save_preferences(session, current_actor(), chosen, digest, language)
    except ServiceError as err:
        session.rollback()
        typed = notify.Preferences(
            frozenset(set(NOTIFICATION_KINDS) - set(chosen)), digest, language
        )
        return _settings_page(error=service_message(err), status=err.status, typed=typed)
    session.commit()
    flash(_("Your notification settings are saved."))
    return redirect(url_for("portal.inbox_settings"))
