"""Record schemas of the ingestion contracts (CONTRACTS.md), validated one record at a time."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

STATUSES = ("not_started", "on_plan", "plan_adjusted", "output_achieved")
SIX_POINTS = (
    "target_progress",
    "activity_progress",
    "budget_disbursement",
    "master_plan",
    "nesdp13",
    "problems_suggestions",
)


class _Strict(Schema):
    class Meta:
        unknown = EXCLUDE  # unknown fields are ignored, never stored


def _text(max_len: int, **kw: object) -> fields.String:
    return fields.String(validate=validate.Length(max=max_len), **kw)  # type: ignore[arg-type]


class ItemRef(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(["policy", "quick_win"]))
    no = fields.Integer(required=True, strict=True, validate=validate.Range(1, 99))


class Narrative(_Strict):
    what = _text(5000, load_default="")
    where = _text(5000, load_default="")
    how = _text(5000, load_default="")
    result = _text(5000, load_default="")


class Indicator(_Strict):
    value = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=0))
    target = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=0))
    unit = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(["number", "percent"])
    )


class NoActivity(_Strict):
    reason = _text(2000, load_default="")
    when = _text(2000, load_default="")


class EvidenceLink(_Strict):
    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    title = _text(300, load_default="")


class _Base(_Strict):
    id = fields.String(required=True, validate=validate.Length(1, 200))
    updated_at = fields.AwareDateTime(required=True)
    office_code = fields.String(required=True, validate=validate.Length(1, 60))
    fiscal_year = fields.Integer(required=True, strict=True, validate=validate.Range(2500, 2700))


class ProgressRecord(_Base):
    item = fields.Nested(ItemRef, required=True)
    round = fields.Integer(required=True, strict=True, validate=validate.Range(1, 12))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    narrative = fields.Nested(Narrative, required=True)
    indicator = fields.Nested(Indicator, load_default=None, allow_none=True)
    no_activity = fields.Nested(NoActivity, load_default=None, allow_none=True)
    evidence = fields.List(
        fields.Nested(EvidenceLink), load_default=list, validate=validate.Length(max=20)
    )


class Points(_Strict):
    target_progress = _text(5000, load_default="")
    activity_progress = _text(5000, load_default="")
    budget_disbursement = _text(5000, load_default="")
    master_plan = _text(5000, load_default="")
    nesdp13 = _text(5000, load_default="")
    problems_suggestions = _text(5000, load_default="")


class Budget(_Strict):
    planned = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=0))
    disbursed = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=0))


class QuarterlyRecord(_Base):
    quarter = fields.Integer(required=True, strict=True, validate=validate.Range(1, 4))
    project = fields.String(required=True, validate=validate.Length(1, 500))
    points = fields.Nested(Points, required=True)
    budget = fields.Nested(Budget, load_default=None, allow_none=True)


STATS_COLUMNS = ("office_code", "as_of", "schools", "teachers", "students", "staff")


class StatsRow(_Strict):
    office_code = fields.String(required=True, validate=validate.Length(1, 60))
    as_of = fields.Date(required=True)
    schools = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    teachers = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    students = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    staff = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))


SCHEMAS: dict[str, type[Schema]] = {
    "progress-json": ProgressRecord,
    "quarterly-json": QuarterlyRecord,
}
