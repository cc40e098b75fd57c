"""Authorization-matrix rows of work inside an office: the director's assignment form, and the
API's assign and take-back. authz_matrix adds these rows to ROWS."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from .authz_matrix import Ctx, Row
from .portal import OWN

# The office's director, and OBEC's admins for any office; nobody else.
ASSIGNERS = frozenset({"own_director", "admin"})
API_ITEM = "/api/v1/offices/<code>/assignments/<int(max=32767):fiscal_year>/<kind>/<no>"


def _today() -> dt.date:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()


def _api_url(c: Ctx) -> str:
    return f"/api/v1/offices/{OWN}/assignments/{c.fy}/{c.w.item.kind}/{c.w.item.no}"


def _assigned(c: Ctx) -> None:
    """The world's item given to the own office's editor, due today."""
    c.conn.execute(
        text(
            "INSERT INTO item_assignments (office_id, item_id, round_no, user_id, due_on, note) "
            "SELECT id, :item, 1, :ed, :due, '' FROM offices WHERE code = :own"
        ),
        {"item": c.w.item.id, "ed": c.user_id("own_editor"), "due": _today(), "own": OWN},
    )


def _form(c: Ctx) -> dict[str, str]:
    today = _today()
    item = c.w.item.id
    return {
        "fiscal_year": str(c.fy),
        f"user_{item}": str(c.user_id("own_editor")),
        f"round_{item}": "1",
        f"due_{item}": f"{today.day:02d}/{today.month:02d}/{today.year + 543}",
        f"note_{item}": "ส่งก่อนประชุม",
    }


ROWS: list[Row] = [
    Row(
        "page assign the office's items",
        "POST",
        "/portal/offices/<code>/assignments",
        ASSIGNERS,
        act=lambda c, who, _: c.page(who).post(f"/portal/offices/{OWN}/assignments", data=_form(c)),
    ),
    Row(
        "api assign an item",
        "PUT",
        API_ITEM,
        ASSIGNERS,
        api=True,
        act=lambda c, who, _: c.api().put(
            _api_url(c),
            headers=c.h(who),
            json={"user_id": c.user_id("own_editor"), "round_no": 1, "due_on": str(_today())},
        ),
    ),
    Row(
        "api take an item back",
        "DELETE",
        API_ITEM,
        ASSIGNERS,
        api=True,
        prepare=_assigned,
        act=lambda c, who, _: c.api().delete(_api_url(c), headers=c.h(who)),
    ),
]
