"""Live changes end to end over HTTP: SSE delivery, resume, audiences, restarts, two workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import make_server

from pinmap import create_app
from pinmap.api.live import broker as _broker  # noqa: F401  (documented entry point)
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.devdb import prepared_database
from pinmap.live import Broker, Change
from pinmap.localdb import Cluster, free_port
from pinmap.services.accounts import create_token, create_user
from pinmap.services.audit import Actor, emit_change

from ..conftest import TEST_CONFIG
from ..sse import SSEClient

_APPS: list[object] = []


@pytest.fixture(scope="module", autouse=True)
def _dispose_app_engines() -> Iterator[None]:
    yield
    for app in _APPS:
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()  # type: ignore[attr-defined]


class Live:
    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url
        self.factory = sessionmaker(bind=make_engine(database_url))

    def emit(self, kind: str = "office.updated", code: str = "spp-krabi", **kw: object) -> int:
        with self.factory.begin() as session:
            return emit_change(session, kind, code, {"test": True}, **kw).id  # type: ignore[arg-type]


def _serve(database_url: str) -> tuple[object, str]:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": database_url})
    _APPS.append(app)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def live(pg_cluster: Cluster) -> Iterator[Live]:
    url = prepared_database(pg_cluster, "pinmap_live")
    server, base = _serve(url)
    live = Live(base, url)
    yield live
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]
    live.factory.kw["bind"].dispose()


def test_a_committed_change_reaches_an_open_stream_quickly(live: Live) -> None:
    client = SSEClient(live.url + "/api/v1/stream")
    assert client.status == 200
    time.sleep(0.3)  # let the broker start listening
    start = time.monotonic()
    change_id = live.emit()
    event = client.next_event(timeout=3)
    client.close()
    assert event is not None and event.id == change_id and event.event == "change"
    assert event.data["office_code"] == "spp-krabi"
    assert event.received - start < 1.0


def test_resume_with_last_event_id_gets_every_missed_change_once(live: Live) -> None:
    first, second, third = live.emit(), live.emit(), live.emit()
    client = SSEClient(live.url + "/api/v1/stream", {"Last-Event-ID": str(first)})
    got = [client.next_event(timeout=3), client.next_event(timeout=3)]
    assert [e.id for e in got if e] == [second, third]
    fourth = live.emit()
    event = client.next_event(timeout=3)
    assert event is not None and event.id == fourth
    assert client.next_event(timeout=0.5) is None  # nothing twice
    client.close()


def _first_block(client: SSEClient) -> dict[str, str]:
    """The raw fields of the stream's first block (SSEClient skips blocks without data)."""
    fields: dict[str, str] = {}
    while (line := client.response.fp.readline().decode().rstrip("\n")) != "":
        if ":" not in line:
            continue  # chunked transfer framing: the stream itself sends only "name: value"
        key, _, value = line.partition(":")
        fields[key] = value.lstrip(" ")
    return fields


def test_a_fresh_stream_names_its_resume_point_before_any_change(live: Live) -> None:
    latest = live.emit()
    client = SSEClient(live.url + "/api/v1/stream")
    first = _first_block(client)
    client.close()
    # An id without data dispatches nothing, but becomes the browser's Last-Event-ID.
    assert first == {"retry": "3000", "id": str(latest)}


def test_a_client_that_drops_before_its_first_change_resumes_exactly(live: Live) -> None:
    client = SSEClient(live.url + "/api/v1/stream")
    seen = _first_block(client)["id"]
    client.close()
    missed = live.emit()  # committed while the client is away
    again = SSEClient(live.url + "/api/v1/stream", {"Last-Event-ID": seen})
    assert _first_block(again)["id"] == seen
    event = again.next_event(timeout=3)
    again.close()
    assert event is not None and event.id == missed


def test_polling_equivalent(live: Live) -> None:
    a, b = live.emit(), live.emit()
    import json

    with urllib.request.urlopen(f"{live.url}/api/v1/changes?since={a}") as r:
        body = json.loads(r.read())
    assert [c["id"] for c in body["changes"]] == [b] and body["last_id"] == b


@pytest.mark.parametrize("path", ["/api/v1/changes?since=abc", "/api/v1/changes?since=-1",
                                  "/api/v1/stream?last_event_id=1e9"])  # fmt: skip
def test_malformed_ids_are_400_json(live: Live, path: str) -> None:
    import json
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(live.url + path)
    assert info.value.code == 400
    assert "message" in json.loads(info.value.read())


def test_bad_last_event_id_header_is_400(live: Live) -> None:
    client = SSEClient(live.url + "/api/v1/stream", {"Last-Event-ID": "yesterday"})
    assert client.status == 400
    client.close()


def test_private_changes_reach_only_their_office_and_obec(live: Live) -> None:
    with live.factory.begin() as session:
        tokens = {}
        for who, role, office in [("krabi", "office_editor", "spp-krabi"),
                                  ("bkk", "office_editor", "spp-bangkok"),
                                  ("obec", "reviewer", None)]:  # fmt: skip
            user = create_user(session, Actor(None), email=f"live-{who}@example.go.th", name=who,
                               password="live password 1", role=role, office_code=office)  # fmt: skip
            tokens[who] = create_token(session, Actor(None), user, "t").secret
        krabi_id = (
            user.id
            and session.execute(
                __import__("sqlalchemy").text("SELECT id FROM offices WHERE code='spp-krabi'")
            ).scalar_one()
        )
    clients = {who: SSEClient(live.url + "/api/v1/stream",
                              {"Authorization": f"Bearer {t}"} if t else {})
               for who, t in {**tokens, "public": ""}.items()}  # fmt: skip
    time.sleep(0.3)
    private = live.emit("progress.saved", audience="office", office_id=krabi_id)
    public = live.emit("progress.approved")
    seen = {who: [e.id for e in iter(lambda c=c: c.next_event(timeout=1.5), None)]
            for who, c in clients.items()}  # fmt: skip
    for c in clients.values():
        c.close()
    assert seen["krabi"] == [private, public]
    assert seen["obec"] == [private, public]
    assert seen["bkk"] == [public]
    assert seen["public"] == [public]


def test_a_client_that_stops_reading_is_dropped_without_slowing_others() -> None:
    b = Broker("postgresql://unused")
    b._started = True  # no listener thread: we feed changes by hand
    stuck, reader = b.subscribe(frozenset(), 0), b.subscribe(frozenset(), 0)
    for i in range(1, 400):
        b._deliver(Change(i, "", "office.updated", "x", "public", None, {}))
        while not reader.queue.empty():
            reader.queue.get_nowait()
    assert stuck.dropped and not reader.dropped
    assert b.subscriber_count == 1


def test_listener_reconnects_after_a_database_restart() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-restart-"))
    cluster = Cluster(tmp / "data", free_port())
    try:
        url = prepared_database(cluster, "pinmap_restart")
        server, base = _serve(url)
        live = Live(base, url)
        client = SSEClient(base + "/api/v1/stream", timeout=20)
        time.sleep(0.3)
        before = live.emit()
        assert client.next_event(timeout=3).id == before  # type: ignore[union-attr]
        cluster.stop()
        cluster.start()
        live.factory.kw["bind"].dispose()
        after = live.emit()
        event = client.next_event(timeout=15)
        assert event is not None and event.id == after
        client.close()
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
        live.factory.kw["bind"].dispose()
    finally:
        cluster.destroy()
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()


def _gunicorn(database_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test",
           "PINMAP_VAR_DIR": tempfile.mkdtemp(prefix="pinmap-gunicorn-")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "pinmap.wsgi:app", "-k", "gevent", "-w", str(workers),
         "--worker-connections", "200", "-b", f"127.0.0.1:{port}"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, base


def test_two_hosts_of_gunicorn_workers_deliver_every_change_to_every_client(live: Live) -> None:
    # Which worker of one master accepts a connection is up to the kernel (on a small machine
    # one gevent worker may take them all), so two masters stand in for two hosts behind a
    # load balancer: their workers are distinct processes whatever the kernel does.
    hosts = [_gunicorn(live.database_url, workers=2) for _ in range(2)]
    clients: list[SSEClient] = []
    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=40) as pool:
            for _, base in hosts:
                clients += pool.map(lambda _, b=base: SSEClient(b + "/api/v1/stream"), range(40))
        assert all(c.status == 200 for c in clients)
        assert len({c.served_by for c in clients}) >= 2, "streams held by several processes"
        time.sleep(0.5)
        ids = [live.emit() for _ in range(3)]
        for c in clients:
            got = [c.next_event(timeout=3) for _ in ids]
            assert [e.id for e in got if e] == ids, f"client on worker {c.served_by}"
    finally:
        for c in clients:
            c.close()
        for proc, _ in hosts:
            proc.send_signal(signal.SIGINT)  # quick shutdown: open streams need not drain
        for proc, _ in hosts:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
