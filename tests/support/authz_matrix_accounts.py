"""Authorization-matrix rows of the account and admin pages added with self-service: importing
users, editing and deleting a reporting window. authz_matrix adds these rows to ROWS."""

from __future__ import annotations

import io

from .authz_matrix import ADMIN, Ctx, Row, _multipart
from .portal import OWN


def _window(c: Ctx) -> int:
    return int(
        c.scalar(
            "SELECT id FROM reporting_windows WHERE fiscal_year = :fy ORDER BY round_no LIMIT 1",
            fy=c.fy,
        )
    )


def _spare_window(c: Ctx) -> int:
    """A round nobody reported in (same dates as the year's first), so it may be deleted."""
    return int(
        c.scalar(
            "INSERT INTO reporting_windows (fiscal_year, round_no, label_th, label_en, opens_on, "
            "closes_on) SELECT fiscal_year, 11, 'รอบสำรอง', 'Spare', opens_on, closes_on "
            "FROM reporting_windows WHERE fiscal_year = :fy ORDER BY round_no LIMIT 1 "
            "RETURNING id",
            fy=c.fy,
        )
    )


def _window_form(c: Ctx, window_id: int) -> dict[str, str]:
    opens, closes = c.conn.exec_driver_sql(
        "SELECT opens_on, closes_on FROM reporting_windows WHERE id = %s", (window_id,)
    ).one()
    return {
        "label_th": "รอบแก้ไข",
        "label_en": "Edited round",
        "opens_on": opens.isoformat(),
        "closes_on": closes.isoformat(),
    }


ROWS: list[Row] = [
    Row(
        "admin import users",
        "POST",
        "/admin/users/import",
        ADMIN,
        act=lambda c, who, _: _multipart(
            c.page(who),
            "/admin/users/import",
            {
                "file": (
                    io.BytesIO(
                        f"email,name,role,office_code\nimported@example.go.th,ใหม่,office_editor,{OWN}\n".encode()
                    ),
                    "users.csv",
                )
            },
        ),
    ),
    Row(
        "admin edit a reporting window",
        "POST",
        "/admin/windows/<int:window_id>",
        ADMIN,
        prepare=_window,
        act=lambda c, who, wid: c.page(who).post(
            f"/admin/windows/{wid}", data=_window_form(c, wid)
        ),
    ),
    Row(
        "admin delete a reporting window",
        "POST",
        "/admin/windows/<int:window_id>/delete",
        ADMIN,
        prepare=_spare_window,
        act=lambda c, who, wid: c.page(who).post(f"/admin/windows/{wid}/delete"),
    ),
]
