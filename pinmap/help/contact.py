"""/help/contact: how to reach OBEC's monitoring office and the four regions' help groups;
admins keep the details (until confirmed, the page says they are to be confirmed)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..security import current_actor, require
from ..services import contact as svc
from ..services.errors import ServiceError
from . import bp

FIELDS = ("office_name", "address", "phone", "email", "hours")


def _typed() -> svc.ContactDetails:
    groups = [
        {
            "region": request.form.get(f"region_{i}", ""),
            "url": request.form.get(f"group_url_{i}", ""),
        }
        for i in range(svc.GROUPS)
    ]
    return svc.ContactDetails(
        **{k: request.form.get(k, "") for k in FIELDS},
        groups=groups,
        confirmed=bool(request.form.get("confirmed")),
    )


def _edit_page(details: svc.ContactDetails, error: str | None = None) -> Any:
    groups = list(details.groups) + [{"region": "", "url": ""}] * svc.GROUPS
    return render_template(
        "help/contact_edit.html", form=details, groups=groups[: svc.GROUPS], error=error
    )


@bp.get("/contact")
def contact() -> Any:
    user = current_user if current_user.is_authenticated else None
    return render_template(
        "help/contact.html",
        contact=svc.current(get_session()),
        editor=can(user, "manage_contact"),
    )


@bp.get("/contact/edit")
@require("manage_contact")
def contact_edit() -> Any:
    return _edit_page(svc.current(get_session()))


@bp.post("/contact/edit")
@require("manage_contact")
def contact_save() -> Any:
    session = get_session()
    details = _typed()
    try:
        limits: dict[str, int] = {k: n * 2 for k, n in svc.LIMITS.items()}
        forms.check_text(request.form, limits, default_limit=4_000)
        svc.save(session, current_actor(), details)
    except ServiceError as err:
        session.rollback()
        return _edit_page(details, service_message(err)), err.status
    session.commit()
    flash(_("The contact details are saved."))
    return redirect(url_for("help.contact"))
