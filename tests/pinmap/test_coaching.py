"""Clusters and the coaching year against real PostGIS: labels, moves, planner, rounds, exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.planner import haversine_km
from pinmap.config import PROJECT_ROOT
from pinmap.models import AuditLog, ChangeEvent, ClusterMove, Office
from pinmap.services import coaching as svc
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError

from ..signin import sign_in
from ..support.coaching import _round
from ..support.portal import World


def _office(session: Session, code: str) -> Office:
    return session.scalars(select(Office).filter_by(code=code)).one()


# --- regions, labels, membership -------------------------------------------------------------


def test_labels_lie_inside_valid_regions(c: FlaskClient) -> None:
    regions = c.get("/api/v1/clusters/regions").get_json()["features"]
    r = c.get("/api/v1/clusters/labels")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    labels = {f["properties"]["no"]: f for f in r.get_json()["features"]}
    assert len(labels) == len(regions) == 18
    for region in regions:
        geom = shape(region["geometry"])
        assert geom.is_valid and not geom.is_empty
        label = labels[region["properties"]["no"]]
        assert label["geometry"]["type"] == "Point"
        assert label["properties"]["name_th"]
        assert geom.buffer(1e-4).contains(shape(label["geometry"]))


def test_admin_moves_an_office_with_history_audit_and_change(
    c: FlaskClient, w: World, session: Session
) -> None:
    r = c.post(
        "/api/v1/clusters/2/members",
        headers=w.headers("admin"),
        json={"office": "spp-krabi", "reason": "ปรับกลุ่มตามคำสั่ง สพฐ."},
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["from_cluster"] == 6
    session.expire_all()
    assert _office(session, "spp-krabi").cluster_no == 2
    move = session.scalars(select(ClusterMove)).one()
    assert (move.from_cluster, move.to_cluster) == (6, 2)
    assert session.scalars(select(AuditLog).filter_by(action="office.cluster")).one()
    event = session.scalars(select(ChangeEvent).filter_by(kind="office.updated")).all()[-1]
    assert event.office_code == "spp-krabi" and event.payload["cluster_no"] == 2
    history = c.get("/api/v1/clusters/6/moves").get_json()["moves"]
    assert history[0]["office"] == "spp-krabi"
    page = c.get("/coaching/clusters/2")
    assert page.status_code == 200 and "ปรับกลุ่มตามคำสั่ง สพฐ." in page.get_data(as_text=True)


def _regions(c: FlaskClient) -> tuple[dict[int, dict[str, Any]], str]:
    r = c.get("/api/v1/clusters/regions")
    assert r.status_code == 200
    return {f["properties"]["no"]: f for f in r.get_json(force=True)["features"]}, r.headers["ETag"]


def _move_krabi_to_2(c: FlaskClient, w: World) -> None:
    r = c.post(
        "/api/v1/clusters/2/members",
        headers=w.headers("admin"),
        json={"office": "spp-krabi", "reason": "ทดสอบ"},
    )
    assert r.status_code == 201, r.get_json()


def test_moving_an_office_redraws_the_cluster_layer(
    c: FlaskClient, w: World, session: Session
) -> None:
    krabi = to_shape(_office(session, "spp-krabi").geom)
    before, etag = _regions(c)
    assert before[2]["properties"]["basis"] == "basemap"  # no boundaries in this database
    assert not shape(before[2]["geometry"]).contains(krabi)
    assert "spp-krabi" in before[6]["properties"]["office_codes"]
    _move_krabi_to_2(c, w)
    after, new_etag = _regions(c)
    assert new_etag != etag
    assert c.get("/api/v1/clusters/regions", headers={"If-None-Match": etag}).status_code == 200
    assert "spp-krabi" in after[2]["properties"]["office_codes"]
    assert "spp-krabi" not in after[6]["properties"]["office_codes"]
    assert shape(after[2]["geometry"]).contains(krabi)
    for feature in after.values():
        geom = shape(feature["geometry"])
        assert geom.is_valid and not geom.is_empty


def test_moved_office_brings_its_provinces_into_the_region(
    c: FlaskClient, w: World, session: Session, province_file: Path
) -> None:
    from geo.boundaries import read_boundaries
    from pinmap.models import Province
    from pinmap.services.boundaries import import_boundaries

    import_boundaries(
        session,
        read_boundaries(province_file, "province"),
        "province",
        source_name=province_file.name,
        sha256="x" * 64,
    )
    session.commit()
    krabi = to_shape(session.scalars(select(Province).filter_by(code="81")).one().geom_web)
    inside_krabi = krabi.representative_point()
    before, etag = _regions(c)
    assert not shape(before[2]["geometry"]).contains(inside_krabi)
    _move_krabi_to_2(c, w)
    after, new_etag = _regions(c)
    assert new_etag != etag
    assert after[2]["properties"]["basis"] == "provinces"
    assert shape(after[2]["geometry"]).contains(inside_krabi)
    assert "81" in after[2]["properties"]["province_codes"]
    # spm-trang-krabi still covers Krabi from cluster 6.
    assert "81" in after[6]["properties"]["province_codes"]
    for feature in after.values():
        geom = shape(feature["geometry"])
        assert geom.is_valid and not geom.is_empty
    labels = {f["id"]: f for f in c.get("/api/v1/clusters/labels").get_json()["features"]}
    assert shape(after[2]["geometry"]).buffer(1e-4).contains(shape(labels[2]["geometry"]))


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("reviewer", 403), ("own_editor", 403)]
)
def test_only_admins_move_offices(c: FlaskClient, w: World, who: str, status: int) -> None:
    r = c.post(
        "/api/v1/clusters/2/members",
        headers=w.headers(who),
        json={"office": "spp-krabi", "reason": "x"},
    )
    assert r.status_code == status


def test_move_bad_input(c: FlaskClient, w: World) -> None:
    h = w.headers("admin")
    r = c.post(
        "/api/v1/clusters/99/members", headers=h, json={"office": "spp-krabi", "reason": "x"}
    )
    assert r.status_code == 404 and "99" in r.get_json()["message"]
    r = c.post("/api/v1/clusters/2/members", headers=h, json={"office": "nope", "reason": "x"})
    assert r.status_code == 404
    r = c.post("/api/v1/clusters/6/members", headers=h, json={"office": "spp-krabi", "reason": "x"})
    assert r.status_code == 400
    r = c.post("/api/v1/clusters/2/members", headers=h, json={"office": "spp-krabi", "reason": " "})
    assert r.status_code == 400


def test_cluster_page_and_unknown_cluster(c: FlaskClient, session: Session) -> None:
    r = c.get("/coaching/clusters/13")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    for o in svc.cluster_offices(session, 13):
        assert o.name_th in body
    assert "cdn" not in body.lower() and "unpkg" not in body
    r = c.get("/coaching/clusters/99")
    assert r.status_code == 404 and "text/html" in r.content_type
    r = c.get("/api/v1/clusters/99/moves")
    assert r.status_code == 404 and r.get_json()["status"] == 404


# --- invitees with PostGIS against Python haversine ------------------------------------------


def _python_distances(session: Session, host: Office) -> list[tuple[str, float]]:
    h = to_shape(host.geom)
    rows = []
    for o in session.scalars(select(Office).where(Office.id != host.id)):
        p = to_shape(o.geom)
        rows.append((o.code, haversine_km((h.x, h.y), (p.x, p.y))))
    return sorted(rows, key=lambda t: (t[1], t[0]))


def test_offices_within_50_km_of_chiangmai_1(session: Session) -> None:
    host = _office(session, "spp-chiangmai-1")
    got = svc.invitees_within(session, host, 50)
    expected = [(code, km) for code, km in _python_distances(session, host) if km <= 50]
    assert [o.code for o, _ in got] == [code for code, _ in expected]
    assert expected, "Chiang Mai has several offices within 50 km"
    for (_, km), (_, want) in zip(got, expected, strict=True):
        assert km == pytest.approx(want, abs=0.01)
    assert {o.cluster_no for o, _ in got} >= {host.cluster_no}


@pytest.mark.parametrize("k", [1, 5, 12])
def test_k_nearest_matches_haversine(session: Session, k: int) -> None:
    host = _office(session, "spp-chiangmai-1")
    got = svc.nearest_offices(session, host, k)
    expected = _python_distances(session, host)[:k]
    assert [o.code for o, _ in got] == [code for code, _ in expected]


def test_host_proposal_minimises_total_distance(session: Session) -> None:
    p = svc.propose(session, 13, radius_km=100)
    members = svc.cluster_offices(session, 13)
    totals = {
        m.code: sum(haversine_km(svc.lonlat(m), svc.lonlat(o)) for o in members) for m in members
    }
    assert p.host.code == min(totals, key=lambda code: (totals[code], code))
    assert p.host_total_km == pytest.approx(totals[p.host.code])
    assert all(km <= 100 for _, km in p.invitees)


# --- planner permissions and bad input -------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("reviewer", 403),
        ("own_editor", 403),
        ("own_director", 403),
        ("coach", 200),
        ("admin", 200),
    ],
)
def test_only_coaches_and_admins_plan(c: FlaskClient, w: World, who: str, status: int) -> None:
    r = c.get("/api/v1/planner/propose?cluster=13&k=5", headers=w.headers(who))
    assert r.status_code == status


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("cluster=13&radius_km=600", 400, "500"),
        ("cluster=13&radius_km=0.5", 400, "500"),
        ("cluster=13&k=0", 400, "50"),
        ("cluster=13&k=51", 400, "50"),
        ("cluster=13", 400, "500"),
        ("cluster=99&k=3", 404, "99"),
        ("cluster=13&k=3&host=nope", 404, "nope"),
    ],
)
def test_planner_bad_input(c: FlaskClient, w: World, query: str, status: int, needle: str) -> None:
    r = c.get(f"/api/v1/planner/propose?{query}", headers=w.headers("coach"))
    assert r.status_code == status
    assert needle in r.get_json()["message"]


def test_host_from_another_cluster_is_refused_when_proposing_and_creating(
    c: FlaskClient, w: World, session: Session
) -> None:
    assert _office(session, "spp-krabi").cluster_no == 6
    h = {**w.headers("coach"), "Accept-Language": "en"}
    r = c.get("/api/v1/planner/propose?cluster=13&k=3&host=spp-krabi", headers=h)
    assert r.status_code == 400
    assert "cluster 13" in r.get_json()["message"]
    r = c.post(
        "/api/v1/plans",
        headers=h,
        json={"round_id": _round(session, 2).id, "cluster": 13, "k": 3, "host": "spp-krabi"},
    )
    assert r.status_code == 400 and "cluster 13" in r.get_json()["message"]
    with pytest.raises(ServiceError) as err:
        svc.create_plan(
            session, Actor(w.users["coach"]), _round(session, 2).id, 13, k=3, host_code="spp-krabi"
        )
    assert err.value.status == 400
    member = svc.cluster_offices(session, 13)[0].code
    r = c.get(f"/api/v1/planner/propose?cluster=13&k=3&host={member}", headers=h)
    assert r.status_code == 200 and r.get_json()["host"]["office"] == member


def test_planner_page_bad_radius_is_400(c: FlaskClient, w: World, capp: Flask) -> None:

    sign_in(c, w.users["coach"])
    r = c.get("/coaching/plans/new?cluster=13&radius_km=900")
    assert r.status_code == 400 and "500" in r.get_data(as_text=True)
    assert c.get("/coaching/plans/new?cluster=13&k=4").status_code == 200


# --- the plan's life: draft, adjust, stale version, publish, record, exports ----------------


def _create(c: FlaskClient, w: World, session: Session) -> dict[str, Any]:
    r = c.post(
        "/api/v1/plans",
        headers=w.headers("coach"),
        json={"round_id": _round(session, 2).id, "cluster": 13, "radius_km": 60},
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_plan_lifecycle(c: FlaskClient, w: World, session: Session) -> None:
    plan = _create(c, w, session)
    assert plan["state"] == "draft" and plan["host"]["role"] == "host"
    url = f"/api/v1/plans/{plan['id']}"
    # Drafts do not exist for the public or for roles that do not plan.
    assert c.get(url).status_code == 404
    assert c.get(url, headers=w.headers("reviewer")).status_code == 404
    assert c.get(f"/coaching/plans/{plan['id']}").status_code == 404
    assert c.get(url, headers=w.headers("coach")).status_code == 200
    assert plan["id"] not in [p["id"] for p in c.get("/api/v1/plans").get_json()["plans"]]

    members = [o.code for o in svc.cluster_offices(session, 13) if o.code != plan["host"]["office"]]
    visits = members[:6]
    r = c.put(
        url,
        headers=w.headers("coach"),
        json={
            "version": plan["version"],
            "visits": visits,
            "optimise": True,
            "invited": [s["office"] for s in plan["invited"]][:3],
            "team": '=HYPERLINK("x")',
        },
    )
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert saved["version"] > plan["version"]
    assert sorted(s["office"] for s in saved["visits"]) == sorted(visits)
    assert [s["position"] for s in saved["visits"]] == list(range(1, 7))
    assert len(saved["invited"]) == 3
    # The optimised order is no longer than the order given.
    from geo.planner import route_for_order

    pts = [svc.lonlat(_office(session, saved["host"]["office"]))]
    pts += [svc.lonlat(_office(session, code)) for code in visits]
    given = route_for_order(pts, list(range(len(pts)))).total_km
    assert saved["visits_total_km"] <= given + 1e-6

    stale = c.put(url, headers=w.headers("coach"), json={"version": plan["version"], "team": "x"})
    assert stale.status_code == 409
    nodate = c.post(
        url + "/publish", headers=w.headers("coach"), json={"version": saved["version"]}
    )
    assert nodate.status_code == 400
    r = c.put(
        url,
        headers=w.headers("coach"),
        json={"version": saved["version"], "visit_date": "2024-03-20"},
    )
    assert r.status_code == 200
    r = c.post(
        url + "/publish", headers=w.headers("reviewer"), json={"version": r.get_json()["version"]}
    )
    assert r.status_code == 403
    current = c.get(url, headers=w.headers("coach")).get_json()["version"]
    r = c.post(url + "/publish", headers=w.headers("coach"), json={"version": current})
    assert r.status_code == 200 and r.get_json()["state"] == "published"
    public = c.get(url)
    assert public.status_code == 200 and public.get_json()["visit_date"] == "2024-03-20"
    assert plan["id"] in [p["id"] for p in c.get("/api/v1/plans").get_json()["plans"]]
    assert c.get(f"/coaching/plans/{plan['id']}").status_code == 200
    assert session.scalars(select(ChangeEvent).filter_by(kind="visit_plan.published")).first()

    r = c.post(
        url + "/records",
        headers=w.headers("coach"),
        json={"visited_on": "2024-03-20", "notes": "<script>x</script>"},
    )
    assert r.status_code == 201
    assert (
        c.post(
            url + "/records", headers=w.headers("own_editor"), json={"visited_on": "2024-03-20"}
        ).status_code
        == 403
    )


def test_plan_says_how_its_visit_order_was_found(
    c: FlaskClient, w: World, session: Session, capp: Flask
) -> None:
    plan = _create(c, w, session)
    url = f"/api/v1/plans/{plan['id']}"
    host = plan["host"]["office"]
    members = [o.code for o in svc.cluster_offices(session, 13) if o.code != host]
    assert plan["order_method"] is None and plan["exact_max_visits"] == 10

    def save(version: int, visits: list[str], optimise: bool) -> dict[str, Any]:
        r = c.put(
            url,
            headers=w.headers("coach"),
            json={"version": version, "visits": visits, "optimise": optimise},
        )
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    # Ten visits besides the host: exact, and no shorter than a brute-force-free check allows.
    ten = save(plan["version"], members[:10], optimise=True)
    assert len(ten["visits"]) == 10 and ten["order_method"] == "exact"
    from geo.planner import distance_matrix, held_karp_path, path_length

    pts = [svc.lonlat(_office(session, code)) for code in [host] + members[:10]]
    d = distance_matrix(pts)
    assert ten["visits_total_km"] == pytest.approx(path_length(held_karp_path(d, 0), d), abs=0.01)
    # The same ten in a worse order typed by hand: no claim of being shortest.
    worse = list(reversed([s["office"] for s in ten["visits"]]))
    manual = save(ten["version"], worse, optimise=False)
    assert manual["order_method"] == "manual"
    many = save(manual["version"], members[:12], optimise=True)
    assert many["order_method"] == "heuristic"

    sign_in(c, w.users["coach"])
    page = c.get(f"/coaching/plans/{plan['id']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert 'data-order-method="heuristic"' in page.get_data(as_text=True)
    printed = c.get(f"/coaching/plans/{plan['id']}/print").get_data(as_text=True)
    assert 'data-order-method="heuristic"' in printed


def test_unknown_plan_is_404(c: FlaskClient, w: World) -> None:
    assert c.get("/api/v1/plans/999999").status_code == 404
    assert (
        c.put("/api/v1/plans/999999", headers=w.headers("coach"), json={"version": 1}).status_code
        == 404
    )
    assert c.get("/coaching/plans/999999").status_code == 404


def test_exports(c: FlaskClient, w: World, session: Session) -> None:
    plan = _create(c, w, session)
    members = [o.code for o in svc.cluster_offices(session, 13) if o.code != plan["host"]["office"]]
    r = c.put(
        f"/api/v1/plans/{plan['id']}",
        headers=w.headers("coach"),
        json={
            "version": plan["version"],
            "visits": members[:3],
            "optimise": True,
            "visit_date": "2024-03-21",
            "team": "ทีม A, ทีม B; หัวหน้า\\รอง\nบรรทัดสอง",
        },
    )
    assert r.status_code == 200

    sign_in(c, w.users["coach"])
    base = f"/coaching/plans/{plan['id']}"
    rows = list(
        csv.reader(io.StringIO(c.get(base + ".csv").get_data(as_text=True).lstrip("\ufeff")))
    )
    assert rows[0][:3] == ["order", "role", "office_code"]
    assert [row[1] for row in rows[1:5]] == ["host", "visit", "visit", "visit"]
    geo = json.loads(c.get(base + ".geojson").get_data(as_text=True))
    roles = [f["properties"]["role"] for f in geo["features"]]
    assert roles[:4] == ["host", "visit", "visit", "visit"]
    assert [f["properties"]["order"] for f in geo["features"][:4]] == [0, 1, 2, 3]
    ics = c.get(base + ".ics").get_data()
    text = ics.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART;VALUE=DATE:20240321" in text
    for line in ics.split(b"\r\n"):
        assert len(line) <= 75
    unfolded = text.replace("\r\n ", "")
    assert "ทีม A\\, ทีม B\\; หัวหน้า\\\\รอง\\nบรรทัดสอง" in unfolded
    xlsx = c.get(base + ".xlsx")
    if svc.xlsx_available():
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(xlsx.data)).active
        assert ws.cell(1, 1).value == "order" and ws.cell(2, 2).value == "host"
    else:
        assert xlsx.status_code == 404
    page = c.get(base + "/print").get_data(as_text=True)
    assert "@page" in page and "great-circle" in page.lower()


def test_csv_cells_cannot_become_formulas() -> None:
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert svc.csv_safe(bad) == "'" + bad
    assert svc.csv_safe("สพป.") == "สพป." and svc.csv_safe(5) == 5


def test_ics_folding_and_escaping() -> None:
    assert svc.ics_escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    folded = svc.ics_fold("DESCRIPTION:" + "ก" * 60)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == "DESCRIPTION:" + "ก" * 60


# --- rounds, statuses, sessions, dashboard ---------------------------------------------------


def test_load_rounds_is_idempotent_and_checks_rows(session: Session) -> None:
    path = PROJECT_ROOT / "data" / "monitoring_rounds.csv"
    first = svc.load_rounds(session, path)
    assert first["inserted"] + first["unchanged"] + first["updated"] == 4
    assert svc.load_rounds(session, path) == {"inserted": 0, "updated": 0, "unchanged": 4}
    kinds = [r.kind for r in svc.list_rounds(session, 2567)]
    assert kinds == ["online_plan_check", "onsite_coaching", "online_cluster", "online_evaluation"]
    bad = "fiscal_year,round_no,kind,starts_on,ends_on\n2567,5,onsite_coaching,2024-03-01,2024-04-30\n"
    with pytest.raises(ServiceError) as err:
        svc.load_rounds(session, "", text=bad)
    assert err.value.status == 400 and "line 2" in str(err.value)
    outside = "fiscal_year,round_no,kind,starts_on,ends_on\n2567,1,online_plan_check,2024-12-01,2024-12-31\n"
    with pytest.raises(ServiceError):
        svc.load_rounds(session, "", text=outside)


def test_cluster_sessions_and_calendar(c: FlaskClient, w: World, session: Session) -> None:
    rnd = _round(session, 3)
    r = c.put(
        f"/api/v1/rounds/{rnd.id}/sessions/13",
        headers=w.headers("admin"),
        json={"starts_at": "2024-06-12T09:00:00+07:00", "link": "https://zoom.us/j/1"},
    )
    assert r.status_code == 200, r.get_json()
    r = c.put(
        f"/api/v1/rounds/{rnd.id}/sessions/13",
        headers=w.headers("coach"),
        json={"starts_at": "2024-06-12T09:00:00+07:00"},
    )
    assert r.status_code == 403
    r = c.put(
        f"/api/v1/rounds/{_round(session, 2).id}/sessions/13",
        headers=w.headers("admin"),
        json={"starts_at": "2024-03-12T09:00:00+07:00"},
    )
    assert r.status_code == 400

    sign_in(c, w.users["reviewer"])
    ics = c.get(f"/coaching/rounds/{rnd.id}/sessions.ics").get_data(as_text=True)
    assert "BEGIN:VEVENT" in ics and "DTSTART:20240612T020000Z" in ics


@pytest.mark.parametrize(
    ("who", "status"), [("reviewer", 200), ("coach", 200), ("admin", 200), ("own_editor", 403)]
)
def test_dashboard_access(c: FlaskClient, w: World, who: str, status: int) -> None:

    sign_in(c, w.users[who])
    assert c.get(f"/coaching/dashboard?fiscal_year={w.fy}").status_code == status
    assert (
        c.get(f"/coaching/dashboard/offices?fiscal_year={w.fy}&round=1&state=missing").status_code
        == status
    )


def test_dashboard_lists_offices_missing_reports(c: FlaskClient, w: World) -> None:

    sign_in(c, w.users["reviewer"])
    page = c.get(f"/coaching/dashboard?fiscal_year={w.fy}").get_data(as_text=True)
    assert "/coaching/dashboard/offices?" in page
    listed = c.get(
        f"/coaching/dashboard/offices?fiscal_year={w.fy}&round=1&cluster=6&state=missing"
    )
    assert w.own.name_th in listed.get_data(as_text=True)


def test_round_status_set_by_reviewers_only(c: FlaskClient, w: World, session: Session) -> None:
    rnd = _round(session, 1)
    assert (
        svc.set_round_status(
            session, Actor(w.users["reviewer"]), rnd, "spp-krabi", "received"
        ).status
        == "received"
    )
    with pytest.raises(ServiceError) as err:
        svc.set_round_status(session, Actor(w.users["coach"]), rnd, "spp-krabi", "checked")
    assert err.value.status == 403
    with pytest.raises(ServiceError) as err:
        svc.set_round_status(session, Actor(w.users["admin"]), rnd, "spp-krabi", "bogus")
    assert err.value.status == 400


def test_pages_render_for_admin(c: FlaskClient, w: World, session: Session, capp: Flask) -> None:
    from ..support.portal import no_csrf

    plan = _create(c, w, session)
    no_csrf(capp)
    sign_in(c, w.users["admin"])
    for no in (1, 3, 4):
        rid = _round(session, no).id
        for url in (
            f"/coaching/rounds/{rid}/statuses?cluster=6",
            f"/coaching/rounds/{rid}/sessions",
            f"/coaching/rounds/{rid}/evaluation",
        ):
            assert c.get(url).status_code == 200, url
    assert c.get("/coaching/rounds").status_code == 200
    page = c.get(f"/coaching/plans/{plan['id']}").get_data(as_text=True)
    assert "great-circle" in page.lower() and 'name="csrf_token"' in page
    r = c.post(
        f"/coaching/plans/{plan['id']}", data={"action": "save", "version": plan["version"] - 1}
    )
    assert r.status_code == 409
    r = c.post(
        "/coaching/plans/new", data={"cluster": 13, "round_id": _round(session, 2).id, "k": 3}
    )
    assert r.status_code == 302
    r = c.post("/coaching/clusters/2/members", data={"office": "spp-krabi", "reason": "ทดสอบ"})
    assert r.status_code == 302
    r = c.post(
        "/coaching/rounds",
        data={
            "fiscal_year": 2567,
            "round_no": 2,
            "kind": "onsite_coaching",
            "starts_on": "2024-03-04",
            "ends_on": "2024-04-26",
        },
    )
    assert r.status_code == 302 and _round(session, 2).starts_on.isoformat() == "2024-03-04"
