"""/admin/outbox: messages the scheduler could not deliver (e-mail, webhook), with their
errors and attempts, and a button to send one again at the next delivery run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..db import get_session
from ..errors import service_message
from ..security import current_actor, require
from ..services import notify
from ..services.errors import ServiceError
from . import bp

BANGKOK = dt.timezone(dt.timedelta(hours=7))


def _page(error: str | None = None, status: int = 200) -> Any:
    rows = [
        (d, n, u, notify.render(n, _)[0], d.next_attempt_at.astimezone(BANGKOK))
        for d, n, u in notify.troubled_deliveries(get_session())
    ]
    return render_template("admin/outbox.html", rows=rows, error=error), status


@bp.get("/outbox")
@require("manage_users")
def outbox() -> Any:
    return _page()


@bp.post("/outbox/<int:delivery_id>/retry")
@require("manage_users")
def outbox_retry(delivery_id: int) -> Any:
    session = get_session()
    try:
        notify.retry_delivery(session, current_actor(), delivery_id)
    except ServiceError as err:
        session.rollback()
        return _page(error=service_message(err), status=err.status)
    session.commit()
    flash(_("The message will be sent again within a minute."))
    return redirect(url_for("admin.outbox"))
