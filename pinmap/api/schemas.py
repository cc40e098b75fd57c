"""Marshmallow schemas of API inputs and outputs; they also make the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..inputs import Int
from ..models import LOCATION_PRECISIONS, OFFICE_KINDS


class OfficeQuery(Schema):
    cluster = Int(
        strict=False, validate=validate.Range(1, 99), metadata={"description": "Cluster no."}
    )
    province = fields.String(
        validate=validate.Regexp(r"^\d{2}$"), metadata={"description": "DOPA province code"}
    )
    kind = fields.String(validate=validate.OneOf(OFFICE_KINDS))
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Name or code"})


class PointGeometry(Schema):
    type = fields.Constant("Point")
    coordinates = fields.List(fields.Float(), metadata={"description": "[lon, lat], EPSG:4326"})


class AnyGeometry(Schema):
    type = fields.String()
    coordinates = fields.Raw()


class OfficeProperties(Schema):
    code = fields.String(required=True)
    kind = fields.String(validate=validate.OneOf(OFFICE_KINDS))
    name_th = fields.String()
    name_en = fields.String()
    province_th = fields.String(metadata={"description": "Province of the office building"})
    province_code = fields.String()
    provinces_th = fields.List(fields.String(), metadata={"description": "Provinces covered"})
    province_codes = fields.List(fields.String(), metadata={"description": "DOPA codes covered"})
    cluster_no = fields.Integer()
    location_precision = fields.String(validate=validate.OneOf(LOCATION_PRECISIONS))


class OfficeDetailProperties(OfficeProperties):
    name_full_th = fields.String()
    amphoe_th = fields.String()
    province_en = fields.String()
    cluster_name_th = fields.String()
    cluster_name_en = fields.String()
    location_note = fields.String()
    updated_at = fields.String(allow_none=True)


class OfficeFeature(Schema):
    type = fields.Constant("Feature")
    id = fields.String()
    geometry = fields.Nested(PointGeometry)
    properties = fields.Nested(OfficeProperties)


class OfficeDetailFeature(OfficeFeature):
    properties = fields.Nested(OfficeDetailProperties)


class OfficeCollection(Schema):
    type = fields.Constant("FeatureCollection")
    features = fields.List(fields.Nested(OfficeFeature))


class ClusterSchema(Schema):
    no = fields.Integer()
    name_th = fields.String()
    name_en = fields.String()
    office_codes = fields.List(fields.String())
    province_codes = fields.List(fields.String())
    provinces_th = fields.List(fields.String())


class RegionFeature(Schema):
    type = fields.Constant("Feature")
    id = fields.Raw()
    geometry = fields.Nested(AnyGeometry)
    properties = fields.Dict()


class RegionCollection(Schema):
    type = fields.Constant("FeatureCollection")
    features = fields.List(fields.Nested(RegionFeature))


class CatalogueQuery(Schema):
    fiscal_year = Int(strict=False, load_default=2567, validate=validate.Range(2500, 2700))


class DimensionSchema(Schema):
    no = fields.Integer()
    key = fields.String()
    title_th = fields.String()
    title_en = fields.String()


class ItemSchema(Schema):
    kind = fields.String(metadata={"description": "The item set's code (policy, quick_win, ...)"})
    no = fields.String(metadata={"description": "The item's number in its set: 4, or 4.1"})
    title_th = fields.String()
    title_en = fields.String()
    dimension_no = fields.Integer(allow_none=True)
    verified = fields.Boolean(metadata={"description": "False: wording not checked vs OBEC text"})
    source_note = fields.String()


class CatalogueSchema(Schema):
    fiscal_year = fields.Integer()
    dimensions = fields.List(fields.Nested(DimensionSchema))
    items = fields.List(fields.Nested(ItemSchema))


class HealthSchema(Schema):
    status = fields.String()
    db = fields.String()
    message = fields.String(metadata={"description": "Why it is unhealthy (503 only)"})


class ErrorSchema(Schema):
    """Every error the API answers (errors.json_error), in the reader's language."""

    status = fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    message = fields.String(required=True)
    errors = fields.Dict(
        metadata={"description": "Per location and field, what is wrong (400 only)"}
    )
