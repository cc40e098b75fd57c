"""Work inside an office: the director gives each item to a member of staff with an internal due
date (…/assignments), sees who is late (…/assignments/late), and each person reads the items
given to them (/portal/my-items)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..models import MAX_ASSIGNMENT_NOTE, Office, PolicyItem
from ..security import current_actor, require
from ..services import assignments as svc
from ..services import progress
from ..services.errors import N_, ServiceError
from . import bp
from .common import fiscal_year_arg, readable_office

ROW_FIELDS = ("user", "round", "due", "note")


def _assigning_office(code: str) -> Office:
    office = readable_office(code)
    if not can(current_user, "assign_items", office.id):
        abort(
            403,
            description=_("Only the office's director (or an administrator) assigns its items."),
        )
    return office


def _page(
    office: Office,
    fiscal_year: int,
    typed: dict[int, dict[str, str]] | None = None,
    error: str | None = None,
    status: int = 200,
    error_item: int | None = None,
) -> Any:
    session = get_session()
    today = current_actor().today_bangkok
    items = progress.items_of(session, fiscal_year)
    windows = progress.windows(session, fiscal_year)
    rounds = {it.id: [w for w in windows if it.asked_in(w.round_no)] for it in items}
    return (
        render_template(
            "portal/assignments.html",
            office=office,
            fiscal_year=fiscal_year,
            items=[it for it in items if not it.retired],
            rounds=rounds,
            default_round={it.id: svc.default_round(windows, it, today) for it in items},
            current=svc.of_office(session, office.id, fiscal_year),
            staff=svc.assignable_users(session, office.id),
            typed=typed or {},
            error=error,
            error_item=error_item,
            note_limit=MAX_ASSIGNMENT_NOTE,
            framework_years=progress.framework_years(session),
        ),
        status,
    )


@bp.get("/offices/<code>/assignments")
@require("view_portal")
def assignments(code: str) -> Any:
    office = _assigning_office(code)
    return _page(office, fiscal_year_arg())


def _typed_rows() -> dict[int, dict[str, str]]:
    """Each item's row as typed, by item id (rows are named user_<id>, due_<id>, …)."""
    typed: dict[int, dict[str, str]] = {}
    for name in request.form:
        field, _sep, raw_id = name.partition("_")
        if field != "user" or not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 9:
            continue
        typed[int(raw_id)] = {f: request.form.get(f"{f}_{raw_id}", "") for f in ROW_FIELDS}
    return typed


def _rows(fiscal_year: int, typed: dict[int, dict[str, str]]) -> list[svc.RowInput]:
    limits = {f"note_{i}": MAX_ASSIGNMENT_NOTE for i in typed}
    forms.check_text(request.form, limits, default_limit=40)
    items = {it.id: it for it in progress.items_of(get_session(), fiscal_year)}
    rows = []
    for item_id, row in typed.items():
        item = items.get(item_id)
        if item is None:
            raise ServiceError(404, N_("No such item in fiscal year %(fy)s."), fy=fiscal_year)
        who = row["user"].strip()
        if not who:
            rows.append(svc.RowInput(item_id, None, None, None))
            continue
        # A choice not from the list is nobody of this office: the service says so by item.
        user_id = int(who) if who.isascii() and who.isdigit() and len(who) <= 9 else 0
        round_text = row["round"].strip()
        round_no = (
            int(round_text)
            if round_text.isascii() and round_text.isdigit() and len(round_text) <= 4
            else None
        )
        try:
            due_on = forms.day(row["due"], "due_on")
        except ServiceError as err:
            raise ServiceError(
                400,
                N_(
                    "Item %(item)s: write the internal due date as day/month/year, e.g. 01/09/2569."
                ),
                item=svc.ItemName(item),
            ) from err
        rows.append(svc.RowInput(item_id, user_id, round_no, due_on, row["note"]))
    return rows


@bp.post("/offices/<code>/assignments")
@require("view_portal")
def assignments_save(code: str) -> Any:
    office = _assigning_office(code)
    fiscal_year = forms.whole(request.form.get("fiscal_year"), "fiscal_year", *forms.FISCAL_YEARS)
    if fiscal_year is None or not progress.has_framework(get_session(), fiscal_year):
        abort(404)
    typed = _typed_rows()
    session = get_session()
    try:
        changed = svc.save(session, current_actor(), office, fiscal_year, _rows(fiscal_year, typed))
    except ServiceError as err:
        session.rollback()
        status = err.status if err.status in (400, 403, 404, 409) else 400
        # The row the refusal is about is marked, so it is found in a long table.
        named = getattr(err.params.get("item"), "item_id", None)
        return _page(office, fiscal_year, typed, service_message(err), status, named)
    session.commit()
    flash(_("Assignments saved: %(n)s changed.", n=changed))
    return redirect(url_for("portal.assignments", code=office.code, fiscal_year=fiscal_year))


@bp.get("/offices/<code>/assignments/late")
@require("view_portal")
def assignments_late(code: str) -> Any:
    office = _assigning_office(code)
    fiscal_year = fiscal_year_arg()
    session = get_session()
    today = current_actor().today_bangkok
    return render_template(
        "portal/late.html",
        office=office,
        fiscal_year=fiscal_year,
        groups=svc.late(session, office.id, fiscal_year, today),
        today=today,
        framework_years=progress.framework_years(session),
        entry_url=item_entry_url,
    )


@bp.get("/my-items")
@require("view_own_items")
def my_items() -> Any:
    session = get_session()
    today = current_actor().today_bangkok
    return render_template(
        "portal/my_items.html",
        rows=svc.my_items(session, current_user, today),
        office=current_user.office,
        today=today,
        entry_url=item_entry_url,
    )


def item_entry_url(office: Office, item: PolicyItem, round_no: int) -> str:
    """The address of the item's report in that round (a row's link)."""
    return url_for(
        "portal.entry",
        code=office.code,
        fiscal_year=item.fiscal_year,
        round_no=round_no,
        kind=item.kind,
        no=item.no,
    )
