"""Profile, schools, results, best-practice and plan pages; their review desk; photos; exports."""

from __future__ import annotations

import json
from typing import Any

import folium
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from geoalchemy2.shape import to_shape
from markupsafe import Markup
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from .. import forms
from ..auth import can, can_read_office_work
from ..charts import Line, bar_chart, line_chart
from ..db import get_session
from ..downloads import content_disposition, send_download
from ..errors import service_message
from ..models import (
    BestPractice,
    Cluster,
    Office,
    OperatingPlan,
    Photo,
    PolicyDimension,
    PolicyItem,
    ProfileRevision,
    Province,
)
from ..public.mapview import base_map, js_safe_text, office_map, render_parts
from ..security import current_actor, require
from ..services import best_practices as bps
from ..services import exports
from ..services import photos as photo_svc
from ..services import plans as plan_svc
from ..services import profiles as svc
from ..services import results as result_svc
from ..services import schools as school_svc
from ..services.errors import N_, ServiceError
from ..services.offices import office_or_404
from ..services.progress import catalogue_year, fiscal_year_of, items_of
from ..services.schools import ImportRejected
from ..services.uploads import UploadRejected, clean_upload, resolve, store
from . import bp

FIRST_DEPUTY_ROWS = 4
# Longest value each form field may hold; refused with the limit named, never cut. The
# services check their own fields again; these also cover what they would cut or choke on.
COUNT_LIMITS = {"as_of": 10, **dict.fromkeys(school_svc.STAT_FIELDS, 20)}
BP_LIMITS = {
    "title": 300,
    "owner": 300,
    "file_title": 300,
    "fiscal_year": 10,
    **dict.fromkeys(bps.RICH_FIELDS, bps.MAX_RICH),
}
PLAN_LIMITS = dict.fromkeys(plan_svc.FIELDS, plan_svc.MAX_TEXT)
DECISION_LIMITS = {"comment": 4_000, "decision": 20}


# --- helpers -----------------------------------------------------------------------------------


def _office_or_404(code: str) -> Office:
    if "\x00" in code or len(code) > 60:  # no office code holds these; the database refuses NUL
        abort(404, description=_("No office with code %(code)s.", code=code))
    return office_or_404(get_session(), code)


def _may_read(office_id: int) -> None:
    if not can_read_office_work(current_user, office_id):
        abort(403, description=_("You may not see this office's unpublished work."))


def _problems(err: ServiceError) -> list[dict[str, Any]]:
    """An import's problems, translated, for the report table."""
    if not isinstance(err, ImportRejected):
        return []
    return [
        {"row": p.row or "", "column": p.column, "reason": _(p.msgid, **p.params)}
        for p in err.problems
    ]


def _upload_dir() -> Any:
    return current_app.config["PINMAP_UPLOAD_DIR_PATH"]


def _photo_max() -> int:
    return int(current_app.config.get("PINMAP_MAX_PHOTO_BYTES", photo_svc.DEFAULT_MAX_PHOTO_BYTES))


def _clean_photo(upload: FileStorage, label: str) -> Any:
    try:
        return photo_svc.clean_photo(upload.stream, upload.filename, max_bytes=_photo_max())
    except UploadRejected as exc:
        raise ServiceError(
            400,
            N_("%(field)s (%(file)s): %(reason)s"),
            field=label,
            file=upload.filename or "",
            reason=_(exc.message_en),
        ) from exc


def _file(name: str) -> FileStorage | None:
    upload = request.files.get(name)
    return upload if upload is not None and upload.filename else None


def _read_upload(name: str) -> tuple[str, bytes]:
    upload = _file(name)
    if upload is None:
        raise ServiceError(400, N_("Choose a file to upload."))
    name = forms.file_name(upload.filename or "upload")
    data = upload.stream.read(school_svc.MAX_TABLE_BYTES + 1)
    return name, data


def _province_outline(office: Office) -> dict[str, Any] | None:
    outline = get_session().scalar(
        select(func.ST_AsGeoJSON(Province.geom_web, 5)).where(
            Province.code == office.office_province_code
        )
    )
    return json.loads(outline) if outline else None


popup_text = js_safe_text


def photo_url(photo_id: Any, thumb: bool = False) -> str | None:
    if not isinstance(photo_id, int):
        return None
    return url_for("profiles.photo", photo_id=photo_id, size="thumb" if thumb else "full")


# --- the public office page's extra sections ---------------------------------------------------


def _chart(series: result_svc.Series, office: Office, n: int) -> Markup:
    labels = [str(y) for y in series.years]
    lines = [
        Line(office.name_th, [series.office.get(y) for y in series.years]),
        Line(_("Cluster average"), [series.cluster_avg.get(y) for y in series.years]),
        Line(_("National average"), [series.national_avg.get(y) for y in series.years]),
    ]
    if any(series.obec_target.get(y) is not None for y in series.years):
        lines.append(Line(_("OBEC target"), [series.obec_target.get(y) for y in series.years]))
    title = series.indicator + (f" ({series.unit})" if series.unit else "")
    draw = line_chart if len(labels) > 1 else bar_chart
    return draw(f"chart-{n}", title, labels, lines)


@bp.app_template_global("office_extras")
def office_extras(office: Office) -> dict[str, Any]:
    """Approved profile, counts, results, best practices and plan for templates/office.html."""
    # Each template block asks for it; build it once per request.
    cache = g.setdefault("office_extras", {})
    if office.id not in cache:
        cache[office.id] = _office_extras(office)
    return cache[office.id]


def _office_extras(office: Office) -> dict[str, Any]:
    session = get_session()
    rev = svc.approved_revision(session, office.id)
    data = rev.data if rev else {}
    people = [
        {
            **p,
            "photo": photo_url(p.get("photo_id"), thumb=True),
            "photo_full": photo_url(p.get("photo_id")),
        }
        for p in data.get("people") or []
    ]
    series = result_svc.office_series(session, office)
    point = to_shape(office.geom)
    cfg = current_app.config
    m = office_map(
        point.x,
        point.y,
        office.name_th,
        _province_outline(office),
        cfg["PINMAP_TILES"],
        cfg["PINMAP_TILES_ATTRIBUTION"],
    )
    director = next((p for p in people if p.get("role") == "director"), None)
    popup = Markup("<strong>{}</strong>").format(popup_text(office.name_th))
    for label, value in (
        (_("Address"), data.get("address")),
        (_("Phone"), data.get("phone")),
        (_("Director"), director["name"] if director else None),
    ):
        if value:
            popup += Markup("<br><span>{}: {}</span>").format(popup_text(label), popup_text(value))
    marker = next(c for c in m._children.values() if isinstance(c, folium.CircleMarker))
    folium.Popup(str(popup), max_width=320).add_to(marker)
    return {
        "profile": data if rev else None,
        "revision": rev,
        "people": people,
        "office_photo": photo_url(data.get("office_photo_id")),
        "stats": school_svc.latest_stats(session, office.id),
        "school_count": school_svc.school_count(session, office.id),
        "results": [(s, _chart(s, office, n)) for n, s in enumerate(series, start=1)],
        "category_labels": result_svc.CATEGORY_LABELS,
        "best_practices": bps.of_office(session, office.id, approved_only=True),
        "plan": plan_svc.approved_latest(session, office.id),
        "map": render_parts(m),
    }


# --- profile -------------------------------------------------------------------------------------


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
    director = next((p for p in people if p.get("role") == "director"), {})
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


def _save_profile(office: Office, form: dict[str, Any]) -> ProfileRevision:
    session = get_session()
    actor = current_actor()
    svc.require(actor, "edit_profile", office.id)
    # The service names every bad field at once (lengths, the pin's degrees, the count); only
    # what it would choke on is settled here.
    forms.check_text(request.form, {}, default_limit=20_000)
    # Every file is checked before any is stored, so one bad photo changes nothing.
    rows = svc.MAX_PEOPLE
    files = {"office_photo": (_file("office_photo"), _("Office photo"))}
    for i in range(rows):
        label = _("Director's photo") if i == 0 else _("Deputy %(n)s's photo", n=i)
        files[f"p{i}_photo"] = (_file(f"p{i}_photo"), label)
    cleaned = {name: _clean_photo(f, label) for name, (f, label) in files.items() if f}
    for name in ("office_photo", *(f"p{i}_photo" for i in range(rows))):
        _photo_field(name, form, {})  # a bad kept photo id is refused before anything is stored
    uploads = {
        name: photo_svc.add_photo(session, actor, office.id, _upload_dir(), clean).id
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
    cfg = current_app.config
    m = base_map(cfg["PINMAP_TILES"], cfg["PINMAP_TILES_ATTRIBUTION"])
    outline = _province_outline(office)
    if outline:
        folium.GeoJson(
            outline,
            name="province",
            style_function=lambda _: {"color": "#5b6b7f", "weight": 1.5, "fillOpacity": 0.05},
        ).add_to(m)
    m.location = [lat, lon]
    m.options["zoom"] = 12
    tip = folium.Tooltip(str(popup_text(_("Drag me onto the office"))))
    marker = folium.Marker([lat, lon], draggable=True, tooltip=tip)
    marker.add_to(m)
    return render_parts(m), marker.get_name()


@bp.route("/portal/offices/<code>/profile", methods=["GET", "POST"])
@require("view_portal")
def profile_edit(code: str) -> Any:
    session = get_session()
    office = _office_or_404(code)
    _may_read(office.id)
    error, status, typed = None, 200, None
    if request.method == "POST":
        action = request.form.get("action", "save")
        typed = request.form.to_dict()
        try:
            if action in ("save", "submit"):
                rev = _save_profile(office, typed)
                if action == "submit":
                    svc.submit(session, current_actor(), office, rev.version)
            else:
                raise forms.unknown_action()
            session.commit()
            flash(_("Submitted for review.") if action == "submit" else _("Saved."))
            return redirect(request.path)
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
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
        "profiles/edit.html",
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


# --- schools and counts ------------------------------------------------------------------------


def _count_form(
    typed: dict[str, Any] | None, current: ProfileRevision | None, stats: Any
) -> dict[str, Any]:
    """What was typed, else the counts the profile revision holds, else the public ones."""
    keys = ("as_of", *school_svc.STAT_FIELDS)
    if typed:
        return {k: typed.get(k, "") for k in keys}
    counts = (current.data or {}).get("counts") if current else None
    if counts:
        return {k: "" if counts.get(k) is None else counts[k] for k in keys}
    if stats is not None:
        return {
            "as_of": stats.as_of.isoformat(),
            **{
                k: "" if getattr(stats, k) is None else getattr(stats, k)
                for k in school_svc.STAT_FIELDS
            },
        }
    return dict.fromkeys(keys, "")


@bp.route("/portal/offices/<code>/schools", methods=["GET", "POST"])
@require("view_portal")
def schools(code: str) -> Any:
    """The school list and counts: staged in the profile revision, public once it is approved."""
    session = get_session()
    office = _office_or_404(code)
    _may_read(office.id)
    error, status, problems, typed = None, 200, [], None
    if request.method == "POST":
        action = request.form.get("action")
        typed = request.form.to_dict()
        version = request.form.get("version", type=int)
        actor = current_actor()
        try:
            forms.check_text(request.form, COUNT_LIMITS, default_limit=200)
            if action == "import":
                filename, data = _read_upload("file")
                _rev, diff = school_svc.stage_schools(
                    session, actor, office, filename, data, version
                )
                message = _(
                    "%(file)s checked: %(count)s schools (%(added)s added, %(removed)s "
                    "removed, %(changed)s changed). They become public when the profile "
                    "is approved.",
                    file=filename,
                    count=diff.count,
                    added=diff.added,
                    removed=diff.removed,
                    changed=diff.changed,
                )
            elif action == "stats":
                forms.day(typed.get("as_of"), "as_of", required=True)
                for key in school_svc.STAT_FIELDS:
                    forms.whole(typed.get(key, "").replace(",", ""), key, 0, forms.INTEGER[1])
                school_svc.stage_counts(
                    session, actor, office, typed.get("as_of", ""), typed, version
                )
                message = _(
                    "Counts saved in the profile draft. They become public when the "
                    "profile is approved."
                )
            else:
                raise forms.unknown_action()
            session.commit()
            flash(message)
            return redirect(request.path)
        except ServiceError as err:
            session.rollback()
            error, status, problems = service_message(err), err.status, _problems(err)
    current = svc.current_revision(session, office.id)
    waiting = school_svc.staged(session, current)
    stats = school_svc.latest_stats(session, office.id)
    may_edit = can(current_user, "edit_profile", office.id) and (
        current is None or current.state != "submitted"
    )
    return render_template(
        "profiles/schools.html",
        office=office,
        error=error,
        problems=problems,
        typed=typed or {},
        schools=school_svc.schools_of(session, office.id),
        current=current,
        staged=waiting,
        count_form=_count_form(typed, current, stats),
        stats=stats,
        columns=school_svc.SCHOOL_COLUMNS,
        can_import=may_edit,
        can_edit=may_edit,
    ), status


# --- results -----------------------------------------------------------------------------------


@bp.route("/portal/results", methods=["GET", "POST"], defaults={"code": None})
@bp.route("/portal/offices/<code>/results", methods=["GET", "POST"])
@require("view_portal")
def results_import(code: str | None) -> Any:
    """An office's results (read by its staff); importing is OBEC's (the import_results rule)."""
    session = get_session()
    office = _office_or_404(code) if code else None
    if office is not None:
        _may_read(office.id)
    elif current_user.office_id is not None:
        own = session.get(Office, current_user.office_id)
        return redirect(url_for("profiles.results_import", code=own.code))  # type: ignore[union-attr]
    may_import = can(current_user, "import_results", office.id if office else None)
    error, status, problems = None, 200, []
    if request.method == "POST":
        if not may_import:
            abort(403, description=_("Five-year results are loaded by OBEC."))
        try:
            filename, data = _read_upload("file")
            result = result_svc.import_results(
                session, current_actor(), filename, data, office=office
            )
            session.commit()
            flash(
                _(
                    "%(file)s loaded: %(rows)s results (%(created)s new, %(updated)s updated) "
                    "for %(offices)s office(s).",
                    file=filename,
                    rows=result.rows,
                    created=result.created,
                    updated=result.updated,
                    offices=len(result.offices),
                )
            )
            return redirect(request.path)
        except ServiceError as err:
            session.rollback()
            error, status, problems = service_message(err), err.status, _problems(err)
    series = result_svc.office_series(session, office) if office else []
    return render_template(
        "profiles/results_import.html",
        office=office,
        error=error,
        problems=problems,
        columns=result_svc.RESULT_COLUMNS,
        categories=result_svc.CATEGORY_LABELS,
        series=series,
        can_import=may_import,
    ), status


# --- best practices ----------------------------------------------------------------------------


def _bp_or_404(bp_id: int) -> BestPractice:
    forms.path_in_range(bp_id, *forms.ID_RANGE)
    found = bps.get(get_session(), bp_id)
    if found is None:
        abort(404, description=_("No such best practice."))
    return found


def _bp_form(found: BestPractice | None) -> dict[str, Any]:
    if found is None:
        today = current_actor().today_bangkok
        return {
            "fiscal_year": catalogue_year(get_session(), today) or fiscal_year_of(today),
            "dimensions": [],
            "item_ids": [],
        }
    return {**bps.bp_dict(get_session(), found), "item_ids": bps.item_ids(get_session(), found)}


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


def _bp_choices(fiscal_year: Any) -> dict[str, Any]:
    session = get_session()
    text = str(fiscal_year)
    year = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None
    years = sorted(set(session.scalars(select(PolicyItem.fiscal_year).distinct())), reverse=True)
    shown = year if year in years else (years[0] if years else None)
    dims = (
        session.scalars(
            select(PolicyDimension).filter_by(fiscal_year=shown).order_by(PolicyDimension.no)
        ).all()
        if shown
        else []
    )
    return {
        "items": items_of(session, shown) if shown else [],
        "dimensions": dims,
        "catalogue_year": shown,
    }


@bp.route("/portal/offices/<code>/best-practices")
@require("view_portal")
def best_practice_list(code: str) -> Any:
    office = _office_or_404(code)
    _may_read(office.id)
    return render_template(
        "profiles/best_practice_list.html",
        office=office,
        practices=bps.of_office(get_session(), office.id, approved_only=False),
        can_edit=can(current_user, "edit_profile", office.id),
    )


def _attachment_from_request() -> dict[str, Any]:
    upload = _file("file")
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
        "stored_name": store(_upload_dir(), clean, get_session()),
        "original_name": upload.filename or "",
        "title": request.form.get("file_title", ""),
        "mime": clean.mime,
        "size_bytes": len(clean.data),
        "sha256": clean.sha256,
    }


@bp.route(
    "/portal/offices/<code>/best-practices/new", methods=["GET", "POST"], defaults={"bp_id": None}
)
@bp.route("/portal/offices/<code>/best-practices/<int:bp_id>", methods=["GET", "POST"])
@require("view_portal")
def best_practice_edit(code: str, bp_id: int | None) -> Any:
    session = get_session()
    office = _office_or_404(code)
    _may_read(office.id)
    found = _bp_or_404(bp_id) if bp_id else None
    if found is not None and found.office_id != office.id:
        abort(404, description=_("No such best practice."))
    error, status, typed = None, 200, None
    if request.method == "POST":
        action = request.form.get("action", "save")
        version = request.form.get("version", type=int)
        actor = current_actor()
        if action in ("save", "submit") or "title" in request.form:
            typed = _bp_typed()
        try:
            _check_bp_form()
            if action in ("save", "submit"):
                found = bps.save(session, actor, office, found, typed, version)
                if action == "submit":
                    bps.submit(session, actor, found, found.version)
            elif found is None:
                raise forms.unknown_action()
            elif action == "attach":
                found = bps.add_attachment(
                    session, actor, found, version, _attachment_from_request()
                )
            elif action == "detach":
                index = request.form.get("index", default=-1, type=int)
                found = bps.remove_attachment(session, actor, found, version, index)
            elif action == "infographic":
                upload = _file("infographic")
                if upload is None:
                    raise ServiceError(400, N_("Choose a file to upload."))
                svc.require(actor, "edit_profile", office.id)
                clean = _clean_photo(upload, _("Infographic"))
                photo = photo_svc.add_photo(session, actor, office.id, _upload_dir(), clean)
                found = bps.set_infographic(session, actor, found, version, photo)
            elif action == "drop_infographic":
                found = bps.set_infographic(session, actor, found, version, None)
            else:
                raise forms.unknown_action()
            session.commit()
            flash(_("Submitted for review.") if action == "submit" else _("Saved."))
            return redirect(
                url_for("profiles.best_practice_edit", code=office.code, bp_id=found.id)
            )
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
            found = _bp_or_404(bp_id) if bp_id else None
    form = typed if typed is not None else _bp_form(found)
    return render_template(
        "profiles/best_practice_edit.html",
        office=office,
        bp=found,
        form=form,
        error=error,
        rich_fields=bps.RICH_FIELDS,
        photo_url=photo_url,
        **_bp_choices(form.get("fiscal_year")),
        can_edit=can(current_user, "edit_profile", office.id),
        can_submit=can(current_user, "submit_profile", office.id),
    ), status


@bp.route("/best-practices")
def best_practice_search() -> Any:
    session = get_session()
    q = request.args.get("q", "")[:200]
    item_id = request.args.get("item", type=int)
    dimension = request.args.get("dimension", "")[:20]
    cluster = request.args.get("cluster", type=int)
    fiscal_year = request.args.get("fiscal_year", type=int)
    found = bps.search(
        session,
        q=q,
        item_id=item_id,
        dimension=dimension,
        cluster_no=cluster,
        fiscal_year=fiscal_year,
    )
    year = fiscal_year or catalogue_year(session, current_actor().today_bangkok)
    return render_template(
        "profiles/search.html",
        results=found,
        q=q,
        item_id=item_id,
        dimension=dimension,
        cluster=cluster,
        fiscal_year=fiscal_year,
        **_bp_choices(year),
        clusters=session.scalars(select(Cluster).order_by(Cluster.no)).all(),
    )


@bp.route("/best-practices/<int:bp_id>")
def best_practice(bp_id: int) -> Any:
    session = get_session()
    found = _bp_or_404(bp_id)
    user = current_user if current_user.is_authenticated else None
    if found.state != "approved" and not can_read_office_work(user, found.office_id):
        abort(404, description=_("No such best practice."))  # do not reveal drafts exist
    return render_template(
        "profiles/best_practice.html",
        bp=found,
        office=session.get(Office, found.office_id),
        items=bps.items_of(session, found),
        photo_url=photo_url,
    )


@bp.route("/best-practices/<int:bp_id>/files/<int:index>")
def best_practice_file(bp_id: int, index: int) -> Any:
    found = _bp_or_404(bp_id)
    user = current_user if current_user.is_authenticated else None
    if found.state != "approved" and not can_read_office_work(user, found.office_id):
        abort(404)
    files = found.attachments or []
    if not 0 <= index < len(files):
        abort(404)
    meta = files[index]
    path = resolve(_upload_dir(), meta["stored_name"])
    return _send_safely(path, meta["mime"], meta.get("original_name") or path.name)


def _send_safely(path: Any, mime: str, name: str) -> Response:
    response = send_download(path, mime, name, as_attachment=mime == "application/pdf", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/photos/<int:photo_id>/<any(full, thumb):size>")
def photo(photo_id: int, size: str) -> Any:
    """A photo: public once an approved profile or best practice shows it, else staff and OBEC."""
    session = get_session()
    found = session.get(Photo, photo_id)
    user = current_user if current_user.is_authenticated else None
    if found is None or not photo_svc.visible_to(session, found, user):
        abort(404)
    name = found.thumb_name if size == "thumb" else found.stored_name
    mime = "image/jpeg" if size == "thumb" else found.mime
    return _send_safely(resolve(_upload_dir(), name), mime, name.rsplit("/", 1)[-1])


# --- operating plan -----------------------------------------------------------------------------


@bp.route("/portal/offices/<code>/plan", methods=["GET"], defaults={"fiscal_year": None})
@bp.route("/portal/offices/<code>/plan/<int:fiscal_year>", methods=["GET", "POST"])
@require("view_portal")
def plan_edit(code: str, fiscal_year: int | None) -> Any:
    session = get_session()
    office = _office_or_404(code)
    _may_read(office.id)
    if fiscal_year is not None:
        forms.path_in_range(fiscal_year, 0, forms.SMALLINT[1])
    if fiscal_year is None:
        fy = fiscal_year_of(current_actor().today_bangkok)
        return redirect(url_for("profiles.plan_edit", code=code, fiscal_year=fy))
    error, status, typed = None, 200, None
    if request.method == "POST":
        action = request.form.get("action", "save")
        typed = request.form.to_dict()
        actor = current_actor()
        try:
            forms.check_text(request.form, PLAN_LIMITS, default_limit=100)
            if action not in ("save", "submit"):
                raise forms.unknown_action()
            plan = plan_svc.save(
                session, actor, office, fiscal_year, typed, request.form.get("version", type=int)
            )
            if action == "submit":
                plan_svc.submit(session, actor, plan, plan.version)
            session.commit()
            flash(_("Submitted for review.") if action == "submit" else _("Saved."))
            return redirect(request.path)
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
    plan = plan_svc.get(session, office.id, fiscal_year)
    form = typed if typed is not None else (plan_svc.plan_dict(plan) if plan else {})
    return render_template(
        "profiles/plan_edit.html",
        office=office,
        plan=plan,
        form=form,
        error=error,
        fiscal_year=fiscal_year,
        fields=plan_svc.FIELDS,
        can_edit=can(current_user, "edit_profile", office.id),
        can_submit=can(current_user, "submit_profile", office.id),
    ), status


# --- review desk -------------------------------------------------------------------------------


@bp.route("/review/profiles")
@require("review_profile")
def review_queue() -> Any:
    session = get_session()
    offices = {o.id: o for o in session.scalars(select(Office))}
    return render_template(
        "profiles/review_queue.html",
        offices=offices,
        profiles=svc.submitted(session),
        practices=bps.submitted(session),
        plans=plan_svc.submitted(session),
    )


def _decide(kind: str, obj: Any, decide: Any) -> Any:
    session = get_session()
    error, status, comment = None, 200, ""
    if request.method == "POST":
        comment = request.form.get("comment", "")
        try:
            forms.check_text(request.form, DECISION_LIMITS, default_limit=100)
            decide(
                session,
                current_actor(),
                obj,
                request.form.get("decision", ""),
                comment,
                request.form.get("version", type=int),
            )
            session.commit()
            flash(_("Decision saved."))
            return redirect(url_for("profiles.review_queue"))
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
            session.refresh(obj)
    office = session.get(Office, obj.office_id)
    extra: dict[str, Any] = {}
    if kind == "profile":
        staged_schools = (obj.data or {}).get("schools")
        extra = {
            "approved": svc.approved_revision(session, obj.office_id),
            "location": svc.lonlat(obj),
            "office_location": svc.lonlat_of_office(office),
            "counts": (obj.data or {}).get("counts"),
            "school_diff": school_svc.school_diff(session, obj.office_id, staged_schools)
            if staged_schools is not None
            else None,
        }  # type: ignore[arg-type]
    elif kind == "best_practice":
        extra = {"items": bps.items_of(session, obj)}
    return render_template(
        "profiles/review.html",
        kind=kind,
        obj=obj,
        office=office,
        error=error,
        comment=comment,
        photo_url=photo_url,
        rich_fields=bps.RICH_FIELDS,
        plan_fields=plan_svc.FIELDS,
        **extra,
    ), status


@bp.route("/review/profiles/<int:rev_id>", methods=["GET", "POST"])
@require("review_profile")
def review_profile(rev_id: int) -> Any:
    forms.path_in_range(rev_id, *forms.ID_RANGE)
    rev = get_session().get(ProfileRevision, rev_id)
    if rev is None:
        abort(404)
    return _decide("profile", rev, svc.review)


@bp.route("/review/best-practices/<int:bp_id>", methods=["GET", "POST"])
@require("review_profile")
def review_best_practice(bp_id: int) -> Any:
    return _decide("best_practice", _bp_or_404(bp_id), bps.review)


@bp.route("/review/plans/<int:plan_id>", methods=["GET", "POST"])
@require("review_profile")
def review_plan(plan_id: int) -> Any:
    forms.path_in_range(plan_id, *forms.ID_RANGE)
    plan = get_session().get(OperatingPlan, plan_id)
    if plan is None:
        abort(404)
    return _decide("plan", plan, plan_svc.review)


# --- exports -----------------------------------------------------------------------------------

_EXPORTS = {
    "offices": (exports.OFFICE_COLUMNS, exports.office_rows),
    "results": (exports.RESULT_COLUMNS, exports.result_rows),
}


@bp.route("/exports/<any(offices, results):what>.<any(csv, xlsx):fmt>")
def export_table(what: str, fmt: str) -> Response:
    """Approved profiles (or results) of every office; cells safe from formula injection."""
    columns, rows_of = _EXPORTS[what]
    rows = rows_of(get_session())
    if fmt == "csv":
        body, mime = exports.to_csv(columns, rows), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx({what: (columns, rows)})
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = content_disposition(f"pinmap-{what}.{fmt}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/exports/offices.geojson")
def export_geojson() -> Response:
    body = json.dumps(exports.offices_geojson(get_session()), ensure_ascii=False)
    response = Response(body, mimetype="application/geo+json")
    response.headers["Content-Disposition"] = content_disposition("pinmap-offices.geojson")
    return response
