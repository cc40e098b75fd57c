"""Cluster membership: lookups, labels, moving an office between clusters, the move history."""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import planner as geo

from ...auth import can
from ...models import (
    Cluster,
    ClusterMove,
    Office,
)
from ...shapes import point_of
from .. import offices as offices_svc
from ..audit import Actor, emit_change, record
from ..errors import N_, ServiceError
from ..lookups import or_404
from ..sanitize import clean_text

# --- lookups ---------------------------------------------------------------------------------


def get_cluster(session: Session, no: int) -> Cluster:
    # A smallint key: a larger number names no cluster (the database would refuse it).
    cluster = session.get(Cluster, no) if -(2**15) <= no < 2**15 else None
    return or_404(cluster, N_("No cluster number %(no)s."), no=no)


get_office = offices_svc.office_or_404


def cluster_offices(session: Session, no: int) -> list[Office]:
    return list(session.scalars(select(Office).filter_by(cluster_no=no).order_by(Office.code)))


def lonlat(office: Office) -> geo.LonLat:
    point = point_of(office.geom)
    return (point.x, point.y)


# --- regions, labels, membership -------------------------------------------------------------


def cluster_labels(session: Session) -> dict[str, Any]:
    """One label point per cluster: a point guaranteed inside its region (point on surface)."""
    regions = offices_svc.cluster_regions(session)
    features = []
    for feature in regions["features"]:
        point = shape(feature["geometry"]).representative_point()
        props = feature["properties"]
        features.append(
            {
                "type": "Feature",
                "id": props["no"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(point.x, 5), round(point.y, 5)],
                },
                "properties": {
                    "no": props["no"],
                    "name_th": props["name_th"],
                    "name_en": props["name_en"],
                    "basis": props["basis"],
                },
            }
        )
    return offices_svc.feature_collection(features)


def move_office_cluster(
    session: Session, actor: Actor, code: str, to_cluster: int, reason: str
) -> ClusterMove:
    """Move an office into another cluster, keeping the history and telling the public map."""
    if not can(actor.user, "manage_clusters"):
        raise ServiceError(403, N_("You may not do this."))
    office = get_office(session, code)
    get_cluster(session, to_cluster)
    reason = clean_text(reason or "", max_length=1000)
    if not reason:
        raise ServiceError(400, N_("Give a reason for moving the office."))
    if office.cluster_no == to_cluster:
        raise ServiceError(
            400, N_("%(code)s is already in cluster %(no)s."), code=code, no=to_cluster
        )
    before = office.cluster_no
    office.cluster_no = to_cluster
    move = ClusterMove(
        office_id=office.id,
        from_cluster=before,
        to_cluster=to_cluster,
        reason=reason,
        by_user_id=actor.user.id if actor.user else None,
        at=actor.now,
    )
    session.add(move)
    session.flush()
    record(
        session,
        actor,
        "office.cluster",
        "office",
        code,
        before={"cluster_no": before},
        after={"cluster_no": to_cluster, "reason": reason},
        office_id=office.id,
    )
    emit_change(
        session, "office.updated", code, {"fields": ["cluster_no"], "cluster_no": to_cluster}
    )
    return move


# The old name the coaching views call; offices.move_office_pin moves the pin instead.
move_office = move_office_cluster


def cluster_moves(session: Session, no: int) -> list[dict[str, Any]]:
    """Moves into or out of a cluster, newest first."""
    rows = session.execute(
        select(ClusterMove, Office.code, Office.name_th)
        .join(Office, Office.id == ClusterMove.office_id)
        .where((ClusterMove.from_cluster == no) | (ClusterMove.to_cluster == no))
        .order_by(ClusterMove.at.desc(), ClusterMove.id.desc())
    ).all()
    return [
        {
            "office": code,
            "name_th": name,
            "from_cluster": m.from_cluster,
            "to_cluster": m.to_cluster,
            "reason": m.reason,
            "at": m.at,
        }
        for m, code, name in rows
    ]
