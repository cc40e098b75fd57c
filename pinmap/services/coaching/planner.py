"""The visit planner on the database: hosts, invitees by radius or nearest, proposals.

Distances are great-circle (haversine / PostGIS sphere, R = 6371.0088 km), not road distances.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from geo import planner as geo

from ...models import (
    Cluster,
    Office,
)
from ..errors import N_, ServiceError
from .membership import cluster_offices, get_cluster, get_office, lonlat

RADIUS_KM_RANGE = (1.0, 500.0)
NEAREST_K_RANGE = (1, 50)
GREAT_CIRCLE_NOTE = "distances are great-circle (straight-line), not road distances"


# --- visit planner ---------------------------------------------------------------------------


def check_radius(radius_km: float | None) -> None:
    lo, hi = RADIUS_KM_RANGE
    if radius_km is not None and not lo <= radius_km <= hi:
        raise ServiceError(
            400, N_("The radius must be between %(min)s and %(max)s km."), min=int(lo), max=int(hi)
        )


def check_k(k: int | None) -> None:
    lo, hi = NEAREST_K_RANGE
    if k is not None and not lo <= k <= hi:
        raise ServiceError(
            400,
            N_("The number of nearest offices must be between %(min)s and %(max)s."),
            min=lo,
            max=hi,
        )


def _host_point(host: Office) -> Any:
    return select(Office.geom).where(Office.id == host.id).scalar_subquery()


def invitees_within(session: Session, host: Office, radius_km: float) -> list[tuple[Office, float]]:
    """Offices (any cluster) within `radius_km` of the host on the sphere, nearest first."""
    check_radius(radius_km)
    here = func.Geography(_host_point(host))
    there = func.Geography(Office.geom)
    # use_spheroid=false: the sphere of mean radius 6371.0088 km, the same as the page states.
    dist = func.ST_Distance(there, here, literal(False)) / 1000.0
    rows = session.execute(
        select(Office, dist)
        .where(
            Office.id != host.id, func.ST_DWithin(there, here, radius_km * 1000.0, literal(False))
        )
        .order_by(dist, Office.code)
    ).all()
    return [(o, float(km)) for o, km in rows]


def nearest_offices(session: Session, host: Office, k: int) -> list[tuple[Office, float]]:
    """The `k` offices nearest the host: KNN on the index, re-ranked by sphere distance."""
    check_k(k)
    here = _host_point(host)
    # `<->` ranks by planar degrees, which stretch east-west away from the equator; take a
    # margin of candidates so the geodesic re-ranking can still pick the true k nearest.
    candidates = (
        select(Office.id)
        .where(Office.id != host.id)
        .order_by(Office.geom.op("<->")(here))
        .limit(2 * k + 10)
        .subquery()
    )
    dist = (
        func.ST_Distance(func.Geography(Office.geom), func.Geography(here), literal(False)) / 1000.0
    )
    rows = session.execute(
        select(Office, dist)
        .where(Office.id.in_(select(candidates.c.id)))
        .order_by(dist, Office.code)
        .limit(k)
    ).all()
    return [(o, float(km)) for o, km in rows]


@dataclass
class Proposal:
    cluster: Cluster
    members: list[Office]
    host: Office
    host_total_km: float
    invitees: list[tuple[Office, float]]
    radius_km: float | None
    nearest_k: int | None


def propose(
    session: Session,
    cluster_no: int,
    *,
    radius_km: float | None = None,
    k: int | None = None,
    host_code: str | None = None,
) -> Proposal:
    """Host = the cluster office with least total great-circle distance to the others; invitees
    by radius or k nearest (from any cluster)."""
    cluster = get_cluster(session, cluster_no)
    check_radius(radius_km)
    check_k(k)
    if radius_km is None and k is None:
        raise ServiceError(
            400,
            N_(
                "Give a radius (%(rmin)s–%(rmax)s km) or a number of nearest "
                "offices (%(kmin)s–%(kmax)s)."
            ),
            rmin=int(RADIUS_KM_RANGE[0]),
            rmax=int(RADIUS_KM_RANGE[1]),
            kmin=NEAREST_K_RANGE[0],
            kmax=NEAREST_K_RANGE[1],
        )
    members = cluster_offices(session, cluster_no)
    if not members:
        raise ServiceError(400, N_("Cluster %(no)s has no offices."), no=cluster_no)
    points = [lonlat(o) for o in members]
    if host_code:
        host = get_office(session, host_code)
        # The same rule as save_plan: a host from elsewhere would skew the cluster's distances.
        if host.cluster_no != cluster_no:
            raise ServiceError(
                400, N_("The host must be an office of cluster %(no)s."), no=cluster_no
            )
    else:
        host = members[geo.best_host(points)]
    total = geo.total_distance_from(lonlat(host), points)
    invitees = (
        invitees_within(session, host, radius_km)
        if radius_km is not None
        else nearest_offices(session, host, k or 1)
    )
    return Proposal(cluster, members, host, total, invitees, radius_km, k)
