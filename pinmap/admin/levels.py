"""/admin/levels: a fiscal year's performance level scales (per result category or indicator),
the form that saves one, copying a year's scales, and their CSV/XLSX import and export."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import forms
from ..db import get_session
from ..downloads import content_disposition
from ..errors import service_message
from ..fiscal import current_fiscal_year
from ..models import RESULT_CATEGORIES
from ..security import current_actor, require
from ..services import levels as svc
from ..services import results as result_svc
from ..services.errors import N_, ServiceError
from ..tables import ImportRejected, Problem
from . import bp

FORM_LEVELS = 6  # rows on the form; a file may carry up to svc.MAX_LEVELS
SCALE_FIELDS = ("category", "indicator", "range_min", "range_max", "source_note")
LEVEL_FIELDS = ("name_th", "name_en", "min_value")
COLUMN_LABELS = {
    "fiscal_year": N_("Fiscal year"),
    "category": N_("Category"),
    "indicator": N_("Indicator"),
    "range_min": N_("Range from"),
    "range_max": N_("Range to"),
    "position": N_("Levels"),
    "name_th": N_("Name (Thai)"),
    "name_en": N_("Name (English)"),
    "min_value": N_("From (inclusive)"),
    "source_note": N_("Source"),
    "verified": N_("Verified"),
}
LIMITS = {
    "fiscal_year": 10,
    "source": 10,
    "target": 10,
    "category": 30,
    "indicator": 1_000,
    "range_min": 30,
    "range_max": 30,
    "source_note": 2_000,
    "verified": 3,
    **{f"{k}_{n}": 200 for k in LEVEL_FIELDS for n in range(1, FORM_LEVELS + 1)},
}


def _year(raw: str | None) -> int:
    text = (raw or "").strip()
    if text.isascii() and text.isdigit() and svc.YEARS[0] <= int(text) <= svc.YEARS[1]:
        return int(text)
    abort(400, description=_("The fiscal year must be a Buddhist Era year such as 2567."))


def _typed_of(scale: Any) -> dict[str, Any]:
    typed: dict[str, Any] = {
        "category": scale.category,
        "indicator": scale.indicator,
        "range_min": f"{scale.range_min:g}",
        "range_max": f"{scale.range_max:g}",
        "source_note": scale.source_note,
        "verified": scale.verified,
    }
    for lv in scale.levels:
        typed[f"name_th_{lv.position}"] = lv.name_th
        typed[f"name_en_{lv.position}"] = lv.name_en
        typed[f"min_value_{lv.position}"] = f"{lv.min_value:g}"
    return typed


def _problem_rows(problems: list[Problem], *, form: bool) -> list[dict[str, Any]]:
    return [
        {
            "row": (p.row or "") if not form else (_("Level %(n)s", n=p.row) if p.row else ""),
            "column": _(COLUMN_LABELS[p.column]) if p.column in COLUMN_LABELS else p.column,
            "reason": _(p.msgid, **p.params),
        }
        for p in problems
    ]


def _page(
    year: int,
    *,
    typed: dict[str, Any] | None = None,
    error: str | None = None,
    problems: list[dict[str, Any]] | None = None,
    bad: set[str] | None = None,
    status: int = 200,
) -> Any:
    session = get_session()
    current = current_fiscal_year()
    have = svc.years_with_scales(session)
    years = sorted(set(have) | {current, year}, reverse=True)
    return (
        render_template(
            "admin/levels.html",
            year=year,
            years=years,
            current_year=current,
            sources=[y for y in have if y != year],
            scales=svc.scales_of(session, year),
            categories=RESULT_CATEGORIES,
            category_labels=result_svc.CATEGORY_LABELS,
            form_levels=FORM_LEVELS,
            typed=typed or {"range_min": "0", "range_max": "100"},
            error=error,
            problems=problems or [],
            bad=bad or set(),
        ),
        status,
    )


@bp.get("/levels")
@require("manage_catalogue")
def levels() -> Any:
    raw = request.args.get("fiscal_year")
    year = _year(raw) if raw else current_fiscal_year()
    edit = request.args.get("edit", "")
    typed = None
    if edit:
        if not (edit.isascii() and edit.isdigit() and len(edit) < 10):
            abort(404)
        try:
            scale = svc.scale_or_404(get_session(), int(edit))
        except ServiceError as err:
            abort(404, description=service_message(err))
        year, typed = scale.fiscal_year, _typed_of(scale)
    return _page(year, typed=typed)[0]


def _status(err: ServiceError) -> int:
    return err.status if err.status in (400, 403, 404, 409) else 400


@bp.post("/levels/<int:fiscal_year>/scales")
@require("manage_catalogue")
def levels_save(fiscal_year: int) -> Any:
    year = _year(str(fiscal_year))
    f = request.form
    typed: dict[str, Any] = {k: f.get(k, "") for k in SCALE_FIELDS}
    typed["verified"] = f.get("verified") == "yes"
    rows = []
    for n in range(1, FORM_LEVELS + 1):
        for k in LEVEL_FIELDS:
            typed[f"{k}_{n}"] = f.get(f"{k}_{n}", "")
        rows.append(
            svc.LevelInput(
                typed[f"name_th_{n}"], typed[f"name_en_{n}"], typed[f"min_value_{n}"].strip(), n
            )
        )
    session = get_session()
    try:
        forms.check_text(f, LIMITS)
        scale = svc.save_scale(
            session,
            current_actor(),
            svc.ScaleInput(
                year,
                typed["category"],
                typed["indicator"],
                typed["range_min"],
                typed["range_max"],
                rows,
                typed["source_note"],
                typed["verified"],
            ),
        )
        session.commit()
    except svc.ScaleRefused as err:
        session.rollback()
        bad = {f"{p.column}_{p.row}" if p.row else p.column for p in err.problems}
        return _page(
            year,
            typed=typed,
            error=service_message(err),
            problems=_problem_rows(err.problems, form=True),
            bad=bad,
            status=400,
        )
    except ServiceError as err:
        session.rollback()
        return _page(year, typed=typed, error=service_message(err), status=_status(err))
    flash(_("Level scale saved."))
    return redirect(url_for("admin.levels", fiscal_year=scale.fiscal_year))


@bp.post("/levels/scales/<int:scale_id>/delete")
@require("manage_catalogue")
def levels_delete(scale_id: int) -> Any:
    session = get_session()
    try:
        scale = svc.scale_or_404(session, scale_id)
    except ServiceError as err:
        abort(404, description=service_message(err))
    year = scale.fiscal_year
    try:
        svc.delete_scale(session, current_actor(), scale)
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _page(year, error=service_message(err), status=_status(err))
    flash(_("Level scale deleted."))
    return redirect(url_for("admin.levels", fiscal_year=year))


@bp.post("/levels/<int:fiscal_year>/copy")
@require("manage_catalogue")
def levels_copy(fiscal_year: int) -> Any:
    year = _year(str(fiscal_year))
    session = get_session()
    try:
        forms.check_text(request.form, LIMITS)
        source = forms.whole(request.form.get("source", ""), "source", *svc.YEARS, required=True)
        summary = svc.copy_year(session, current_actor(), source, year)
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _page(year, error=service_message(err), status=_status(err))
    flash(
        _(
            "%(copied)s scale(s) copied from fiscal year %(source)s; %(kept)s already set here "
            "were kept.",
            copied=summary.copied,
            source=summary.source,
            kept=summary.kept,
        )
    )
    return redirect(url_for("admin.levels", fiscal_year=year))


@bp.post("/levels/import")
@require("manage_catalogue")
def levels_import() -> Any:
    session = get_session()
    fallback = current_fiscal_year()
    raw = request.form.get("fiscal_year", "")
    if raw.isascii() and raw.isdigit() and svc.YEARS[0] <= int(raw) <= svc.YEARS[1]:
        fallback = int(raw)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(fallback, error=_("Choose a CSV or XLSX file to import."), status=400)
    name = forms.file_name(upload.filename)
    try:
        summary = svc.import_upload(session, current_actor(), upload.read(), name)
        session.commit()
    except ImportRejected as err:
        session.rollback()
        return _page(
            fallback,
            error=service_message(err),
            problems=_problem_rows(err.problems, form=False),
            status=400,
        )
    except ServiceError as err:
        session.rollback()
        return _page(fallback, error=service_message(err), status=_status(err))
    flash(
        _(
            "%(scales)s scale(s) with %(levels)s level(s) saved from the file.",
            scales=summary.scales,
            levels=summary.levels,
        )
    )
    return redirect(url_for("admin.levels", fiscal_year=summary.years[-1]))


@bp.get("/levels/<int:fiscal_year>.<fmt>")
@require("manage_catalogue")
def levels_export(fiscal_year: int, fmt: str) -> Any:
    year = _year(str(fiscal_year))
    session = get_session()
    if fmt == "csv":
        body: str | bytes = svc.export_csv(session, year)
        mime = "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body = svc.export_xlsx(session, year)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(404)
    return Response(
        body,
        mimetype=mime.split(";")[0],
        headers={
            "Content-Disposition": content_disposition(f"levels-{year}.{fmt}"),
            "Content-Type": mime,
        },
    )
