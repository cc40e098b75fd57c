"""Views of the admin blueprint; each state change commits once, at the end."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import forms
from ..db import get_session
from ..downloads import content_disposition
from ..errors import service_message
from ..fiscal import BANGKOK
from ..models import (
    ROLES,
    AuditLog,
    FiscalYear,
    Office,
    PolicyDimension,
    PolicyItem,
    ReportingWindow,
    User,
)
from ..security import current_actor, require
from ..services import catalogue
from ..services.accounts import (
    IMPORT_COLUMNS,
    IMPORT_REQUIRED,
    create_user,
    import_users,
    reset_password,
    set_active,
    update_user,
    user_or_404,
)
from ..services.errors import ServiceError
from ..tables import MAX_TABLE_BYTES, ImportRejected, read_table
from . import bp

PER_PAGE = 50
USER_FIELDS = ("email", "name", "role", "office_code")
WINDOW_FIELDS = ("fiscal_year", "round_no", "label_th", "label_en", "opens_on", "closes_on")
# Longest value each field may hold (the column's size); refused with the limit, never cut.
LIMITS = {
    "email": 254,
    "name": 200,
    "role": 20,
    "office_code": 60,
    "password": 1_000,
    "label_th": 200,
    "label_en": 200,
    "fiscal_year": 10,
    "round_no": 10,
    "opens_on": 10,
    "closes_on": 10,
}


def _form_status(err: ServiceError) -> int:
    # The page itself exists; an unknown office typed into the form is a bad form, not a 404.
    return 409 if err.status == 409 else 400


def _fiscal_years() -> list[int]:
    return list(
        get_session().scalars(select(FiscalYear.year_be).order_by(FiscalYear.year_be.desc()))
    )


def _chosen_year(years: list[int], strict: bool = True) -> int | None:
    raw = request.args.get("fiscal_year", "").strip()
    if raw:
        low, high = forms.FISCAL_YEARS
        if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
            return int(raw)
        if strict:
            abort(400, description=_("The fiscal year must be a Buddhist Era year such as 2567."))
    return years[0] if years else None


# --- Users --------------------------------------------------------------------------------

USERS_PER_PAGE = 50
IMPORT_TEMPLATE = "email,name,role,office_code\n"


def role_labels() -> dict[str, str]:
    """Each role's name in the reader's language (the codes stay in forms and CSV files)."""
    return {
        "office_editor": _("Office editor"),
        "office_director": _("Office director"),
        "reviewer": _("Reviewer (OBEC)"),
        "admin": _("Admin (OBEC)"),
        "coach": _("Coach"),
    }


def _user_filters() -> dict[str, str]:
    """The list's filters from the address; a value that cannot match is dropped, not a 500."""
    raw = {k: request.args.get(k, "").strip()[:100] for k in ("q", "role", "office", "active")}
    if raw["role"] not in ROLES:
        raw["role"] = ""
    if raw["active"] not in ("yes", "no"):
        raw["active"] = ""
    return raw


def _like(text: str) -> str:
    # What was typed is matched literally: % and _ are not wildcards here.
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _users_page(
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    edit: dict[str, Any] | None = None,
    problems: list[dict[str, Any]] | None = None,
):
    """`form` is what was typed into the new-user form, `edit` into one user's edit form."""
    session = get_session()
    filters = _user_filters()
    query = select(User).outerjoin(Office, User.office_id == Office.id)
    if filters["q"]:
        pattern = _like(filters["q"].lower())
        query = query.where(
            func.lower(User.email).like(pattern, escape="\\")
            | func.lower(User.name).like(pattern, escape="\\")
        )
    if filters["role"]:
        query = query.where(User.role == filters["role"])
    if filters["office"]:
        query = query.where(Office.code == filters["office"])
    if filters["active"]:
        query = query.where(User.active.is_(filters["active"] == "yes"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // USERS_PER_PAGE))
    raw_page = request.args.get("page", "1")
    page = min(max(int(raw_page), 1), pages) if raw_page.isascii() and raw_page.isdigit() else 1
    users = session.scalars(
        query.order_by(User.role, User.email)
        .offset((page - 1) * USERS_PER_PAGE)
        .limit(USERS_PER_PAGE)
    ).all()
    offices = session.execute(select(Office.code, Office.name_th).order_by(Office.code)).all()
    return render_template(
        "admin/users.html",
        users=users,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        args={k: v for k, v in filters.items() if v},
        offices=offices,
        roles=ROLES,
        role_labels=role_labels(),
        form=form or {},
        error=error,
        edit=edit or {},
        problems=problems or [],
    ), status


@bp.get("/users")
@require("manage_users")
def users() -> Any:
    return _users_page()


@bp.get("/users/template.csv")
@require("manage_users")
def users_template() -> Any:
    return Response(
        b"\xef\xbb\xbf" + IMPORT_TEMPLATE.encode(),
        headers={
            "Content-Disposition": content_disposition("users.csv"),
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


@bp.post("/users/import")
@require("manage_users")
def import_users_view() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _users_page(error=_("Choose a CSV or XLSX file to import."), status=400)
    session = get_session()
    try:
        data = upload.read(MAX_TABLE_BYTES + 1)
        table = read_table(data, upload.filename, IMPORT_COLUMNS, IMPORT_REQUIRED)
        created = import_users(session, current_actor(), table)
    except ServiceError as err:
        session.rollback()
        return _users_page(
            error=service_message(err), status=_form_status(err), problems=_problems(err)
        )
    session.commit()
    flash(
        _(
            "%(n)s users created from %(file)s. They have no password yet: each asks for a "
            "reset link, or you set a one-time password.",
            n=len(created),
            file=table.filename,
        )
    )
    return redirect(url_for("admin.users"))


def _problems(err: ServiceError) -> list[dict[str, Any]]:
    if not isinstance(err, ImportRejected):
        return []
    return [
        {"row": p.row or "", "column": p.column, "reason": _(p.msgid, **p.params)}
        for p in err.problems
    ]


@bp.post("/users")
@require("manage_users")
def create_user_view() -> Any:
    form = {k: request.form.get(k, "").strip() for k in USER_FIELDS}
    session = get_session()
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        user = create_user(
            session,
            current_actor(),
            email=form["email"],
            name=form["name"],
            password=request.form.get("password", ""),
            role=form["role"],
            office_code=form["office_code"] or None,
            one_time=True,
        )
    except ServiceError as err:
        session.rollback()
        return _users_page(form, service_message(err), _form_status(err))
    session.commit()
    flash(_("User %(email)s created.", email=user.email))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
@require("manage_users")
def toggle_active(user_id: int) -> Any:
    session = get_session()
    user = user_or_404(get_session(), user_id)
    try:
        # Deactivation also ends the user's sessions and open live streams (services.accounts).
        set_active(session, current_actor(), user, not user.active)
    except ServiceError as err:
        session.rollback()
        return _users_page(error=service_message(err), status=_form_status(err))
    session.commit()
    if user.active:
        flash(_("%(email)s can sign in again.", email=user.email))
    else:
        flash(_("%(email)s can no longer sign in.", email=user.email))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>")
@require("manage_users")
def update_user_view(user_id: int) -> Any:
    session = get_session()
    user = user_or_404(get_session(), user_id)
    typed = {k: request.form.get(k, "") for k in ("name", "role", "office_code")}
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        update_user(
            session,
            current_actor(),
            user,
            name=typed["name"],
            role=typed["role"],
            office_code=typed["office_code"].strip() or None,
        )
    except ServiceError as err:
        session.rollback()
        return _users_page(
            error=service_message(err), status=_form_status(err), edit={"user_id": user_id, **typed}
        )
    session.commit()
    flash(_("%(email)s updated.", email=user.email))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
@require("manage_users")
def reset_password_view(user_id: int) -> Any:
    session = get_session()
    user = user_or_404(get_session(), user_id)
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        revoked = reset_password(session, current_actor(), user, request.form.get("password", ""))
    except ServiceError as err:
        session.rollback()
        return _users_page(
            error=service_message(err), status=_form_status(err), edit={"user_id": user_id}
        )
    session.commit()
    flash(
        _(
            "One-time password set for %(email)s; tell them in person, not by e-mail. They "
            "choose their own when they next sign in.",
            email=user.email,
        )
    )
    if revoked:
        flash(
            _(
                "%(n)s API tokens of %(email)s were revoked with the old password.",
                n=revoked,
                email=user.email,
            )
        )
    return redirect(url_for("admin.users"))


# --- Reporting windows --------------------------------------------------------------------


def _windows_page(
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    edit: dict[str, Any] | None = None,
):
    years = _fiscal_years()
    # After a refused form, the year typed decides the list shown, whatever the address says.
    year = _chosen_year(years, strict=not form and not edit)
    typed_year = (form or {}).get("fiscal_year", "")
    if typed_year.isascii() and typed_year.isdigit() and len(typed_year) <= 5:
        year = int(typed_year)
    if edit and edit.get("fiscal_year"):
        year = edit["fiscal_year"]
    windows = (
        get_session()
        .scalars(
            select(ReportingWindow)
            .where(ReportingWindow.fiscal_year == year)
            .order_by(ReportingWindow.round_no)
        )
        .all()
    )
    return render_template(
        "admin/windows.html",
        years=years,
        year=year,
        windows=windows,
        form=form or {"fiscal_year": str(year or "")},
        error=error,
        edit=edit or {},
    ), status


@bp.get("/windows")
@require("manage_windows")
def windows() -> Any:
    return _windows_page()


@bp.post("/windows")
@require("manage_windows")
def save_window() -> Any:
    form = {k: request.form.get(k, "").strip() for k in WINDOW_FIELDS}
    session = get_session()
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        window = catalogue.upsert_window(session, current_actor(), **form)
    except ServiceError as err:
        session.rollback()
        return _windows_page(form, service_message(err), _form_status(err))
    session.commit()
    flash(
        _(
            "Round %(round)s of fiscal year %(year)s saved.",
            round=window.round_no,
            year=window.fiscal_year,
        )
    )
    return redirect(url_for("admin.windows", fiscal_year=window.fiscal_year))


def _window_or_404(window_id: int) -> ReportingWindow:
    found = get_session().get(ReportingWindow, window_id)
    if found is None:
        abort(404, description=_("No such reporting window; it may have been deleted."))
    return found


@bp.post("/windows/<int:window_id>")
@require("manage_windows")
def edit_window(window_id: int) -> Any:
    """Change one window's labels and dates (its year and round name it and stay)."""
    window = _window_or_404(window_id)
    typed = {k: request.form.get(k, "").strip() for k in WINDOW_FIELDS[2:]}
    session = get_session()
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        catalogue.upsert_window(
            session,
            current_actor(),
            fiscal_year=window.fiscal_year,
            round_no=window.round_no,
            **typed,
        )
    except ServiceError as err:
        year = window.fiscal_year
        session.rollback()
        return _windows_page(
            error=service_message(err),
            status=_form_status(err),
            edit={"window_id": window_id, "fiscal_year": year, **typed},
        )
    session.commit()
    flash(
        _(
            "Round %(round)s of fiscal year %(year)s saved.",
            round=window.round_no,
            year=window.fiscal_year,
        )
    )
    return redirect(url_for("admin.windows", fiscal_year=window.fiscal_year))


@bp.post("/windows/<int:window_id>/delete")
@require("manage_windows")
def delete_window(window_id: int) -> Any:
    window = _window_or_404(window_id)
    year, round_no = window.fiscal_year, window.round_no
    session = get_session()
    try:
        catalogue.delete_window(session, current_actor(), window)
    except ServiceError as err:
        session.rollback()
        return _windows_page(
            error=service_message(err),
            status=_form_status(err),
            edit={"fiscal_year": year},
        )
    session.commit()
    flash(_("Round %(round)s of fiscal year %(year)s deleted.", round=round_no, year=year))
    return redirect(url_for("admin.windows", fiscal_year=year))


# --- Item catalogue -----------------------------------------------------------------------


def _catalogue_page(
    year: int | None = None,
    error: str | None = None,
    line_errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    session = get_session()
    years = _fiscal_years()
    if year is None:
        year = _chosen_year(years)
    dims = session.scalars(
        select(PolicyDimension).filter_by(fiscal_year=year).order_by(PolicyDimension.no)
    ).all()
    items = session.scalars(
        select(PolicyItem).filter_by(fiscal_year=year).order_by(PolicyItem.kind, PolicyItem.no)
    ).all()
    return render_template(
        "admin/catalogue.html",
        years=years,
        year=year,
        dimensions=dims,
        items=items,
        error=error,
        line_errors=line_errors or [],
    ), status


@bp.get("/catalogue")
@require("manage_catalogue")
def catalogue_view() -> Any:
    return _catalogue_page()


@bp.get("/catalogue/export.csv")
@require("manage_catalogue")
def catalogue_export() -> Any:
    year = _chosen_year(_fiscal_years())
    if year is None:
        abort(404)
    text = catalogue.export_catalogue(get_session(), year)
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": content_disposition(f"policy_items-{year}.csv"),
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


@bp.post("/catalogue/import")
@require("manage_catalogue")
def catalogue_import() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _catalogue_page(error=_("Choose a CSV file to import."), status=400)
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _catalogue_page(
            error=_("The file is not UTF-8 text; save it as “CSV UTF-8” and try again."),
            status=400,
        )
    session = get_session()
    try:
        summary = catalogue.import_catalogue(session, current_actor(), text)
    except catalogue.CatalogueFileError as err:
        session.rollback()
        lines = [
            _("line %(line)s: %(reason)s", line=e.line, reason=gettext(e.msgid, **e.params))
            for e in err.errors
        ]
        return _catalogue_page(error=service_message(err), line_errors=lines, status=400)
    except ServiceError as err:
        session.rollback()
        return _catalogue_page(error=service_message(err), status=_form_status(err))
    session.commit()
    if summary.changed:
        flash(
            _(
                "Fiscal year %(year)s: %(created)s added, %(updated)s changed, %(deleted)s "
                "removed.",
                year=summary.fiscal_year,
                created=len(summary.created),
                updated=len(summary.updated),
                deleted=len(summary.deleted),
            )
        )
    else:
        flash(
            _(
                "The file matches the catalogue of %(year)s; nothing changed.",
                year=summary.fiscal_year,
            )
        )
    return redirect(url_for("admin.catalogue_view", fiscal_year=summary.fiscal_year))


# --- Audit log ----------------------------------------------------------------------------


def _compact(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _day(name: str) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, description=_("Dates must be written YYYY-MM-DD."))


def _bangkok_midnight(day: dt.date) -> dt.datetime:
    # Filters are Thai calendar days, whatever the server's time zone.
    return dt.datetime.combine(day, dt.time(), tzinfo=BANGKOK)


@bp.get("/audit")
@require("view_audit")
def audit() -> Any:
    session = get_session()
    filters = {k: request.args.get(k, "").strip() for k in ("user", "office", "action", "entity")}
    day_from, day_to = _day("from"), _day("to")
    query = select(AuditLog)
    if filters["user"]:
        query = query.join(User, AuditLog.user_id == User.id).where(
            User.email == filters["user"].lower()
        )
    if filters["office"]:
        query = query.join(Office, AuditLog.office_id == Office.id).where(
            Office.code == filters["office"]
        )
    if filters["action"]:
        query = query.where(AuditLog.action == filters["action"])
    if filters["entity"]:
        query = query.where(AuditLog.entity == filters["entity"])
    if day_from:
        query = query.where(AuditLog.at >= _bangkok_midnight(day_from))
    if day_to:
        query = query.where(AuditLog.at < _bangkok_midnight(day_to + dt.timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = request.args.get("page", "1")
    page_no = min(max(int(page), 1), pages) if page.isdigit() else 1
    rows = session.scalars(
        query.order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .offset((page_no - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    office_codes: dict[int | None, str] = dict(
        session.execute(
            select(Office.id, Office.code).where(
                Office.id.in_({r.office_id for r in rows if r.office_id})
            )
        ).all()
    )
    entries = [
        {
            "at": r.at.astimezone(BANGKOK),
            "user": r.user.email if r.user else "",
            "ip": r.ip or "",
            "action": r.action,
            "entity": r.entity,
            "entity_id": r.entity_id,
            "office": office_codes.get(r.office_id, ""),
            "before": _compact(r.before),
            "after": _compact(r.after),
        }
        for r in rows
    ]
    actions = session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)).all()
    entities = session.scalars(select(AuditLog.entity).distinct().order_by(AuditLog.entity)).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        entries=entries,
        filters=filters,
        total=total,
        page=page_no,
        pages=pages,
        args=args,
        actions=actions,
        entities=entities,
        day_from=day_from.isoformat() if day_from else "",
        day_to=day_to.isoformat() if day_to else "",
    )
