"""/api/v1 read routes for performance levels: a year's level scales, an office's levels
across years, and the share of offices at or above a level (nationally and per cluster)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint
from ..models import RESULT_CATEGORIES
from ..services import levels as svc
from ..services.errors import N_, ServiceError
from .profile_parts import office

bp = Blueprint(
    "levels_api",
    __name__,
    url_prefix="/api/v1",
    description="Performance levels: OBEC's level scales and the results read on them (public)",
)


class LevelSchema(Schema):
    position = fields.Integer(metadata={"description": "1 is the highest level"})
    name_th = fields.String()
    name_en = fields.String()
    min_value = fields.Float(metadata={"description": "lower bound, inclusive"})


class ScaleSchema(Schema):
    fiscal_year = fields.Integer()
    category = fields.String()
    indicator = fields.String(metadata={"description": "empty: every indicator of the category"})
    range_min = fields.Float()
    range_max = fields.Float()
    verified = fields.Boolean()
    source_note = fields.String()
    levels = fields.List(fields.Nested(LevelSchema))


class ScalesSchema(Schema):
    fiscal_year = fields.Integer()
    scales = fields.List(fields.Nested(ScaleSchema))


class YearArgs(Schema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(*svc.YEARS))


class OfficeLevelSchema(Schema):
    fiscal_year = fields.Integer()
    value = fields.Float(allow_none=True)
    level = fields.Integer(allow_none=True, metadata={"description": "position; null: no level"})
    name_th = fields.String(allow_none=True)
    name_en = fields.String(allow_none=True)


class OfficeIndicatorSchema(Schema):
    category = fields.String()
    indicator = fields.String()
    unit = fields.String()
    years = fields.List(fields.Nested(OfficeLevelSchema))


class OfficeLevelsSchema(Schema):
    office = fields.String()
    indicators = fields.List(fields.Nested(OfficeIndicatorSchema))


class ShareArgs(Schema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(*svc.YEARS))
    category = fields.String(required=True, validate=validate.OneOf(RESULT_CATEGORIES))
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=svc.MAX_INDICATOR))
    level = fields.Integer(load_default=1, validate=validate.Range(1, svc.MAX_LEVELS))


class ShareSchema(Schema):
    area = fields.String(metadata={"description": '"all" or the cluster number'})
    name_th = fields.String()
    name_en = fields.String()
    offices = fields.Integer()
    with_result = fields.Integer()
    at_or_above = fields.Integer()
    below = fields.Integer()
    out_of_range = fields.Integer()
    no_result = fields.Integer()
    percent = fields.String(metadata={"description": "two decimals, cut (never rounded up)"})


class SharesSchema(Schema):
    fiscal_year = fields.Integer()
    category = fields.String()
    indicator = fields.String()
    level = fields.Nested(LevelSchema)
    national = fields.Nested(ShareSchema)
    clusters = fields.List(fields.Nested(ShareSchema))


def _scale(s: Any) -> dict[str, Any]:
    return {
        "fiscal_year": s.fiscal_year,
        "category": s.category,
        "indicator": s.indicator,
        "range_min": s.range_min,
        "range_max": s.range_max,
        "verified": s.verified,
        "source_note": s.source_note,
        "levels": [_level(lv) for lv in s.levels],
    }


def _level(lv: Any) -> dict[str, Any]:
    return {
        "position": lv.position,
        "name_th": lv.name_th,
        "name_en": lv.name_en,
        "min_value": lv.min_value,
    }


def _share(s: svc.Share) -> dict[str, Any]:
    return {
        "area": s.key,
        "name_th": s.label_th,
        "name_en": s.label_en,
        "offices": s.offices,
        "with_result": s.with_result,
        "at_or_above": s.at_or_above,
        "below": s.below,
        "out_of_range": s.out_of_range,
        "no_result": s.no_result,
        "percent": str(s.percent),
    }


@bp.route("/levels/scales")
@bp.arguments(YearArgs, location="query")
@bp.response(200, ScalesSchema)
def level_scales(args: dict[str, Any]) -> dict[str, Any]:
    """The level scales of a fiscal year, each with its levels from the highest down."""
    year = args["fiscal_year"]
    return {"fiscal_year": year, "scales": [_scale(s) for s in svc.scales_of(get_session(), year)]}


@bp.route("/offices/<code>/levels")
@bp.response(200, OfficeLevelsSchema)
def office_levels(code: str) -> dict[str, Any]:
    """The office's level for each result a scale reads, year by year."""
    found = office(code)
    years, rows = svc.office_levels(get_session(), found)
    return {
        "office": found.code,
        "indicators": [
            {
                "category": r.category,
                "indicator": r.indicator,
                "unit": r.unit,
                "years": [
                    {
                        "fiscal_year": y,
                        "value": c.value,
                        "level": c.level.position if c.level else None,
                        "name_th": c.level.name_th if c.level else None,
                        "name_en": c.level.name_en if c.level else None,
                    }
                    for y in years
                    if (c := r.cells.get(y)) is not None
                ],
            }
            for r in rows
        ],
    }


@bp.route("/levels/shares")
@bp.arguments(ShareArgs, location="query")
@bp.response(200, SharesSchema)
def level_shares(args: dict[str, Any]) -> dict[str, Any]:
    """How many offices are at or above a level, nationally and per cluster; every office is
    in the whole (one with no result is not at the level)."""
    report = svc.shares(
        get_session(), args["fiscal_year"], args["category"], args["indicator"], args["level"]
    )
    if report.scale is None or report.level is None or report.national is None:
        abort_json(ServiceError(404, N_("No level scale has that level for these results.")))
    return {
        "fiscal_year": report.fiscal_year,
        "category": report.category,
        "indicator": report.indicator,
        "level": _level(report.level),
        "national": _share(report.national),
        "clusters": [_share(c) for c in report.clusters],
    }
