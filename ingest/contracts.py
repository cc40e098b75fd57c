"""Record schemas of the ingestion contracts (CONTRACTS.md), validated one record at a time."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from pinmap.models.reporting import ITEM_NO_PATTERN, SET_CODE_PATTERN

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


NUL_MESSAGE = "Must not contain NUL (\\x00) characters."
SURROGATE_MESSAGE = "Must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)."
# JSON may escape half of a UTF-16 pair ("\ud800"); Python keeps it, UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(field: fields.Field, value: Any) -> None:
    """Refuse, with the field named, what PostgreSQL text cannot hold (never a SQL error later)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise field.make_error("nul")
        if _SURROGATE.search(value):
            raise field.make_error("surrogate")


class Str(fields.String):
    """A string PostgreSQL can store: NUL and lone surrogates are refused with the field named."""

    default_error_messages = {"nul": NUL_MESSAGE, "surrogate": SURROGATE_MESSAGE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        _storable(self, text)
        return text


class SafeUrl(fields.Url):
    default_error_messages = {"nul": NUL_MESSAGE, "surrogate": SURROGATE_MESSAGE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        _storable(self, value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictFloat(fields.Float):
    """A JSON number only: "12" is a wrong type to quarantine, not a number to guess at."""

    def _validated(self, value: Any) -> float:
        if not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def _text(max_len: int, **kw: Any) -> Str:
    return Str(validate=validate.Length(max=max_len), **kw)


def _amount() -> StrictFloat:
    return StrictFloat(allow_none=True, load_default=None, validate=validate.Range(min=0))


class ItemNo(fields.Field):
    """An item's number in its set: a whole number (4) or the framework's text number of a
    sub-item ("4", "4.1", "4.1.2"); loaded as the text the framework stores."""

    default_error_messages = {
        "invalid": 'Must be a whole number 1-999 or a sub-item number such as "4.1".'
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.make_error("invalid")
        text = str(value)
        if not re.fullmatch(ITEM_NO_PATTERN, text):
            raise self.make_error("invalid")
        return text


class ItemRef(_Strict):
    # The item set's code in that year's framework (policy, quick_win, action_plan, ...).
    kind = Str(required=True, validate=validate.Regexp(f"^{SET_CODE_PATTERN}$"))
    no = ItemNo(required=True)


class Narrative(_Strict):
    what = _text(5000, load_default="")
    where = _text(5000, load_default="")
    how = _text(5000, load_default="")
    result = _text(5000, load_default="")


class Indicator(_Strict):
    value = _amount()
    target = _amount()
    unit = Str(allow_none=True, load_default=None, validate=validate.OneOf(["number", "percent"]))


class NoActivity(_Strict):
    reason = _text(2000, load_default="")
    when = _text(2000, load_default="")


class EvidenceLink(_Strict):
    url = SafeUrl(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    title = _text(300, load_default="")


class _Base(_Strict):
    id = Str(required=True, validate=validate.Length(1, 200))
    updated_at = fields.AwareDateTime(required=True)
    office_code = Str(required=True, validate=validate.Length(1, 60))
    fiscal_year = fields.Integer(required=True, strict=True, validate=validate.Range(2500, 2700))


class ProgressRecord(_Base):
    item = fields.Nested(ItemRef, required=True)
    round = fields.Integer(required=True, strict=True, validate=validate.Range(1, 12))
    status = Str(required=True, validate=validate.OneOf(STATUSES))
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
    planned = _amount()
    disbursed = _amount()


class QuarterlyRecord(_Base):
    quarter = fields.Integer(required=True, strict=True, validate=validate.Range(1, 4))
    project = Str(required=True, validate=validate.Length(1, 500))
    points = fields.Nested(Points, required=True)
    budget = fields.Nested(Budget, load_default=None, allow_none=True)


STATS_COLUMNS = ("office_code", "as_of", "schools", "teachers", "students", "staff")


class StatsRow(_Strict):
    office_code = Str(required=True, validate=validate.Length(1, 60))
    as_of = fields.Date(required=True)
    schools = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    teachers = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    students = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))
    staff = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))


SCHEMAS: dict[str, type[Schema]] = {
    "progress-json": ProgressRecord,
    "quarterly-json": QuarterlyRecord,
}
