"""/api/v1 routes: offices, clusters, boundaries, catalogue; /healthz."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..apicache import public
from ..db import get_session
from ..inputs import Blueprint
from ..services import offices as svc
from . import schemas as s

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Offices, clusters, boundaries")
health_bp = Blueprint("health", __name__, url_prefix="/", description="Liveness and database")


_GEOJSON_ENDPOINTS = {
    "api.offices",
    "api.office",
    "api.cluster_regions",
    "api.province_boundaries",
}


@bp.after_request
def conditional(response: Response) -> Response:
    # Strong ETag over the uncompressed body; flask-compress suffixes it per encoding and
    # answers If-None-Match for compressed responses, this call for uncompressed ones.
    if request.method == "GET" and response.status_code == 200 and not response.is_streamed:
        response.add_etag()
        response.headers["Cache-Control"] = "no-cache"
        response.make_conditional(request)
    if request.endpoint in _GEOJSON_ENDPOINTS and response.status_code == 200:
        response.mimetype = "application/geo+json"
    return response


@bp.route("/offices")
@bp.arguments(s.OfficeQuery, location="query", as_kwargs=True)
@bp.response(200, s.OfficeCollection, content_type="application/geo+json")
@public
def offices(
    cluster: int | None = None,
    province: str | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    """All offices as a GeoJSON FeatureCollection (EPSG:4326), optionally filtered."""
    rows = svc.list_offices(
        get_session(), cluster_no=cluster, province_code=province, kind=kind, q=q
    )
    return svc.feature_collection([svc.office_feature(o) for o in rows])


@bp.route("/offices/<code>")
@bp.response(200, s.OfficeDetailFeature, content_type="application/geo+json")
@public
def office(code: str) -> dict[str, Any]:
    """One office with its basic profile, as a GeoJSON Feature."""
    found = svc.get_office(get_session(), code)
    if found is None:
        abort(404, message=_("No office with code %(code)s.", code=code))
    return svc.office_feature(found, detail=True)


@bp.route("/clusters")
@bp.response(200, s.ClusterSchema(many=True))
@public
def clusters() -> list[dict[str, Any]]:
    """The 18 clusters with their provinces and office codes."""
    return svc.list_clusters(get_session())


@bp.route("/clusters/regions")
@bp.response(200, s.RegionCollection, content_type="application/geo+json")
@public
def cluster_regions() -> dict[str, Any]:
    """Cluster outlines: union of member provinces, or a buffered hull of pins without boundaries.

    Each feature's `basis` property says which.
    """
    return svc.cluster_regions(get_session())


@bp.route("/boundaries/provinces")
@bp.response(200, s.RegionCollection, content_type="application/geo+json")
@public
def province_boundaries() -> dict[str, Any]:
    """Simplified province outlines for display (empty collection until boundaries are imported)."""
    return svc.province_boundaries(get_session())


@bp.route("/policy-items")
@bp.arguments(s.CatalogueQuery, location="query", as_kwargs=True)
@bp.response(200, s.CatalogueSchema)
@public
def policy_items(fiscal_year: int) -> dict[str, Any]:
    """A fiscal year's policy dimensions, policy/focus items and Quick Win items."""
    return svc.policy_catalogue(get_session(), fiscal_year)


@health_bp.route("/healthz")
@health_bp.response(200, s.HealthSchema)
@health_bp.alt_response(503, schema=s.HealthSchema)
def healthz() -> Any:
    """Liveness and database reachability."""
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        resp = jsonify(status="error", db="unreachable", message=_("The database is unreachable."))
        resp.status_code = 503
        return resp
    return {"status": "ok", "db": "ok"}
