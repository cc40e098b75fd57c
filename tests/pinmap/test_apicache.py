"""The public API cache (pinmap.apicache) over real HTTP on a committed database.

Two app servers on one database stand in for two processes (or hosts): each has its own cache
and its own listener. Writes commit for real, from this test process (as another process or
psql would) or through a server's own API (read-your-writes), and every cached body they alter
must change on both servers; a real gunicorn pair checks the same across processes.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from geo.boundaries import read_boundaries
from pinmap.apicache import TRACKED
from pinmap.localdb import Cluster
from pinmap.models import Office
from pinmap.services import profiles as profiles_svc
from pinmap.services.accounts import create_token, create_user
from pinmap.services.audit import Actor
from pinmap.services.boundaries import import_boundaries

from ..support import gunicorn
from ..support.apiservers import Server, World, serve, servers_world
from ..support.httpget import get
from ..support.waits import until

PUBLIC_PATHS = (
    "/api/v1/offices",
    "/api/v1/offices?cluster=1",
    "/api/v1/offices/spp-krabi",
    "/api/v1/clusters",
    "/api/v1/clusters/regions",
    "/api/v1/clusters/labels",
    "/api/v1/boundaries/provinces",
    "/api/v1/policy-items?fiscal_year=2569",
)
SECURITY_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy")


@pytest.fixture(scope="module")
def world(pg_cluster: Cluster) -> Iterator[World]:
    with servers_world(pg_cluster, "pinmap_apicache") as built:
        yield built


def test_cached_answers_equal_todays_with_their_headers(world: World) -> None:
    assert "api_cache" not in world.plain.app.extensions["pinmap"]
    for path in PUBLIC_PATHS:
        cached = world.a.cached(path)
        plain = get(world.plain.base, path)
        assert cached.status == plain.status == 200, path
        assert cached.body == plain.body, path
        for name in ("content-type", *map(str.lower, SECURITY_HEADERS)):
            assert cached.headers.get(name) == plain.headers.get(name), (path, name)
        assert cached.headers["cache-control"] == plain.headers["cache-control"] == "no-cache"
        assert cached.headers["etag"] == plain.headers["etag"], path
        assert "content-security-policy" not in cached.headers
        assert "set-cookie" not in cached.headers
        zipped = world.a.cached(path, {"Accept-Encoding": "gzip"})
        plain_zipped = get(world.plain.base, path, {"Accept-Encoding": "gzip"})
        if plain_zipped.headers.get("content-encoding") == "gzip":
            assert zipped.headers["content-encoding"] == "gzip", path
            assert zipped.headers["etag"] == plain_zipped.headers["etag"], path
            assert gzip.decompress(zipped.body) == plain.body, path
        assert "Accept-Encoding" in zipped.headers["vary"]


def test_etags_304s_and_head(world: World) -> None:
    path = "/api/v1/offices"
    plain = world.a.cached(path)
    etag = plain.headers["etag"]
    zipped = world.a.cached(path, {"Accept-Encoding": "gzip"})
    gz_etag = zipped.headers["etag"]
    assert gz_etag == etag[:-1] + ':gzip"'
    for sent, accept, expected in (
        (etag, "", etag),
        (gz_etag, "gzip", gz_etag),
        (gz_etag, "", etag),  # a client that dropped gzip still holds the same data
        (f'W/{etag}, "other"', "", etag),
        ("*", "gzip", gz_etag),
    ):
        r = get(world.a.base, path, {"If-None-Match": sent, "Accept-Encoding": accept})
        assert r.status == 304, sent
        assert r.body == b""
        assert r.headers["etag"] == expected
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-content-type-options"] == "nosniff"
    stale = get(world.a.base, path, {"If-None-Match": '"old"'})
    assert stale.status == 200 and stale.body == plain.body
    head = get(world.a.base, path, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(plain.body))
    assert head.headers["etag"] == etag


def test_errors_are_answered_as_today_and_not_kept(world: World) -> None:
    world.a.listening()
    builds = world.a.cache.builds
    for path in ("/api/v1/offices/no-such-office", "/api/v1/offices?cluster=abc"):
        plain = get(world.plain.base, path, {"Accept-Language": "en"})
        for _ in range(2):
            r = get(world.a.base, path, {"Accept-Language": "en"})
            assert r.status == plain.status and r.status in (400, 404, 422), path
            assert r.json() == plain.json()
    assert world.a.cache.builds == builds


def test_a_burst_of_misses_builds_each_body_once(world: World) -> None:
    world.a.listening()
    world.a.cache.invalidate()
    builds = world.a.cache.builds
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: get(world.a.base, "/api/v1/clusters/regions"), range(40)))
    assert {a.status for a in answers} == {200}
    assert len({a.body for a in answers}) == 1
    assert world.a.cache.builds == builds + 1


def test_a_fresh_process_builds_once_for_its_first_crowd(world: World) -> None:
    """The first requests wait for the listener to connect, not each build the body."""
    server = serve(world.url)
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(
                pool.map(lambda _: get(server.base, "/api/v1/clusters/regions"), range(20))
            )
        assert {a.status for a in answers} == {200}
        assert server.cache.builds == 1
    finally:
        server.stop()


def test_a_commit_in_this_process_moves_the_generation_at_once(world: World) -> None:
    """Read-your-writes without waiting for the NOTIFY: the listener is told nothing here."""
    cache = world.a.cache
    world.a.listening()
    cache.broker.unwatch(cache.invalidate)
    try:
        factory = world.a.app.extensions["pinmap"]["session_factory"]
        generation = cache.generation
        with factory() as session:
            office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
            office.name_en = "Krabi (rolled back)"
            session.flush()
            session.rollback()
        assert cache.generation == generation, "a rolled-back write changes nothing"
        with factory.begin() as session:
            session.execute(select(Office.code)).all()  # reads only
        assert cache.generation == generation
        with factory.begin() as session:
            office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
            office.name_en = office.name_en + " (local)"
        assert cache.generation == generation + 1
        with factory.begin() as session:
            session.execute(
                update(Office).where(Office.code == "spp-krabi").values(location_note="bulk")
            )
        assert cache.generation == generation + 2
    finally:
        cache.broker.watch(cache.invalidate)


def test_the_store_is_bounded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import pinmap.apicache as apicache

    monkeypatch.setattr(apicache, "MAX_ENTRIES", 3)
    world.a.listening()
    for n in range(6):
        assert get(world.a.base, f"/api/v1/offices?cluster={n + 1}").status == 200
    assert len(world.a.cache._entries) == 3
    assert world.a.cache._bytes == sum(e.size for e in world.a.cache._entries.values())


def test_https_answers_keep_hsts_behind_a_proxy(world: World) -> None:
    server = serve(world.url, SESSION_COOKIE_SECURE=True, PINMAP_PROXIES=1)
    try:
        path = "/api/v1/clusters"
        plain = server.cached(path)
        assert "strict-transport-security" not in plain.headers
        https = server.cached(path, {"X-Forwarded-Proto": "https"})
        assert https.headers["strict-transport-security"].startswith("max-age=")
        assert https.body == plain.body and https.headers["etag"] == plain.headers["etag"]
        assert "strict-transport-security" not in get(server.base, path).headers
    finally:
        server.stop()


def _bodies(server: Server, paths: tuple[str, ...]) -> dict[str, bytes]:
    return {p: server.cached(p).body for p in paths}


def _changes_everywhere(
    world: World, before: dict[str, dict[str, bytes]], paths: tuple[str, ...]
) -> None:
    """Every server serves a new body for every path (waiting for the NOTIFY to arrive), the
    same as a server without the cache."""
    for server in (world.a, world.b):
        for path in paths:
            assert until(lambda s=server, p=path: get(s.base, p).body != before[s.base][p]), (
                f"{path} stale on {server.base}"
            )
            assert get(server.base, path).body == get(world.plain.base, path).body, path


def test_an_office_edit_by_another_process_reaches_every_cache(world: World) -> None:
    paths = ("/api/v1/offices", "/api/v1/offices?cluster=1", "/api/v1/offices/spp-krabi")
    before = {s.base: _bodies(s, paths) for s in (world.a, world.b)}
    world.write(
        "UPDATE offices SET name_en = name_en || ' (edited)' "
        "WHERE code = 'spp-krabi' OR cluster_no = 1"
    )
    _changes_everywhere(world, before, paths)


def test_a_cluster_rename_alters_every_body_that_names_it(world: World) -> None:
    paths = ("/api/v1/clusters", "/api/v1/clusters/regions", "/api/v1/clusters/labels")
    before = {s.base: _bodies(s, paths) for s in (world.a, world.b)}
    world.write("UPDATE clusters SET name_en = name_en || ' (renamed)' WHERE no = 2")
    _changes_everywhere(world, before, paths)


def _token(world: World, role: str, office: str | None = None) -> str:
    with world.factory.begin() as session:
        email = f"{role}-{time.monotonic_ns()}@example.org"
        user = create_user(
            session,
            Actor(None),
            email=email,
            name=email,
            role=role,
            password="apicache password 1",  # noqa: S106
            office_code=office,
        )
        return create_token(session, Actor(None), user, "apicache").secret


def test_a_cluster_move_through_the_api_is_seen_at_once_here_and_soon_elsewhere(
    world: World,
) -> None:
    paths = ("/api/v1/offices/spp-krabi", "/api/v1/clusters", "/api/v1/clusters/regions")
    before = {s.base: _bodies(s, paths) for s in (world.a, world.b)}
    krabi = json.loads(before[world.a.base]["/api/v1/offices/spp-krabi"])
    target = 1 if krabi["properties"]["cluster_no"] != 1 else 3
    conn = http.client.HTTPConnection(world.a.base.removeprefix("http://"), timeout=30)
    conn.request(
        "POST",
        f"/api/v1/clusters/{target}/members",
        body=json.dumps({"office": "spp-krabi", "reason": "cache test"}),
        headers={
            "Authorization": f"Bearer {_token(world, 'admin')}",
            "Content-Type": "application/json",
        },
    )
    resp = conn.getresponse()
    assert resp.status == 201, resp.read()
    conn.close()
    # The same process answers the next request with the move: no waiting for the NOTIFY.
    for path in paths:
        assert get(world.a.base, path).body != before[world.a.base][path], path
    moved = get(world.a.base, "/api/v1/offices/spp-krabi").json()
    assert moved["properties"]["cluster_no"] == target
    _changes_everywhere(world, before, paths)


def test_anonymous_and_signed_in_readers_get_approved_data_only(world: World) -> None:
    path = "/api/v1/offices/spp-krabi"
    before = world.a.cached(path)
    old = before.json()["geometry"]["coordinates"]
    editor = _token(world, "office_director", "spp-krabi")
    reviewer = _token(world, "reviewer")
    new_point = (round(old[0] + 0.001, 6), round(old[1] + 0.001, 6))
    with world.factory.begin() as session:
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        director = Actor(_user_of(session, "office_director", office.id))
        data = {
            "address": "ถนนอุตรกิจ",
            "phone": "0 7561 1234",
            "email": "saraban@krabi.go.th",
            "website": "",
            "staff_count": "85",
            "people": [{"role": "director", "name": "นายทดสอบ", "position": "ผู้อำนวยการ"}],
        }
        draft = profiles_svc.save_draft(session, director, office, data, new_point, None)
        version = draft.version
    # The draft is no public data: even rebuilt, and for the office's own signed-in director,
    # the cached body keeps the approved pin (bodies are built as an anonymous reader).
    world.a.cache.invalidate()
    signed_in = get(world.a.base, path, {"Authorization": f"Bearer {editor}"})
    assert signed_in.status == 200 and "set-cookie" not in signed_in.headers
    assert signed_in.json()["geometry"]["coordinates"] == old
    assert get(world.a.base, path).body == signed_in.body
    assert get(world.a.base, path, {"Authorization": f"Bearer {reviewer}"}).body == before.body
    with world.factory.begin() as session:
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        director = Actor(_user_of(session, "office_director", office.id))
        rev = profiles_svc.submit(session, director, office, version)
        profiles_svc.review(
            session, Actor(_user_of(session, "reviewer", None)), rev, "approve", "", rev.version
        )
    for server in (world.a, world.b):
        assert until(
            lambda s=server: get(s.base, path).json()["geometry"]["coordinates"] == list(new_point)
        ), server.base


def _user_of(session: Session, role: str, office_id: int | None) -> Any:
    from pinmap.models import User

    stmt = select(User).filter_by(role=role).order_by(User.id.desc())
    if office_id is not None:
        stmt = stmt.filter_by(office_id=office_id)
    return session.scalars(stmt).first()


def _listener_backends(world: World) -> list[int]:
    with world.factory() as session:
        return list(
            session.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE application_name = 'pinmap-listen' AND datname = current_database()"
                )
            )
        )


def test_a_missed_notify_never_leaves_a_stale_body(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener loses its connection; a change commits while nobody listens; the cache
    answers fresh bodies meanwhile and after it reconnects."""
    for s in (world.a, world.b):
        s.listening()  # so that the fixture's servers lose theirs too (checked at the end)
    server = serve(world.url)
    try:
        path = "/api/v1/offices/spp-krabi"
        before = server.cached(path)
        broker = server.cache.broker
        gate = threading.Event()
        connect = broker._connect

        def gated() -> psycopg.Connection[Any]:
            assert gate.wait(30)
            return connect()

        monkeypatch.setattr(broker, "_connect", gated)
        builds = server.cache.builds
        with psycopg.connect(world.url.replace("+psycopg", ""), autocommit=True) as conn:
            for pid in _listener_backends(world):
                conn.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert until(lambda: not broker.connected.is_set()), "the listener did not notice"
        world.write("UPDATE offices SET name_en = 'Krabi (missed)' WHERE code = 'spp-krabi'")
        during = get(server.base, path)
        assert during.json()["properties"]["name_en"] == "Krabi (missed)"
        assert server.cache.builds == builds, "nothing is kept while changes go unheard"
        gate.set()
        assert broker.connected.wait(10)
        after = server.cached(path)
        assert after.body == during.body != before.body
    finally:
        server.stop()
    # The fixture's servers reconnect too (their listeners were cut as well).
    for s in (world.a, world.b):
        assert s.cache.broker.connected.wait(15)


def test_every_tracked_table_notifies(world: World) -> None:
    with world.factory() as session:
        tables = set(
            session.scalars(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname LIKE '%\\_public\\_data'"
                )
            )
        )
    assert tables == {m.__tablename__ for m in TRACKED}


def test_boundary_import_alters_provinces_regions_and_labels(
    world: World, province_file: Path, tmp_path: Path
) -> None:
    paths = ("/api/v1/boundaries/provinces", "/api/v1/clusters/regions", "/api/v1/clusters/labels")
    before = {s.base: _bodies(s, paths) for s in (world.a, world.b)}
    # Shifted a little, so the import changes every outline whatever is stored now.
    frame = read_boundaries(province_file, "province")
    frame.frame["geometry"] = frame.frame.geometry.translate(0.01, 0.01)
    with world.factory.begin() as session:
        import_boundaries(session, frame, "province", source_name="shifted", sha256="s" * 64)
    _changes_everywhere(world, before, paths)
    assert len(get(world.a.base, paths[0]).json()["features"]) == 77


@pytest.fixture(scope="module")
def booting(world: World) -> Iterator[list[gunicorn.Host]]:
    """Two hosts as `make run` starts them (a gevent worker each), with the cache on; started
    side by side and not yet waited for (see `hosts`)."""
    started = [gunicorn.start(world.url, workers=1) for _ in range(2)]
    yield started
    gunicorn.stop(started)


@pytest.fixture(scope="module", autouse=True)
def _start_early(request: pytest.FixtureRequest) -> None:
    """Start the hosts as the module begins when a selected test needs them: their workers
    import the app (seconds of CPU) while the in-process tests, which mostly wait, run."""
    if any(
        "hosts" in item.fixturenames
        for item in request.session.items
        if item.module is request.module
    ):
        request.getfixturevalue("booting")


@pytest.fixture(scope="module")
def hosts(booting: list[gunicorn.Host]) -> list[gunicorn.Host]:
    return gunicorn.up(booting)


def test_two_gunicorn_hosts_drop_their_bodies_on_a_change(
    world: World, hosts: list[gunicorn.Host]
) -> None:
    path = "/api/v1/offices?cluster=1"
    bases = [host.base for host in hosts]
    # Once the listener runs, the same ETag comes back as a 304 (a cached entry).
    for base in bases:
        first = get(base, path)
        assert until(
            lambda b=base, e=first.headers["etag"]: get(b, path, {"If-None-Match": e}).status == 304
        )
    old = get(bases[0], path)
    # The ETag is the body's hash: a client the load balancer moves keeps its 304s.
    assert get(bases[1], path, {"If-None-Match": old.headers["etag"]}).status == 304
    world.write("UPDATE offices SET name_en = name_en || ' (hosts)' WHERE cluster_no = 1")
    for base in bases:
        assert until(lambda b=base: get(b, path).body != old.body), base
        fresh = get(base, path, {"If-None-Match": old.headers["etag"]})
        assert fresh.status == 200 and b"(hosts)" in fresh.body
