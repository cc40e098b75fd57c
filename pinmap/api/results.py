"""/api/v1 routes for five-year results: each office's series beside cluster and national
averages (public, as the office page shows them), and OBEC's import (the portal's rules)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import Schema, fields

from .. import forms
from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint
from ..security import current_actor, require
from ..services import results as svc
from ..services.errors import N_, ServiceError
from ..tables import MAX_TABLE_BYTES
from .profile_parts import office
from .schools import import_refusal

bp = Blueprint(
    "results_api",
    __name__,
    url_prefix="/api/v1",
    description="Five-year results of offices (loaded by OBEC, public as loaded)",
)


class SeriesSchema(Schema):
    category = fields.String()
    category_label = fields.String()
    indicator = fields.String()
    unit = fields.String(allow_none=True)
    years = fields.List(fields.Integer())
    office = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    office_target = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    obec_target = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    cluster_avg = fields.Dict(keys=fields.String(), values=fields.Float())
    national_avg = fields.Dict(keys=fields.String(), values=fields.Float())


class ResultsSchema(Schema):
    office = fields.String()
    series = fields.List(fields.Nested(SeriesSchema))


class ImportSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    offices = fields.List(fields.String())


_IMPORT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "CSV or XLSX with columns " + ", ".join(svc.RESULT_COLUMNS),
                    }
                },
            }
        }
    },
}


def _by_year(values: dict[int, Any]) -> dict[str, Any]:
    return {str(year): value for year, value in values.items()}


@bp.route("/offices/<code>/results")
@bp.response(200, ResultsSchema)
def office_results(code: str) -> dict[str, Any]:
    """Each indicator of the office across its fiscal years, with its targets and the cluster
    and national averages."""
    found = office(code)
    series = svc.office_series(get_session(), found)
    return {
        "office": found.code,
        "series": [
            {
                "category": s.category,
                "category_label": _(svc.CATEGORY_LABELS[s.category]),
                "indicator": s.indicator,
                "unit": s.unit,
                "years": s.years,
                "office": _by_year(s.office),
                "office_target": _by_year(s.office_target),
                "obec_target": _by_year(s.obec_target),
                "cluster_avg": _by_year(s.cluster_avg),
                "national_avg": _by_year(s.national_avg),
            }
            for s in series
        ],
    }


@bp.route("/offices/<code>/results/import", methods=["POST"])
@require("import_results")
@bp.doc(requestBody=_IMPORT_BODY)
@bp.response(200, ImportSchema)
def import_office_results(code: str) -> dict[str, Any]:
    """Load the office's results from a file (OBEC), all or nothing; rows of other offices
    are refused."""
    session = get_session()
    found = office(code)
    try:
        upload = request.files.get("file")
        if upload is None:
            raise ServiceError(400, N_("Choose a file to upload."))
        filename = forms.file_name(upload.filename or "upload")
        data = upload.stream.read(MAX_TABLE_BYTES + 1)
        result = svc.import_results(session, current_actor(), filename, data, office=found)
        session.commit()
    except svc.ImportRejected as err:
        import_refusal(err)
    except ServiceError as err:
        abort_json(err)
    return {
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "offices": list(result.offices),
    }
