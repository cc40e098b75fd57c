"""/api/v1/search: offices ranked against what people type (see services/search.py)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..db import get_session
from ..inputs import Blueprint, Int
from ..models import OFFICE_KINDS, Office
from ..services import search as svc
from ..services.offices import list_offices

bp = Blueprint("search_api", __name__, url_prefix="/api/v1", description="Office search")

MAX_PER_PAGE = 100


class SearchQuery(Schema):
    q = fields.String(
        load_default="",
        validate=validate.Length(max=svc.MAX_QUERY_CHARS),
        metadata={
            "description": "What was typed: a Thai or English name, an office code, "
            '"เขต 2" / "district 2", a province or its short form ("กทม", "โคราช"), an amphoe, '
            'a DOPA province code ("50") or a postcode ("50100"). Empty: every office.'
        },
    )
    cluster = Int(strict=False, validate=validate.Range(1, 99))
    province = fields.String(
        validate=validate.Regexp(r"^\d{2}$"), metadata={"description": "DOPA province code"}
    )
    kind = fields.String(validate=validate.OneOf(OFFICE_KINDS))
    page = Int(strict=False, load_default=1, validate=validate.Range(1, 1000))
    per_page = Int(strict=False, load_default=20, validate=validate.Range(1, MAX_PER_PAGE))


class SearchHitSchema(Schema):
    code = fields.String(required=True)
    kind = fields.String()
    name_th = fields.String()
    name_en = fields.String()
    province_code = fields.String()
    province_th = fields.String()
    province_en = fields.String()
    cluster_no = fields.Integer()
    rank = fields.Integer(metadata={"description": "1 = best"})
    matched = fields.String(
        metadata={"description": "What matched best: code, name, province, amphoe or number"}
    )


class SearchResultSchema(Schema):
    q = fields.String()
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
    codes = fields.List(
        fields.String(), metadata={"description": "Every matching office code, best first"}
    )
    results = fields.List(fields.Nested(SearchHitSchema), metadata={"description": "This page"})


@bp.route("/search")
@bp.arguments(SearchQuery, location="query", as_kwargs=True)
@bp.response(200, SearchResultSchema)
def search(
    q: str = "",
    cluster: int | None = None,
    province: str | None = None,
    kind: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> dict[str, Any]:
    """Offices fitting what was typed and the filters, best first, a page at a time."""
    session = get_session()
    hits = svc.search(session, q, cluster_no=cluster, province_code=province, kind=kind)
    start = (page - 1) * per_page
    shown = hits[start : start + per_page]
    offices: dict[str, Office] = {
        o.code: o for o in list_offices(session, codes=[h.code for h in shown])
    }
    return {
        "q": q,
        "total": len(hits),
        "page": page,
        "per_page": per_page,
        "pages": max(1, -(-len(hits) // per_page)),
        "codes": [h.code for h in hits],
        "results": [
            {
                "code": h.code,
                "kind": offices[h.code].kind,
                "name_th": offices[h.code].name_th,
                "name_en": offices[h.code].name_en,
                "province_code": offices[h.code].office_province_code,
                "province_th": offices[h.code].office_province.name_th,
                "province_en": offices[h.code].office_province.name_en,
                "cluster_no": offices[h.code].cluster_no,
                "rank": start + i + 1,
                "matched": h.matched,
            }
            for i, h in enumerate(shown)
        ],
    }
