"""An office's profile: contact details, people and photos, and its pin dragged on a map."""

from __future__ import annotations

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
from ..public.mapview import base_map, js_safe_text, province_outline, render_parts
from ..public.photos import photo_url
from ..security import current_actor, require
from ..services import photos as photo_svc
from ..services import profiles as svc
from ..services import schools as school_svc
from ..services.errors import ServiceError
from ..services.profile_revisions import ProfileRevision
from ..services.review import ensure_can
from . import bp
from .common import clean_photo, file_field, readable_office, upload_dir

FIRST_DEPUTY_ROWS = 4
PROFILE = "/offices/<code>/profile"


def _profile_form(rev: ProfileRevision | None, office: Office) -> dict[str, Any]:
    """The form's flat field values from a stored revision (what the user typed wins on error)."""
    data = rev.data if rev else {}
    form: dict[str, Any] = {
        k: data.get(k) if data.get(k) is not None else "" for k in (*svc.TEXT_FIELDS, "staff_count")
    }
    point = svc.lonlat(rev) or svc.lonlat_of_office(office)
    form["lon"], form["lat"] = point
    form["office_photo_id"] = data.get("office_photo_id") or ""
    people = data.get("people") or []
    director: dict[str, Any] = next((p for p in people if p.get("role") == "director"), {})
    deputies = [p for p in people if p.get("role") == "deputy"]
    for i, person in enumerate([director, *deputies]):
        for key in ("name", "position"):
            form[f"p{i}_{key}"] = person.get(key, "")
        form[f"p{i}_photo_id"] = person.get("photo_id") or ""
    return form


def _people_rows(form: dict[str, Any]) -> int:
    filled = max(
        (
            int(k[1:].split("_")[0])
            for k in form
            if k.startswith("p") and k[1:].split("_")[0].isdigit() and form[k]
        ),
        default=0,
    )
    return min(max(filled + 2, FIRST_DEPUTY_ROWS + 1), svc.MAX_PEOPLE)


def _photo_field(name: str, form: dict[str, Any], uploads: dict[str, Any]) -> Any:
    """The photo id a form row ends up with: a new upload, the kept one, or none."""
    if request.form.get(f"drop_{name}"):
        return None
    if name in uploads:
        return uploads[name]
    kept = str(form.get(f"{name}_id") or "")
    return forms.whole(kept, f"{name}_id", 1, forms.INTEGER[1]) if kept else None


def _save_profile(
    office: Office, form: dict[str, Any], *, with_files: bool = True
) -> ProfileRevision:
    session = get_session()
    actor = current_actor()
    ensure_can(actor, "edit_profile", office.id)
    # The service names every bad field at once (lengths, the pin's degrees, the count); only
    # what it would choke on is settled here.
    forms.check_text(request.form, {}, default_limit=20_000)
    # Every file is checked before any is stored, so one bad photo changes nothing.
    rows = svc.MAX_PEOPLE
    files = {"office_photo": (file_field("office_photo"), _("Office photo"))}
    for i in range(rows):
        label = _("Director's photo") if i == 0 else _("Deputy %(n)s's photo", n=i)
        files[f"p{i}_photo"] = (file_field(f"p{i}_photo"), label)
    if not with_files:  # an autosave keeps the text; photos wait for the save button
        files = {}
    cleaned = {name: clean_photo(f, label) for name, (f, label) in files.items() if f}
    for name in ("office_photo", *(f"p{i}_photo" for i in range(rows))):
        _photo_field(name, form, {})  # a bad kept photo id is refused before anything is stored
    uploads = {
        name: photo_svc.add_photo(session, actor, office.id, upload_dir(), clean).id
        for name, clean in cleaned.items()
    }
    people = []
    for i in range(rows):
        people.append(
            {
                "role": "director" if i == 0 else "deputy",
                "name": form.get(f"p{i}_name", ""),
                "position": form.get(f"p{i}_position", ""),
                "photo_id": _photo_field(f"p{i}_photo", form, uploads),
            }
        )
    data = {k: form.get(k, "") for k in (*svc.TEXT_FIELDS, "staff_count")}
    if not str(data["staff_count"]).isascii():  # "²" passes the service's isdigit(), not int()
        data["staff_count"] = "?"
    data["people"] = people
    data["office_photo_id"] = _photo_field("office_photo", form, uploads)
    point = svc.parse_point(form.get("lat"), form.get("lon"))
    return svc.save_draft(
        session, actor, office, data, point, request.form.get("version", type=int)
    )


def _edit_map(office: Office, lon: float, lat: float) -> tuple[dict[str, str], str]:
    import folium  # where used: it slows every process's start (public/mapview.py)

    cfg = current_app.config
    m = base_map(cfg["PINMAP_TILES"], cfg["PINMAP_TILES_ATTRIBUTION"])
    outline = province_outline(get_session(), office)
    if outline:
        folium.GeoJson(
            outline,
            name="province",
            style_function=lambda _: {"color": "#5b6b7f", "weight": 1.5, "fillOpacity": 0.05},
        ).add_to(m)
    m.location = [lat, lon]
    m.options["zoom"] = 12
    tip = folium.Tooltip(str(js_safe_text(_("Drag me onto the office"))))
    marker = folium.Marker([lat, lon], draggable=True, tooltip=tip)
    marker.add_to(m)
    return render_parts(m), marker.get_name()


def _profile_page(
    office: Office, error: str | None = None, status: int = 200, typed: dict[str, Any] | None = None
) -> Any:
    session = get_session()
    current = svc.current_revision(session, office.id)
    approved = svc.approved_revision(session, office.id)
    form = typed if typed is not None else _profile_form(current, office)
    try:
        lon, lat = float(form.get("lon") or 0), float(form.get("lat") or 0)
    except ValueError:
        lon, lat = svc.lonlat_of_office(office)
    if not (lon and lat and abs(lon) <= 180 and abs(lat) <= 90):  # also NaN, inf: the office's
        lon, lat = svc.lonlat_of_office(office)
    parts, marker_name = _edit_map(office, lon, lat)
    return render_template(
        "portal/profile.html",
        office=office,
        current=current,
        approved=approved,
        form=form,
        error=error,
        map=parts,
        marker_name=marker_name,
        rows=_people_rows(form),
        photo_url=photo_url,
        history=svc.revisions(session, office.id),
        can_edit=can(current_user, "edit_profile", office.id),
        can_submit=can(current_user, "submit_profile", office.id),
        missing=svc.missing_for_submission(current) if current else [],
        staged=school_svc.staged(session, current),
    ), status


@bp.get(PROFILE)
@require("view_portal")
def profile(code: str) -> Any:
    return _profile_page(readable_office(code))


def _press(button: str, code: str) -> Any:
    session = get_session()
    office = readable_office(code)
    typed = request.form.to_dict()
    try:
        forms.same_button(button)
        rev = _save_profile(office, typed)
        if button == "submit":
            svc.submit(session, current_actor(), office, rev.version)
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _profile_page(office, service_message(err), err.status, typed)
    flash(_("Submitted for review.") if button == "submit" else _("Saved."))
    return redirect(url_for("portal.profile", code=office.code))


@bp.post(PROFILE)
@require("view_portal")
def save_profile(code: str) -> Any:
    return _press("save", code)


@bp.post(PROFILE + "/submit")
@require("view_portal")
def submit_profile(code: str) -> Any:
    """Save what was typed, then certify and submit it for review."""
    return _press("submit", code)


@bp.post(PROFILE + "/autosave")
@require("view_portal")
def autosave_profile(code: str) -> Any:
    """The form keeper's autosave: the typed draft saved as "Save draft" would (files chosen
    but not yet sent are left for that button), answered in JSON: {"saved_at": "hh:mm" Bangkok
    time, "version": n}, or {"error": why} with a 4xx."""
    session = get_session()
    try:
        office = readable_office(code)
        rev = _save_profile(office, request.form.to_dict(), with_files=False)
        session.commit()
    except ServiceError as err:
        session.rollback()
        return jsonify(error=service_message(err)), err.status
    except HTTPException as exc:  # not this office's work, say: the script shows why
        session.rollback()
        return jsonify(error=exc.description), exc.code
    return jsonify(saved_at=to_bangkok(current_actor().now).strftime("%H:%M"), version=rev.version)
