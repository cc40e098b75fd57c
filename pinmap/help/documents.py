"""/help/documents: the document library (forms, manuals, templates as files; videos as links),
by category and fiscal year; reviewers and admins add, replace (earlier versions stay) and
retire documents. Files are sent sandboxed, like evidence."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import forms
from ..db import get_session
from ..errors import service_message
from ..fiscal import current_fiscal_year
from ..models import AUDIENCES, HelpDocument
from ..public.photos import send_stored
from ..security import current_actor, require
from ..services import documents as svc
from ..services.errors import ServiceError
from . import bp
from .home import manager, signed_in

FIELDS = ("title", "description", "category", "fiscal_year", "audience", "url", "note")
LIMITS = {
    "title": svc.MAX_TITLE * 2,
    "description": svc.MAX_DESCRIPTION * 2,
    "category": 40,
    "fiscal_year": 10,
    "audience": 20,
    "url": svc.MAX_URL * 2,
    "note": svc.MAX_NOTE * 2,
}


def _storage() -> svc.Storage:
    cfg = current_app.config
    return svc.Storage(cfg["PINMAP_UPLOAD_DIR_PATH"], cfg["PINMAP_MAX_UPLOAD_BYTES"])


def _typed() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in FIELDS}


def _content(form: dict[str, str]) -> svc.Content:
    upload = request.files.get("file")
    sent = upload is not None and bool(upload.filename)
    return svc.Content(
        upload=svc.Upload(upload.stream, upload.filename or "") if sent and upload else None,
        url=form["url"],
        note=form["note"],
    )


# What kind of file a version is, next to its download link (brand names stay as they are).
FILE_KINDS = {
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
}


def _category_names() -> dict[str, tuple[str, str]]:
    return {c.code: (c.name_th, c.name_en) for c in svc.categories()}


def _years() -> list[int]:
    now = current_fiscal_year()
    return list(range(now + 1, now - 6, -1))


def _new_page(form: dict[str, str], error: str | None = None) -> Any:
    return render_template(
        "help/document_new.html",
        form=form,
        error=error,
        categories=svc.categories(),
        audiences=AUDIENCES,
        years=_years(),
    )


def _replace_page(doc: HelpDocument, form: dict[str, str], error: str | None = None) -> Any:
    return render_template(
        "help/document_replace.html",
        doc=doc,
        form=form,
        error=error,
        category_names=_category_names(),
    )


@bp.get("/documents")
def documents() -> Any:
    session = get_session()
    category = request.args.get("category", "").strip()
    if category not in svc.category_codes():
        category = ""
    year_text = request.args.get("fiscal_year", "").strip()
    year = int(year_text) if year_text.isdigit() and len(year_text) == 4 else None
    is_manager = manager()
    return render_template(
        "help/documents.html",
        docs=svc.listing(
            session, signed_in(), category=category, fiscal_year=year, manager=is_manager
        ),
        categories=svc.categories(),
        category_names=_category_names(),
        chosen={"category": category, "fiscal_year": year},
        years=svc.fiscal_years(session),
        manager=is_manager,
        file_kinds=FILE_KINDS,
    )


@bp.get("/documents/<int:doc_id>")
def document(doc_id: int) -> Any:
    is_manager = manager()
    doc = svc.visible_or_404(get_session(), doc_id, signed_in(), manager=is_manager)
    return render_template(
        "help/document.html", doc=doc, manager=is_manager, category_names=_category_names()
    )


@bp.get("/documents/<int:doc_id>/versions/<int:version_no>")
def document_file(doc_id: int, version_no: int) -> Any:
    """A version's file, sandboxed (it never runs as a page of this site); a link version sends
    the reader nowhere but the document's page."""
    doc = svc.visible_or_404(get_session(), doc_id, signed_in(), manager=manager())
    version = svc.version_or_404(doc, version_no)
    if version.stored_name is None:
        abort(404)
    return send_stored(version.stored_name, version.mime, version.original_name)


@bp.get("/documents/new")
@require("manage_help")
def document_new() -> Any:
    form = dict.fromkeys(FIELDS, "")
    form.update(audience="public", fiscal_year=str(current_fiscal_year()))
    return _new_page(form)


@bp.post("/documents/new")
@require("manage_help")
def document_create() -> Any:
    form = _typed()
    session = get_session()
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        data = svc.DocumentInput(
            title=form["title"],
            description=form["description"],
            category=forms.one_of(form["category"], "category", svc.category_codes()),
            fiscal_year=forms.whole(
                form["fiscal_year"], "fiscal_year", *svc.FISCAL_YEARS, required=True
            ),
            audience=forms.one_of(form["audience"], "audience", AUDIENCES),
        )
        doc = svc.create(session, current_actor(), data, _content(form), _storage())
    except ServiceError as err:
        session.rollback()
        return _new_page(form, service_message(err)), err.status
    session.commit()
    flash(_("The document is in the library."))
    return redirect(url_for("help.document", doc_id=doc.id))


@bp.get("/documents/<int:doc_id>/replace")
@require("manage_help")
def document_replace_form(doc_id: int) -> Any:
    doc = svc.get(get_session(), doc_id)
    return _replace_page(doc, dict.fromkeys(FIELDS, ""))


@bp.post("/documents/<int:doc_id>/replace")
@require("manage_help")
def document_replace(doc_id: int) -> Any:
    session = get_session()
    doc = svc.get(session, doc_id)
    form = _typed()
    try:
        forms.check_text(request.form, LIMITS, default_limit=100)
        version = svc.replace(session, current_actor(), doc, _content(form), _storage())
    except ServiceError as err:
        session.rollback()
        return _replace_page(svc.get(session, doc_id), form, service_message(err)), err.status
    session.commit()
    flash(
        _(
            "Version %(n)s is now the current one; the earlier versions are kept.",
            n=version.version_no,
        )
    )
    return redirect(url_for("help.document", doc_id=doc_id))


def _set_retired(doc_id: int, retired: bool) -> Any:
    session = get_session()
    doc = svc.get(session, doc_id)
    try:
        svc.set_retired(session, current_actor(), doc, retired)
    except ServiceError as err:
        session.rollback()
        flash(service_message(err), "error")
        return redirect(url_for("help.document", doc_id=doc_id)), 303
    session.commit()
    flash(
        _("The document is retired: readers no longer see it.")
        if retired
        else _("The document is back in the library.")
    )
    return redirect(url_for("help.document", doc_id=doc_id))


@bp.post("/documents/<int:doc_id>/retire")
@require("manage_help")
def document_retire(doc_id: int) -> Any:
    return _set_retired(doc_id, True)


@bp.post("/documents/<int:doc_id>/restore")
@require("manage_help")
def document_restore(doc_id: int) -> Any:
    return _set_retired(doc_id, False)
