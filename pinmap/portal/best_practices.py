"""An office's best practices: its list, the edit form and each of its buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .. import forms
from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..fiscal import to_bangkok
from ..models import Office
from ..public.best_practices import choices
from ..public.photos import photo_url
from ..security import current_actor, require
from ..services import best_practices as svc
from ..services import photos as photo_svc
from ..services.best_practices import Practice
from ..services.errors import N_, ServiceError
from ..services.progress import shown_fiscal_year
from ..services.review import ensure_can
from ..services.uploads import UploadRejected, clean_upload, store
from . import bp
from .common import clean_photo, file_field, readable_office, upload_dir

# Longest value each form field may hold; refused with the limit named, never cut. The
# service checks its own fields again; these also cover what it would cut or choke on.
BP_LIMITS = {
    "title": 300,
    "owner": 300,
    "file_title": 300,
    "fiscal_year": 10,
    **dict.fromkeys(svc.RICH_FIELDS, svc.MAX_RICH),
}
LIST = "/offices/<code>/best-practices"
NEW = LIST + "/new"
ONE = LIST + "/<int:bp_id>"


def _of_office(office: Office, bp_id: int | None) -> Practice | None:
    found = svc.bp_or_404(get_session(), bp_id) if bp_id is not None else None
    if found is not None and found.office_id != office.id:
        raise ServiceError(404, N_("No such best practice."))
    return found


def _bp_form(found: Practice | None) -> dict[str, Any]:
    if found is None:
        today = current_actor().today_bangkok
        return {
            "fiscal_year": shown_fiscal_year(get_session(), today),
            "dimensions": [],
            "item_ids": [],
        }
    return {**svc.bp_dict(get_session(), found), "item_ids": svc.item_ids(get_session(), found)}


def _bp_typed() -> dict[str, Any]:
    typed: dict[str, Any] = request.form.to_dict()
    typed["dimensions"] = request.form.getlist("dimensions")
    typed["item_ids"] = [
        int(i)
        for i in request.form.getlist("item_ids")
        if i.isascii() and i.isdigit() and len(i) < 10
    ]
    return typed


def _check_bp_form() -> None:
    forms.check_text(request.form, BP_LIMITS, default_limit=300)
    forms.whole(request.form.get("fiscal_year"), "fiscal_year", *forms.FISCAL_YEARS)
    for raw in request.form.getlist("item_ids"):
        forms.whole(raw, "item_ids", 1, forms.INTEGER[1])


@bp.get(LIST)
@require("view_portal")
def best_practice_list(code: str) -> Any:
    office = readable_office(code)
    return render_template(
        "portal/best_practice_list.html",
        office=office,
        practices=svc.of_office(get_session(), office.id, approved_only=False),
        can_edit=can(current_user, "edit_profile", office.id),
    )


def _edit_page(
    office: Office,
    found: Practice | None,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> Any:
    form = typed if typed is not None else _bp_form(found)
    return render_template(
        "portal/best_practice_edit.html",
        office=office,
        bp=found,
        form=form,
        error=error,
        rich_fields=svc.RICH_FIELDS,
        photo_url=photo_url,
        **choices(form.get("fiscal_year")),
        can_edit=can(current_user, "edit_profile", office.id),
        can_submit=can(current_user, "submit_profile", office.id),
    ), status


@bp.get(NEW, defaults={"bp_id": None})
@bp.get(ONE)
@require("view_portal")
def best_practice_edit(code: str, bp_id: int | None) -> Any:
    office = readable_office(code)
    return _edit_page(office, _of_office(office, bp_id))


Write = Callable[[Office, Practice | None, int | None], Practice]


def _press(button: str, code: str, bp_id: int | None, write: Write) -> Any:
    """One button of the form: check, write, commit once; else the form again as typed."""
    session = get_session()
    office = readable_office(code)
    found = _of_office(office, bp_id)
    typed = _bp_typed() if button in ("save", "submit") or "title" in request.form else None
    try:
        forms.same_button(button)
        _check_bp_form()
        found = write(office, found, request.form.get("version", type=int))
        session.commit()
    except ServiceError as err:
        session.rollback()
        found = svc.bp_or_404(get_session(), bp_id) if bp_id is not None else None
        return _edit_page(office, found, service_message(err), err.status, typed)
    flash(_("Submitted for review.") if button == "submit" else _("Saved."))
    return redirect(url_for("portal.best_practice_edit", code=office.code, bp_id=found.id))


def _save(office: Office, found: Practice | None, version: int | None) -> Practice:
    return svc.save(get_session(), current_actor(), office, found, _bp_typed(), version)


def _submit(office: Office, found: Practice | None, version: int | None) -> Practice:
    saved = _save(office, found, version)
    svc.submit(get_session(), current_actor(), saved, saved.version)
    return saved


@bp.post(NEW, defaults={"bp_id": None})
@bp.post(ONE)
@require("view_portal")
def save_best_practice(code: str, bp_id: int | None) -> Any:
    return _press("save", code, bp_id, _save)


@bp.post(NEW + "/submit", defaults={"bp_id": None})
@bp.post(ONE + "/submit")
@require("view_portal")
def submit_best_practice(code: str, bp_id: int | None) -> Any:
    """Save what was typed, then certify and submit it for review."""
    return _press("submit", code, bp_id, _submit)


def _attachment_from_request() -> dict[str, Any]:
    upload = file_field("file")
    if upload is None:
        raise ServiceError(400, N_("Choose a file to upload."))
    forms.file_name(upload.filename or "")
    try:
        clean = clean_upload(
            upload.stream, upload.filename, max_bytes=current_app.config["PINMAP_MAX_UPLOAD_BYTES"]
        )
    except UploadRejected as exc:
        raise ServiceError(
            400,
            N_("%(field)s (%(file)s): %(reason)s"),
            field=_("Attachment"),
            file=upload.filename or "",
            reason=_(exc.message_en),
        ) from exc
    return {
        "stored_name": store(upload_dir(), clean, get_session()),
        "original_name": upload.filename or "",
        "title": request.form.get("file_title", ""),
        "mime": clean.mime,
        "size_bytes": len(clean.data),
        "sha256": clean.sha256,
    }


def _with_text(office: Office, found: Practice, version: int | None) -> tuple[Practice, int | None]:
    """Save the text typed beside a file button first (the page posts the whole form), so
    adding or removing a file never discards it; the same transaction as the file's change."""
    if "title" not in request.form:
        return found, version
    saved = svc.save(get_session(), current_actor(), office, found, _bp_typed(), version)
    return saved, saved.version


@bp.post(ONE + "/attachments")
@require("view_portal")
def attach(code: str, bp_id: int) -> Any:
    def write(office: Office, found: Any, version: int | None) -> Practice:
        ensure_can(current_actor(), "edit_profile", office.id)
        found, version = _with_text(office, found, version)
        attachment = _attachment_from_request()
        return svc.add_attachment(get_session(), current_actor(), found, version, attachment)

    return _press("attach", code, bp_id, write)


@bp.post(ONE + "/attachments/remove")
@require("view_portal")
def detach(code: str, bp_id: int) -> Any:
    def write(office: Office, found: Any, version: int | None) -> Practice:
        # The page's remove buttons name the file in their address; older pages in a field.
        index = request.args.get("index", type=int)
        if index is None:
            index = request.form.get("index", default=-1, type=int)
        found, version = _with_text(office, found, version)
        return svc.remove_attachment(get_session(), current_actor(), found, version, index)

    return _press("detach", code, bp_id, write)


@bp.post(ONE + "/infographic")
@require("view_portal")
def set_infographic(code: str, bp_id: int) -> Any:
    def write(office: Office, found: Any, version: int | None) -> Practice:
        upload = file_field("infographic")
        if upload is None:
            raise ServiceError(400, N_("Choose a file to upload."))
        session, actor = get_session(), current_actor()
        ensure_can(actor, "edit_profile", office.id)
        found, version = _with_text(office, found, version)
        clean = clean_photo(upload, _("Infographic"))
        photo = photo_svc.add_photo(session, actor, office.id, upload_dir(), clean)
        return svc.set_infographic(session, actor, found, version, photo)

    return _press("infographic", code, bp_id, write)


@bp.post(ONE + "/infographic/remove")
@require("view_portal")
def drop_infographic(code: str, bp_id: int) -> Any:
    def write(office: Office, found: Any, version: int | None) -> Practice:
        found, version = _with_text(office, found, version)
        return svc.set_infographic(get_session(), current_actor(), found, version, None)

    return _press("drop_infographic", code, bp_id, write)


@bp.post(ONE + "/autosave")
@require("view_portal")
def autosave_best_practice(code: str, bp_id: int) -> Any:
    """The form keeper's autosave: the typed draft saved as "Save draft" would, answered in
    JSON ({"saved_at": "hh:mm" Bangkok time, "version": n}, or {"error": why} with a 4xx)."""
    session = get_session()
    try:
        office = readable_office(code)
        found = _of_office(office, bp_id)
        _check_bp_form()
        actor = current_actor()
        saved = svc.save(
            session, actor, office, found, _bp_typed(), request.form.get("version", type=int)
        )
        session.commit()
    except ServiceError as err:
        session.rollback()
        return jsonify(error=service_message(err)), err.status
    except HTTPException as exc:  # not this office's work, say: the script shows why
        session.rollback()
        return jsonify(error=exc.description), exc.code
    return jsonify(saved_at=to_bangkok(actor.now).strftime("%H:%M"), version=saved.version)
