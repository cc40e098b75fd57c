"""/admin/framework: a fiscal year's reporting framework (sets, items, fields, rounds), its
CSV/XLSX import and export, and starting the next year from it. Each write commits once."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import forms
from ..db import get_session
from ..downloads import content_disposition
from ..errors import service_message
from ..models import ITEM_FIELDS, PolicyDimension
from ..security import current_actor, require
from ..services import framework as svc
from ..services import progress
from ..services.errors import N_, ServiceError
from ..tables import ImportRejected
from . import bp

FIELD_LABELS = {
    "narrative": N_("Four-part narrative (what, where, how, result)"),
    "problems": N_("Problems, obstacles and suggestions"),
    "likely_success": N_("Likely success (on track, at risk, off track)"),
    "indicator": N_("Indicator value vs target, unit, achieved"),
    "served_goal": N_("How it served the goal"),
    "evidence": N_("Evidence (links and files)"),
    "story_image": N_("Story or summary infographic"),
}
LIMITS = {
    "code": 30,
    "no": 40,
    "position": 5,
    "title_th": svc.MAX_TITLE,
    "title_en": svc.MAX_TITLE,
    "source_note": svc.MAX_NOTE,
    "kind": 30,
    "dimension": 50,
    "fields": 20,
    "rounds": 3,
    "verified": 3,
    "fiscal_year": 10,
}


def _year_arg(raw: str | None) -> int:
    low, high = forms.FISCAL_YEARS
    text = (raw or "").strip()
    if text.isascii() and text.isdigit() and low <= int(text) <= high:
        return int(text)
    abort(400, description=_("The fiscal year must be a Buddhist Era year such as 2567."))


def _page(
    year: int,
    *,
    error: str | None = None,
    problems: list[dict[str, Any]] | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    session = get_session()
    current = progress.shown_fiscal_year(session, current_actor().today_bangkok)
    years = sorted(set(svc.years(session)) | {current, year}, reverse=True)
    items = svc.items_of(session, year)
    used = svc.reported_item_ids(session, (i.id for i in items))
    windows = progress.windows(session, year)
    return render_template(
        "admin/framework.html",
        year=year,
        years=years,
        current_year=current,
        sets=svc.sets_of(session, year),
        items=items,
        reported=used,
        dimensions=session.scalars(
            select(PolicyDimension).filter_by(fiscal_year=year).order_by(PolicyDimension.no)
        ).all(),
        windows=windows,
        asked={w.round_no: sum(1 for i in items if i.asked_in(w.round_no)) for w in windows},
        source_year=svc.source_year(session, year),
        field_keys=ITEM_FIELDS,
        field_labels=FIELD_LABELS,
        error=error,
        problems=problems or [],
        typed=typed or {},
    ), status


@bp.get("/framework")
@require("manage_catalogue")
def framework() -> Any:
    raw = request.args.get("fiscal_year")
    year = (
        _year_arg(raw)
        if raw
        else progress.shown_fiscal_year(get_session(), current_actor().today_bangkok)
    )
    return _page(year)[0]


def _write(year: int, action: Any, done: str, typed: dict[str, Any] | None = None) -> Any:
    """Check the form, run one service call, commit once; else the page with what was typed."""
    session = get_session()
    try:
        forms.check_text(request.form, LIMITS)
        action()
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _page(year, error=service_message(err), typed=typed, status=_status(err))
    flash(done)
    return redirect(url_for("admin.framework", fiscal_year=year))


def _status(err: ServiceError) -> int:
    return err.status if err.status in (400, 404, 409) else 400


@bp.post("/framework/<int:fiscal_year>/sets")
@require("manage_catalogue")
def framework_save_set(fiscal_year: int) -> Any:
    year = _year_arg(str(fiscal_year))
    f = request.form

    def action() -> None:
        svc.save_set(
            get_session(),
            current_actor(),
            year,
            code=f.get("code", ""),
            title_th=f.get("title_th", ""),
            title_en=f.get("title_en", ""),
            position=f.get("position", ""),
        )

    typed = {"set": {k: f.get(k, "") for k in ("code", "title_th", "title_en", "position")}}
    return _write(year, action, _("Item set saved."), typed)


@bp.post("/framework/<int:fiscal_year>/items")
@require("manage_catalogue")
def framework_save_item(fiscal_year: int) -> Any:
    year = _year_arg(str(fiscal_year))
    f = request.form

    def action() -> None:
        svc.save_item(
            get_session(),
            current_actor(),
            year,
            kind=f.get("kind", ""),
            no=f.get("no", ""),
            title_th=f.get("title_th", ""),
            title_en=f.get("title_en", ""),
            fields=f.getlist("fields"),
            rounds=f.getlist("rounds"),
            dimension=f.get("dimension", ""),
            verified=f.get("verified") == "yes",
            source_note=f.get("source_note", ""),
        )

    typed = {
        "item": {
            **{
                k: f.get(k, "")
                for k in ("kind", "no", "title_th", "title_en", "dimension", "source_note")
            },
            "fields": f.getlist("fields"),
            "rounds": f.getlist("rounds"),
            "verified": f.get("verified") == "yes",
        }
    }
    return _write(year, action, _("Item saved."), typed)


def _item(item_id: int) -> Any:
    try:
        return svc.item_or_404(get_session(), item_id)
    except ServiceError as err:
        abort(404, description=service_message(err))


@bp.post("/framework/items/<int:item_id>/retire")
@require("manage_catalogue")
def framework_retire_item(item_id: int) -> Any:
    item = _item(item_id)
    retire = request.form.get("retired", "yes") == "yes"
    return _write(
        item.fiscal_year,
        lambda: svc.set_retired(get_session(), current_actor(), item, retire),
        _("Item retired.") if retire else _("Item restored."),
    )


@bp.post("/framework/items/<int:item_id>/delete")
@require("manage_catalogue")
def framework_delete_item(item_id: int) -> Any:
    item = _item(item_id)
    return _write(
        item.fiscal_year,
        lambda: svc.delete_item(get_session(), current_actor(), item),
        _("Item deleted."),
    )


@bp.post("/framework/<int:fiscal_year>/start")
@require("manage_catalogue")
def framework_start_year(fiscal_year: int) -> Any:
    """Start `fiscal_year` from the latest year before it that has a framework (copies the
    framework and its round plan, not the reports)."""
    year = _year_arg(str(fiscal_year))
    source = svc.source_year(get_session(), year)
    if source is None:
        return _page(
            year,
            error=_("No earlier fiscal year has a framework to start from."),
            status=404,
        )
    return _write(
        year,
        lambda: svc.start_year(get_session(), current_actor(), source, year),
        _(
            "Fiscal year %(year)s started from %(previous)s; check and edit it below.",
            year=year,
            previous=source,
        ),
    )


@bp.post("/framework/import")
@require("manage_catalogue")
def framework_import() -> Any:
    session = get_session()
    fallback = progress.shown_fiscal_year(session, current_actor().today_bangkok)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(fallback, error=_("Choose a CSV or XLSX file to import."), status=400)
    name = forms.file_name(upload.filename)
    try:
        summary = svc.import_upload(session, current_actor(), upload.read(), name)
        session.commit()
    except ImportRejected as err:
        session.rollback()
        rows = [
            {
                "row": p.row or "",
                "column": p.column,
                "reason": _(p.msgid, **p.params),
            }
            for p in err.problems
        ]
        return _page(fallback, error=service_message(err), problems=rows, status=400)
    except ServiceError as err:
        session.rollback()
        return _page(fallback, error=service_message(err), status=_status(err))
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
            _("The file matches fiscal year %(year)s; nothing changed.", year=summary.fiscal_year)
        )
    return redirect(url_for("admin.framework", fiscal_year=summary.fiscal_year))


@bp.get("/framework/<int:fiscal_year>.<fmt>")
@require("manage_catalogue")
def framework_export(fiscal_year: int, fmt: str) -> Any:
    year = _year_arg(str(fiscal_year))
    session = get_session()
    if fmt == "csv":
        body, mime = svc.export_csv(session, year), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body = svc.export_xlsx(session, year)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(404)
    return Response(
        body,
        mimetype=mime.split(";")[0],
        headers={
            "Content-Disposition": content_disposition(f"framework-{year}.{fmt}"),
            "Content-Type": mime,
        },
    )
