"""An office's school list and teacher/student/staff counts, staged in its profile draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..models import Office
from ..security import current_actor, require
from ..services import profiles as profile_svc
from ..services import schools as svc
from ..services.errors import N_, ServiceError
from ..services.profile_revisions import ProfileRevision
from . import bp
from .common import file_field, problems, readable_office

SCHOOLS = "/offices/<code>/schools"
# Longest value each form field may hold; refused with the limit named, never cut.
COUNT_LIMITS = {"as_of": 10, **dict.fromkeys(svc.STAT_FIELDS, 20)}


def read_table_upload(name: str) -> tuple[str, bytes]:
    """An uploaded table's name and bytes, read one byte past the limit the import checks."""
    upload = file_field(name)
    if upload is None:
        raise ServiceError(400, N_("Choose a file to upload."))
    filename = forms.file_name(upload.filename or "upload")
    return filename, upload.stream.read(svc.MAX_TABLE_BYTES + 1)


def _count_form(
    typed: dict[str, Any] | None, current: ProfileRevision | None, stats: Any
) -> dict[str, Any]:
    """What was typed, else the counts the profile revision holds, else the public ones."""
    keys = ("as_of", *svc.STAT_FIELDS)
    if typed:
        return {k: typed.get(k, "") for k in keys}
    counts = (current.data or {}).get("counts") if current else None
    if counts:
        return {k: "" if counts.get(k) is None else counts[k] for k in keys}
    if stats is not None:
        return {
            "as_of": stats.as_of.isoformat(),
            **{k: "" if getattr(stats, k) is None else getattr(stats, k) for k in svc.STAT_FIELDS},
        }
    return dict.fromkeys(keys, "")


def _schools_page(
    office: Office,
    error: str | None = None,
    status: int = 200,
    found: list[dict[str, Any]] | None = None,
    typed: dict[str, Any] | None = None,
) -> Any:
    session = get_session()
    current = profile_svc.current_revision(session, office.id)
    stats = svc.latest_stats(session, office.id)
    may_edit = can(current_user, "edit_profile", office.id) and (
        current is None or current.state != "submitted"
    )
    return render_template(
        "portal/schools.html",
        office=office,
        error=error,
        problems=found or [],
        typed=typed or {},
        schools=svc.schools_of(session, office.id),
        current=current,
        staged=svc.staged(session, current),
        count_form=_count_form(typed, current, stats),
        stats=stats,
        columns=svc.SCHOOL_COLUMNS,
        can_import=may_edit,
        can_edit=may_edit,
    ), status


@bp.get(SCHOOLS)
@require("view_portal")
def schools(code: str) -> Any:
    """The school list and counts: staged in the profile revision, public once it is approved."""
    return _schools_page(readable_office(code))


def _press(
    button: str, code: str, write: Callable[[Office, dict[str, Any], int | None], str]
) -> Any:
    session = get_session()
    office = readable_office(code)
    typed = request.form.to_dict()
    try:
        forms.same_button(button)
        forms.check_text(request.form, COUNT_LIMITS, default_limit=200)
        message = write(office, typed, request.form.get("version", type=int))
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _schools_page(office, service_message(err), err.status, problems(err), typed)
    flash(message)
    return redirect(url_for("portal.schools", code=office.code))


@bp.post(SCHOOLS + "/import")
@require("view_portal")
def import_schools(code: str) -> Any:
    def write(office: Office, typed: dict[str, Any], version: int | None) -> str:
        filename, data = read_table_upload("file")
        _rev, diff = svc.stage_schools(
            get_session(), current_actor(), office, filename, data, version
        )
        return _(
            "%(file)s checked: %(count)s schools (%(added)s added, %(removed)s "
            "removed, %(changed)s changed). They become public when the profile "
            "is approved.",
            file=filename,
            count=diff.count,
            added=diff.added,
            removed=diff.removed,
            changed=diff.changed,
        )

    return _press("import", code, write)


@bp.post(SCHOOLS + "/counts")
@require("view_portal")
def save_counts(code: str) -> Any:
    def write(office: Office, typed: dict[str, Any], version: int | None) -> str:
        as_of = forms.day(typed.get("as_of"), "as_of", required=True)
        for key in svc.STAT_FIELDS:
            forms.whole(typed.get(key, "").replace(",", ""), key, 0, forms.INTEGER[1])
        svc.stage_counts(get_session(), current_actor(), office, as_of.isoformat(), typed, version)
        return _(
            "Counts saved in the profile draft. They become public when the profile is approved."
        )

    return _press("stats", code, write)
