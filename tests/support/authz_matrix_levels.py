"""Authorization-matrix rows of the performance level scales (/admin/levels: save, delete, copy
a year, import). authz_matrix adds these rows to ROWS; the crawler's sample scale is here too."""

from __future__ import annotations

import io

from sqlalchemy import text

from .authz_matrix import ADMIN, Ctx, Row, _multipart
from .portal import OWN

LEVELS_FORM = {
    "category": "policy",
    "indicator": "",
    "range_min": "0",
    "range_max": "100",
    "name_th_1": "ดีเยี่ยม",
    "name_en_1": "Excellent",
    "min_value_1": "80",
    "name_th_2": "ปรับปรุง",
    "name_en_2": "Needs improvement",
    "min_value_2": "0",
}
LEVELS_CSV = (
    "fiscal_year,category,indicator,range_min,range_max,position,name_th,name_en,min_value,"
    "verified,source_note\r\n"
    "2567,policy,,0,100,1,ผ่าน,Pass,60,no,\r\n"
    "2567,policy,,0,100,2,ไม่ผ่าน,Fail,0,no,\r\n"
).encode()


def level_scale(c: Ctx, fiscal_year: int = 2566) -> int:
    """A two-level scale of the policy category (no audit record: it is the row's state)."""
    scale_id = int(
        c.scalar(
            "INSERT INTO level_scales (fiscal_year, category, indicator, range_min, range_max, "
            "source_note, verified) VALUES (:fy, 'policy', '', 0, 100, '', false) RETURNING id",
            fy=fiscal_year,
        )
    )
    for position, th, en, bound in ((1, "ดีเยี่ยม", "Excellent", 80), (2, "ปรับปรุง", "Low", 0)):
        c.scalar(
            "INSERT INTO performance_levels (scale_id, position, name_th, name_en, min_value) "
            "VALUES (:s, :p, :th, :en, :b) RETURNING id",
            s=scale_id,
            p=position,
            th=th,
            en=en,
            b=bound,
        )
    return scale_id


def sample_levels(c: Ctx) -> None:
    """For the crawler: a scale of the world's year, and a result of the own office that it
    reads (the office page's levels, the shares page, the cluster page's results)."""
    level_scale(c, c.fy)
    c.conn.execute(
        text(
            "INSERT INTO result_records (office_id, fiscal_year, category, indicator, value, "
            "unit, source) SELECT id, :fy, 'policy', 'ร้อยละการดำเนินงานตามนโยบาย', 85, '%', "
            "'import' FROM offices WHERE code = :own ON CONFLICT DO NOTHING"
        ),
        {"fy": c.fy, "own": OWN},
    )


ROWS: list[Row] = [
    Row(
        "admin save a level scale",
        "POST",
        "/admin/levels/<int:fiscal_year>/scales",
        ADMIN,
        act=lambda c, who, _: c.page(who).post("/admin/levels/2567/scales", data=LEVELS_FORM),
    ),
    Row(
        "admin delete a level scale",
        "POST",
        "/admin/levels/scales/<int:scale_id>/delete",
        ADMIN,
        prepare=level_scale,
        act=lambda c, who, sid: c.page(who).post(f"/admin/levels/scales/{sid}/delete"),
    ),
    Row(
        "admin copy a year's level scales",
        "POST",
        "/admin/levels/<int:fiscal_year>/copy",
        ADMIN,
        prepare=level_scale,
        act=lambda c, who, _: c.page(who).post("/admin/levels/2567/copy", data={"source": "2566"}),
    ),
    Row(
        "admin import level scales",
        "POST",
        "/admin/levels/import",
        ADMIN,
        act=lambda c, who, _: _multipart(
            c.page(who), "/admin/levels/import", {"file": (io.BytesIO(LEVELS_CSV), "levels.csv")}
        ),
    ),
]
