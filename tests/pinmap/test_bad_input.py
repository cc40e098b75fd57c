"""No input makes a 5xx: out-of-range numbers, NUL bytes, broken JSON, wrong content types."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient

from ..support.portal import World, full_report

HUGE = 2**31  # one past PostgreSQL's integer
HUGER = 10**30


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/plans/{HUGE}",
        f"/api/v1/plans/{HUGER}/geojson",
        f"/api/v1/clusters/{HUGE}/moves",
        f"/api/v1/offices?cluster={HUGE}",
        f"/api/v1/policy-items?fiscal_year={HUGER}",
        f"/api/v1/plans?cluster={HUGE}",
        f"/api/v1/progress?fiscal_year=2567&item_kind=policy&item_no={HUGE}",
        "/api/v1/offices/spp-krabi%00",
        "/api/v1/offices?q=a%00b",
        "/api/v1/offices/%00/profile",
        "/offices/spp%00krabi",
        f"/coaching/clusters/{HUGE}",
    ],
)
def test_anonymous_reads_never_fail(client: FlaskClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code < 500, (url, r.status_code)
    assert r.status_code in (400, 404), (url, r.status_code, r.get_data(as_text=True)[:300])


def test_nul_names_the_problem(client: FlaskClient) -> None:
    r = client.get("/api/v1/offices?q=a%00b", headers={"Accept-Language": "en"})
    assert r.status_code == 400
    assert "NUL" in r.get_json()["message"]


def test_like_wildcards_are_literal(client: FlaskClient) -> None:
    every = client.get("/api/v1/offices").get_json()["features"]
    assert len(every) == 245
    assert client.get("/api/v1/offices?q=%25").get_json()["features"] == []
    assert client.get("/api/v1/offices?q=_").get_json()["features"] == []
    krabi = client.get("/api/v1/offices?q=krabi").get_json()["features"]
    assert "spp-krabi" in [f["properties"]["code"] for f in krabi]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("[" * 5000 + "]" * 5000, "nest"),
        ('{"what": "\\ud800"}', "surrogate"),
        ('{"what": "a\\u0000b"}', "NUL"),
        ('{"indicator_value": NaN}', "JSON"),
        ('{"indicator_value": Infinity}', "JSON"),
        ('{"what": ', "JSON"),
        ("1" * 5000, "JSON"),
    ],
)
def test_broken_json_bodies_are_400(
    client: FlaskClient, world: World, body: str, needle: str
) -> None:
    r = client.put(
        world.entry_url(),
        data=body,
        content_type="application/json",
        headers={**world.headers("own_editor"), "Accept-Language": "en"},
    )
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    assert needle.lower() in r.get_json()["message"].lower()


def test_body_that_is_not_json_is_415(client: FlaskClient, world: World) -> None:
    h = world.headers("own_editor")
    r = client.put(
        world.entry_url(),
        data="what=x",
        headers=h,
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 415, r.get_data(as_text=True)[:300]
    r = client.put(world.entry_url(), headers=h)
    assert r.status_code == 415
    # Nothing was saved by either.
    r = client.get(
        f"/api/v1/portal/offices/{world.own.code}/entries?fiscal_year={world.fy}", headers=h
    )
    assert r.get_json()["entries"] == []


def test_large_json_body_is_413_before_parsing(client: FlaskClient, world: World) -> None:
    body = '{"what": "' + "x" * (2 * 1024 * 1024) + '"}'
    r = client.put(
        world.entry_url(),
        data=body,
        content_type="application/json",
        headers=world.headers("own_editor"),
    )
    assert r.status_code == 413, r.status_code


@pytest.mark.parametrize(
    "extra",
    [
        {"version": HUGE},
        {"version": "1"},
        {"indicator_value": "80"},
        {"indicator_value": 1e400},
    ],
)
def test_numbers_in_bodies_are_strict(client: FlaskClient, world: World, extra: dict) -> None:
    r = client.put(
        world.entry_url(), json={**full_report(), **extra}, headers=world.headers("own_editor")
    )
    assert r.status_code in (400, 409) and r.status_code != 500, r.get_data(as_text=True)[:300]
    if "version" not in extra or extra["version"] == "1":
        assert r.status_code == 400


def test_huge_ids_in_write_paths(client: FlaskClient, world: World) -> None:
    h = world.headers("admin")
    r = client.post(
        f"/api/v1/review/entries/{HUGE}/decision",
        headers=h,
        json={"version": 1, "decision": "approve"},
    )
    assert r.status_code == 404
    url = world.entry_url().replace(f"/{world.round_no}/", f"/{HUGE}/")
    r = client.put(url, json=full_report(), headers=world.headers("own_editor"))
    assert r.status_code == 404
    r = client.post("/api/v1/plans", headers=h, json={"round_id": HUGE, "cluster": HUGE})
    assert r.status_code == 400, r.get_data(as_text=True)[:300]


def test_overlong_text_is_refused_not_cut(client: FlaskClient, world: World) -> None:
    r = client.put(
        world.entry_url(),
        json={**full_report(), "status": "not_started", "no_activity_reason": "x" * 2001},
        headers={**world.headers("own_editor"), "Accept-Language": "en"},
    )
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert "no_activity_reason" in r.get_json()["message"]
    assert r.get_json()["errors"]["json"]["no_activity_reason"] == ["Longer than 2000 characters."]


@pytest.mark.parametrize("key", ["no_activity_reason", "no_activity_when"])
def test_service_refuses_overlong_text(key: str) -> None:
    from pinmap.services.errors import ServiceError
    from pinmap.services.progress import EMPTY, apply_changes

    rev = SimpleNamespace(**EMPTY)
    with pytest.raises(ServiceError) as refused:
        apply_changes(rev, {key: "x" * 2001})
    assert refused.value.status == 400 and refused.value.params["n"] == 2000
    apply_changes(rev, {key: "x" * 2000})
    assert getattr(rev, key) == "x" * 2000


def test_review_comment_is_refused_not_cut() -> None:
    from pinmap.services.audit import Actor
    from pinmap.services.errors import ServiceError
    from pinmap.services.review import mark_reviewed

    class Reviewer:
        role, office_id, active, id = "reviewer", None, True, 1

    rev = SimpleNamespace(state="submitted", version=1, review_comment="")
    with pytest.raises(ServiceError) as refused:
        mark_reviewed(rev, Actor(Reviewer(), "t"), "return", "x" * 4001, action="review_entry")  # type: ignore[arg-type]
    assert refused.value.status == 400 and rev.state == "submitted"


def test_evidence_link_with_bad_body_is_400(client: FlaskClient, world: World) -> None:
    r = client.post(
        world.entry_url(suffix="/evidence"),
        headers=world.headers("own_editor"),
        json={"url": "not a url"},
    )
    assert r.status_code == 400, r.get_data(as_text=True)[:300]


def test_backstops_map_races_and_refused_values_to_4xx(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    """Should a service miss a race, the loser still gets a 409 (never a 500)."""
    import psycopg.errors
    from sqlalchemy.exc import DataError, IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    raised = {
        "stale": StaleDataError("UPDATE statement on table expected to update 1 row(s)"),
        "unique": IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")),
        "check": IntegrityError("INSERT", {}, psycopg.errors.CheckViolation("ck_x")),
        "range": DataError("SELECT", {}, psycopg.errors.NumericValueOutOfRange("out of range")),
    }

    def boom(what: str) -> None:
        raise raised[what]

    app.add_url_rule("/api/v1/test-boom/<what>", view_func=boom)
    app.add_url_rule("/test-boom/<what>", view_func=boom, endpoint="boom_page")
    for prefix in ("/api/v1", ""):
        for what, status in (("stale", 409), ("unique", 409), ("check", 400), ("range", 400)):
            r = client.get(f"{prefix}/test-boom/{what}", headers={"Accept-Language": "en"})
            assert r.status_code == status, (prefix, what, r.status_code)
    r = client.get("/api/v1/test-boom/stale", headers={"Accept-Language": "en"})
    assert "at the same moment" in r.get_json()["message"]


def test_nul_in_form_fields_and_file_names_is_400(client: FlaskClient, world: World) -> None:
    import io

    h = world.headers("own_editor")
    url = world.entry_url(suffix="/evidence")
    for data in (
        {"title": "a\x00b", "file": (io.BytesIO(b"x"), "x.png")},
        {"file": (io.BytesIO(b"x"), "x\x00.png")},
    ):
        r = client.post(url, data=data, headers=h, content_type="multipart/form-data")
        assert r.status_code == 400, r.get_data(as_text=True)[:300]
    # A part with no value at all (seen from the fuzzer) is no server error either.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="\r"\r\n\r\nnull\r\n--b\r\n'
        b'Content-Disposition: form-data; name="file"; filename="file"\r\n\r\n\x00\r\n'
        b"--b--\r\n"
    )
    r = client.post(url, data=body, headers=h, content_type="multipart/form-data; boundary=b")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/clusters/32768/moves",
        "/api/v1/planner/propose?cluster=32768",
        "/api/v1/plans?cluster=32768",
    ],
)
def test_numbers_beyond_smallint_columns(client: FlaskClient, world: World, url: str) -> None:
    r = client.get(url, headers=world.headers("admin"))
    assert r.status_code in (400, 404), (r.status_code, r.get_data(as_text=True)[:300])
    assert "out of range or not valid" not in r.get_data(as_text=True)  # not the backstop
    r = client.post(
        "/api/v1/review/reopen",
        headers=world.headers("admin"),
        json={
            "office": world.own.code,
            "fiscal_year": world.fy,
            "round_no": 32768,
            "until": "2100-01-01",
            "reason": "x",
        },
    )
    assert r.status_code == 400 and "round_no" in r.get_json()["errors"]["json"]


@pytest.mark.parametrize(("lat", "lon"), [("nan", "98.9"), ("8.08", "inf"), ("-Infinity", "1")])
def test_coordinates_must_be_finite(lat: str, lon: str) -> None:
    from pinmap.services.errors import ServiceError
    from pinmap.services.profiles import parse_point

    with pytest.raises(ServiceError) as refused:
        parse_point(lat, lon)
    assert refused.value.status == 400
    assert parse_point("8.0863", "98.9063") == (98.9063, 8.0863)


def test_nan_in_a_query_is_named_in_the_readers_language(client: FlaskClient, world: World) -> None:
    r = client.get(
        "/api/v1/planner/propose?cluster=13&radius_km=nan",
        headers={**world.headers("admin"), "Accept-Language": "th"},
    )
    assert r.status_code == 400
    assert r.get_json()["errors"]["query"]["radius_km"] == ["ไม่ใช่ตัวเลขที่มีค่าจำกัด"]


def test_smallint_path_numbers_are_no_such_thing(client: FlaskClient, world: World) -> None:
    h = world.headers("own_editor")
    for old, new in ((f"/{world.fy}/", "/40000/"), (f"/{world.round_no}/", "/40000/")):
        r = client.put(world.entry_url().replace(old, new, 1), json=full_report(), headers=h)
        assert r.status_code == 404, (new, r.status_code)
    r = client.put(
        world.entry_url()[: -len(f"/{world.item.no}")] + "/40000", json=full_report(), headers=h
    )
    assert r.status_code == 404
    r = client.get("/api/v1/clusters/40000/moves")
    assert r.status_code == 404
