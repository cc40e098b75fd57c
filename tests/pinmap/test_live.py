"""Live changes end to end over HTTP: SSE delivery, resume, audiences, restarts, two workers."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from pinmap import create_app
from pinmap.api.live import broker as _broker  # noqa: F401  (documented entry point)
from pinmap.config import PROJECT_ROOT, from_env
from pinmap.db import make_engine
from pinmap.live import Broker, Change, shared_broker
from pinmap.localdb import Cluster, free_port
from pinmap.services.accounts import create_token
from pinmap.services.audit import Actor, emit_change

from ..sse import SSEClient
from ..support import gunicorn
from ..support.app import TEST_CONFIG
from ..support.databases import prepared_database
from ..support.factories import UserFactory
from ..support.serving import make_test_server
from ..support.waits import until

# The listener tries a lost database again within a fifth of a second (the product's default
# starts at half a second and backs off to ten): the restart test waits for that, nothing else.
QUICK_RETRY = {"PINMAP_LISTEN_RETRY": "0.05", "PINMAP_LISTEN_RETRY_MAX": "0.2"}

_APPS: list[object] = []


@pytest.fixture(scope="module", autouse=True)
def _dispose_app_engines() -> Iterator[None]:
    yield
    for app in _APPS:
        _release(app)


def _release(app: object) -> None:
    """Close `app`'s database connections and stop following changes (its listener then ends
    rather than retrying a database that has gone away)."""
    ext = app.extensions["pinmap"]  # type: ignore[attr-defined]
    if "api_cache" in ext:
        ext["api_cache"].close()
    ext["session_factory"].kw["bind"].dispose()


class Live:
    def __init__(self, url: str, database_url: str) -> None:
        self.app = _APPS[-1]  # the server _serve just started
        self.url = url
        self.database_url = database_url
        self.factory = sessionmaker(bind=make_engine(database_url))

    def emit(self, kind: str = "office.updated", code: str = "spp-krabi", **kw: object) -> int:
        with self.factory.begin() as session:
            return emit_change(session, kind, code, {"test": True}, **kw).id  # type: ignore[arg-type]


def _serve(database_url: str) -> tuple[object, str]:
    retry = {k: float(v) for k, v in QUICK_RETRY.items()}
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": database_url, **retry})
    _APPS.append(app)
    server = make_test_server(app)
    # shutdown() returns when the loop next looks (every half second by default).
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _subscribed(app: object, at_least: int) -> bool:
    """Waits until `app`'s broker holds `at_least` subscribers (closed streams of earlier tests
    may still be counted until their next write, hence "at least").

    A stream's headers are sent only after its subscription, so this is already true when the
    clients have their 200: it states what a change committed next relies on."""
    return until(lambda: _subscribers(app) >= at_least)


def _before(client: SSEClient, marker: int, timeout: float = 10.0) -> list[int]:
    """The change ids `client` receives before the change `marker` (asserted to arrive).

    A public change committed after the ones a test watches: the broker hands out changes in
    id order, and a stream sends them in that order, so whatever else the watched commits made
    a stream send (a duplicate, another office's change) comes before the marker. Waiting for
    it replaces waiting for a quiet spell, which a busy machine can outrun."""
    seen: list[int] = []
    while (event := client.next_event(timeout=timeout)) is not None:
        if event.id == marker:
            return seen
        seen.append(event.id)  # type: ignore[arg-type]
    raise AssertionError(f"the marker change {marker} never came; before it: {seen}")


def _read_all(clients: dict[str, SSEClient], marker: int) -> dict[str, list[int]]:
    """Each client's change ids before `marker` (see _before), the clients read at once."""
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = {who: pool.submit(_before, c, marker) for who, c in clients.items()}
        return {who: f.result() for who, f in futures.items()}


@pytest.fixture(scope="module")
def live(pg_cluster: Cluster) -> Iterator[Live]:
    url = prepared_database(pg_cluster, "pinmap_live")
    server, base = _serve(url)
    live = Live(base, url)
    yield live
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]
    live.factory.kw["bind"].dispose()


def test_a_committed_change_reaches_an_open_stream(live: Live) -> None:
    client = SSEClient(live.url + "/api/v1/stream")
    assert client.status == 200
    # The stream's headers arrive only after the broker has subscribed the client (subscribe
    # waits until the listener is positioned), so a change committed now cannot be missed.
    # How quickly it arrives is measured by bench/live_fanout.py, not asserted here.
    change_id = live.emit()
    event = client.next_event(timeout=10)
    client.close()
    assert event is not None and event.id == change_id and event.event == "change"
    assert event.data["office_code"] == "spp-krabi"


def test_resume_with_last_event_id_gets_every_missed_change_once(live: Live) -> None:
    first, second, third = live.emit(), live.emit(), live.emit()
    client = SSEClient(live.url + "/api/v1/stream", {"Last-Event-ID": str(first)})
    got = [client.next_event(timeout=10), client.next_event(timeout=10)]
    assert [e.id for e in got if e] == [second, third]
    fourth = live.emit()
    event = client.next_event(timeout=10)
    assert event is not None and event.id == fourth
    assert _before(client, live.emit()) == []  # nothing twice
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
    event = again.next_event(timeout=10)
    again.close()
    assert event is not None and event.id == missed


def test_polling_equivalent(live: Live) -> None:
    a, b = live.emit(), live.emit()
    import json

    with urllib.request.urlopen(f"{live.url}/api/v1/changes?since={a}") as r:
        body = json.loads(r.read())
    assert [c["id"] for c in body["changes"]] == [b] and body["last_id"] == b


@pytest.mark.parametrize(
    "path",
    ["/api/v1/changes?since=abc", "/api/v1/changes?since=-1", "/api/v1/stream?last_event_id=1e9"],
)
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
        for who, role, office in [
            ("krabi", "office_editor", "spp-krabi"),
            ("bkk", "office_editor", "spp-bangkok"),
            ("obec", "reviewer", None),
        ]:
            user = UserFactory.create(
                session=session,
                email=f"live-{who}@example.go.th",
                name=who,
                password="live password 1",
                role=role,
                office_code=office,
            )
            tokens[who] = create_token(session, Actor(None), user, "t").secret
        krabi_id = (
            user.id
            and session.execute(
                __import__("sqlalchemy").text("SELECT id FROM offices WHERE code='spp-krabi'")
            ).scalar_one()
        )
    clients = {
        who: SSEClient(live.url + "/api/v1/stream", {"Authorization": f"Bearer {t}"} if t else {})
        for who, t in {**tokens, "public": ""}.items()
    }
    assert _subscribed(live.app, len(clients))
    private = live.emit("progress.saved", audience="office", office_id=krabi_id)
    public = live.emit("progress.approved")
    seen = _read_all(clients, marker=live.emit())
    for c in clients.values():
        c.close()
    assert seen["krabi"] == [private, public]
    assert seen["obec"] == [private, public]
    assert seen["bkk"] == [public]
    assert seen["public"] == [public]


@pytest.mark.parametrize(
    ("env", "retry"),
    [
        ({}, (0.5, 10.0)),
        ({"PINMAP_LISTEN_RETRY": "0.05", "PINMAP_LISTEN_RETRY_MAX": "0.2"}, (0.05, 0.2)),
    ],
)
def test_the_listeners_retry_intervals_come_from_the_settings(
    env: dict[str, str], retry: tuple[float, float]
) -> None:
    config = from_env(env)
    b = shared_broker({}, "postgresql+psycopg://unused", config)
    assert (b.retry, b.retry_max) == retry


@pytest.mark.parametrize(
    "env",
    [
        {"PINMAP_LISTEN_RETRY": "soon"},
        {"PINMAP_LISTEN_RETRY": "0"},
        {"PINMAP_LISTEN_RETRY": "nan"},
        {"PINMAP_LISTEN_RETRY_MAX": "-1"},
        {"PINMAP_LISTEN_RETRY_MAX": "1e9"},
    ],
)
def test_out_of_range_retry_settings_are_refused_by_name(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=next(iter(env))):
        from_env(env)


def test_a_broker_keeps_its_retry_intervals_in_range() -> None:
    b = Broker("postgresql://unused", retry=0, retry_max=1e9)
    assert (b.retry, b.retry_max) == (0.01, 300.0)
    assert Broker("postgresql://unused", retry=2, retry_max=1).retry_max == 2


def test_a_client_that_stops_reading_is_dropped_without_slowing_others() -> None:
    b = Broker("postgresql://unused")
    b._started = True  # no listener thread: we feed changes by hand
    b.positioned.set()
    stuck, reader = b.subscribe(frozenset()), b.subscribe(frozenset())
    for i in range(1, 400):
        b._deliver(Change(i, "", "office.updated", "x", "public", None, {}))
        while not reader.queue.empty():
            reader.queue.get_nowait()
    assert stuck.dropped and not reader.dropped
    assert b.subscriber_count == 1


# --- hardening: cursors a client makes up, and streams that outlive their access -------------


@pytest.fixture
def fresh(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    """A new app process-alike on the live database: its broker has never run, so the first
    stream opened here is the one that would have set the listener's position."""
    import pinmap.api.live as api_live

    # Closed clients are noticed at the next write: heartbeat often, so counts settle fast.
    monkeypatch.setattr(api_live, "HEARTBEAT_SECONDS", 0.2)
    server, base = _serve(live.database_url)
    yield base, _APPS[-1]
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


def _subscribers(app: object) -> int:
    broker = app.extensions["pinmap"].get("broker")  # type: ignore[attr-defined]
    return broker.subscriber_count if broker is not None else 0


def _settles_at_zero(app: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _subscribers(app) == 0:
            return True
        time.sleep(0.05)
    return False


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    import urllib.error

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status
    except urllib.error.HTTPError as err:
        err.close()
        return err.code


@pytest.mark.parametrize("cursor", ["99999999999", "2147483648", "999999999999999999"])
def test_an_out_of_range_cursor_is_400_registers_nothing_and_silences_nobody(
    live: Live, fresh: tuple[str, object], cursor: str
) -> None:
    base, app = fresh
    bad = SSEClient(base + "/api/v1/stream", {"Last-Event-ID": cursor})
    assert bad.status == 400
    bad.close()
    assert _status(f"{base}/api/v1/changes?since={cursor}") == 400
    assert _status(f"{base}/api/v1/stream?last_event_id={cursor}") == 400
    assert _subscribers(app) == 0
    client = SSEClient(base + "/api/v1/stream")
    assert _subscribed(app, 1)
    change_id = live.emit()
    event = client.next_event(timeout=10)
    client.close()
    assert event is not None and event.id == change_id
    assert _settles_at_zero(app)


def test_an_ahead_cursor_on_the_first_stream_does_not_move_the_listener(
    live: Live, fresh: tuple[str, object]
) -> None:
    base, app = fresh
    newest = live.emit()
    ahead = SSEClient(base + "/api/v1/stream", {"Last-Event-ID": str(newest + 1000)})
    assert ahead.status == 200
    other = SSEClient(base + "/api/v1/stream")
    assert _subscribed(app, 2)
    later = [live.emit(), live.emit()]
    marker = live.emit()
    # `other` is read on a thread while `ahead` is read here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        seen_by_other = pool.submit(_before, other, marker)
        # The made-up cursor itself resumes from what exists, told to reload its data.
        assert _first_block(ahead)["id"] == str(newest)
        assert ahead.next_event(timeout=10).event == "reset"  # type: ignore[union-attr]
        assert _before(ahead, marker) == later
        assert seen_by_other.result() == later
    with urllib.request.urlopen(f"{base}/api/v1/changes?since={marker + 50}") as r:
        import json

        body = json.loads(r.read())
    # `marker` is the newest change.
    assert body["changes"] == [] and body["last_id"] == marker and body["reset"] is True
    ahead.close()
    other.close()
    assert _settles_at_zero(app)


def test_a_failing_backlog_query_leaves_no_subscriber(
    live: Live, fresh: tuple[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import pinmap.api.live as api_live

    base, app = fresh

    def database_gone(*args: object) -> list[Change]:
        raise OperationalError("SELECT … FROM change_events", {}, Exception("connection lost"))

    monkeypatch.setattr(api_live, "_changes_after", database_gone)
    assert _status(base + "/api/v1/stream") == 503
    assert _subscribers(app) == 0


# Signed-in streams: sign in through the real form, like a browser.

LIVE_PASSWORD = "live password 1"


class Browser:
    """A cookie-keeping HTTP client that signs in through /portal/login."""

    def __init__(self, base: str) -> None:
        from http.cookiejar import CookieJar

        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self, path: str) -> str:
        import re

        with self.opener.open(self.base + path) as r:
            found = re.search(r'name="csrf_token" value="([^"]+)"', r.read().decode())
        assert found, path
        return found.group(1)

    def post(self, path: str, form: dict[str, str], csrf_from: str) -> int:
        import urllib.error
        import urllib.parse

        data = urllib.parse.urlencode({**form, "csrf_token": self.csrf(csrf_from)}).encode()
        try:
            with self.opener.open(self.base + path, data=data) as r:
                return r.status
        except urllib.error.HTTPError as err:
            err.close()
            return err.code

    def sign_in(self, email: str, password: str = LIVE_PASSWORD) -> None:
        status = self.post("/portal/login", {"email": email, "password": password}, "/portal/login")
        assert status == 200, status  # the redirect was followed to a portal page
        assert self.cookie_header()

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar if c.name == "session")

    def stream(self, base: str | None = None) -> SSEClient:
        client = SSEClient((base or self.base) + "/api/v1/stream", {"Cookie": self.cookie_header()})
        assert client.status == 200
        return client


def _user(
    live: Live, email: str, role: str = "office_editor", office: str | None = "spp-krabi"
) -> tuple[int, str]:
    """A user and an API token of theirs: (user id, token secret)."""
    with live.factory.begin() as session:
        user = UserFactory.create(
            session=session,
            email=email,
            name=email,
            role=role,
            password=LIVE_PASSWORD,
            office_code=office,
        )
        return user.id, create_token(session, Actor(None), user, "stream").secret


def _krabi_id(live: Live) -> int:
    from sqlalchemy import text

    with live.factory() as session:
        return int(session.execute(text("SELECT id FROM offices WHERE code='spp-krabi'")).one()[0])


def _ends(client: SSEClient, timeout: float = 10.0) -> tuple[bool, list[int]]:
    """Read until the stream ends (True) or `timeout` passes (False); the change ids seen."""
    deadline = time.monotonic() + timeout
    sock = client.response.fp.raw._sock  # type: ignore[attr-defined]
    seen: list[int] = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            raw = client.response.fp.readline()
        except TimeoutError:
            break
        if raw in (b"", b"0\r\n"):  # closed, or the last chunk of a chunked response
            return True, seen
        if raw.startswith(b"id: "):
            seen.append(int(raw[4:]))
    return False, seen


def test_signing_out_ends_the_browsers_open_stream(live: Live, fresh: tuple[str, object]) -> None:
    base, app = fresh
    _user(live, "live-signout@example.go.th")
    krabi = _krabi_id(live)
    browser = Browser(base)
    browser.sign_in("live-signout@example.go.th")
    stream = browser.stream()
    _first_block(stream)
    assert _subscribed(app, 1)
    private = live.emit("progress.saved", audience="office", office_id=krabi)
    assert stream.next_event(timeout=10).id == private  # type: ignore[union-attr]
    assert browser.post("/portal/logout", {}, "/portal/password") == 200
    ended, _ = _ends(stream)
    assert ended, "the stream outlived its sign-out"
    stream.close()
    assert _settles_at_zero(app)


def test_a_new_office_or_a_password_change_ends_streams(
    live: Live, fresh: tuple[str, object]
) -> None:
    from pinmap.models import User
    from pinmap.services.accounts import update_user

    base, app = fresh
    krabi = _krabi_id(live)
    moved_id, moved_token = _user(live, "live-moved@example.go.th")
    stream = SSEClient(base + "/api/v1/stream", {"Authorization": f"Bearer {moved_token}"})
    _first_block(stream)
    # A password change elsewhere ends the other browser's stream and the token's.
    _, owner_token = _user(live, "live-pw@example.go.th")
    desk, laptop = Browser(base), Browser(base)
    desk.sign_in("live-pw@example.go.th")
    laptop.sign_in("live-pw@example.go.th")
    on_desk, on_laptop = desk.stream(), laptop.stream()
    by_token = SSEClient(base + "/api/v1/stream", {"Authorization": f"Bearer {owner_token}"})
    for s in (on_desk, on_laptop, by_token):
        _first_block(s)
    assert _subscribed(app, 4)
    with live.factory.begin() as session:  # an admin, in another process, moves the user
        moved = session.get(User, moved_id)
        update_user(
            session,
            Actor(None),
            moved,
            name="moved",
            role="office_editor",
            office_code="spp-bangkok",
        )
    ended, _ = _ends(stream)
    assert ended, "a stream kept the old office's rights"
    new = "another live secret 2"
    assert (
        laptop.post(
            "/portal/password",
            {"old": LIVE_PASSWORD, "new": new, "repeat": new},
            "/portal/password",
        )
        == 200
    )
    assert _ends(on_desk)[0], "the other browser's stream outlived the password change"
    assert _ends(by_token)[0], "the token's stream outlived the password change"
    # The broker has dropped the three ended streams; only the laptop's is left to receive.
    assert until(lambda: _subscribers(app) == 1)
    private = live.emit("progress.saved", audience="office", office_id=krabi)
    assert on_laptop.next_event(timeout=10).id == private  # type: ignore[union-attr]
    for s in (stream, on_desk, on_laptop, by_token):
        s.close()
    assert _settles_at_zero(app)


def test_a_stream_ends_when_its_token_expires(
    live: Live, fresh: tuple[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    import pinmap.live as live_module

    monkeypatch.setattr(live_module, "QUIET_SECONDS", 0.3)  # how often grants are re-checked
    base, app = fresh
    user_id, token = _user(live, "live-expiring@example.go.th")
    stream = SSEClient(base + "/api/v1/stream", {"Authorization": f"Bearer {token}"})
    assert stream.status == 200
    _first_block(stream)
    assert _subscribed(app, 1)
    # The token runs out while its stream is open. Expiry sends no notification: a plain
    # UPDATE (no service call) stands in for the clock passing the token's expires_at.
    with live.factory.begin() as session:
        session.execute(
            text("UPDATE api_tokens SET expires_at = now() WHERE user_id = :u"), {"u": user_id}
        )
    ended, _ = _ends(stream, timeout=10)
    stream.close()
    assert ended, "a stream outlived its token"
    assert _settles_at_zero(app)


# --- two hosts of gunicorn workers (near the end: they boot while the tests above run) ----


@pytest.fixture(scope="module")
def booting(live: Live) -> Iterator[list[gunicorn.Host]]:
    """Two gunicorn masters of two gevent workers each on the live database, started side by
    side, not yet waited for (see `hosts`)."""
    started = [gunicorn.start(live.database_url, workers=2, **QUICK_RETRY) for _ in range(2)]
    yield started
    gunicorn.stop(started)


@pytest.fixture(scope="module", autouse=True)
def _start_early(request: pytest.FixtureRequest) -> None:
    """Start the gunicorn hosts and the restart test's cluster as the module begins, when a
    selected test needs them: they take seconds (workers import the app, `pinmap setup` builds
    a database) that overlap the in-process tests, which mostly wait."""
    wanted = {
        name
        for item in request.session.items
        if item.module is request.module
        for name in item.fixturenames
    }
    for needed, starts in (("hosts", "booting"), ("restartable", "restartable")):
        if needed in wanted:
            request.getfixturevalue(starts)


@pytest.fixture(scope="module")
def hosts(booting: list[gunicorn.Host]) -> list[gunicorn.Host]:
    """The two hosts, answering; shared by the tests that need two hosts (starting them is most
    of their cost)."""
    return gunicorn.up(booting)


def _listeners(live: Live) -> int:
    """LISTEN connections (one per process whose broker runs) on the live database."""
    from sqlalchemy import text

    with live.factory() as session:
        return int(
            session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'pinmap-listen' AND datname = current_database()"
                )
            ).scalar_one()
        )


def test_two_hosts_of_gunicorn_workers_deliver_every_change_to_every_client(
    live: Live, hosts: list[gunicorn.Host]
) -> None:
    # Which worker of one master accepts a connection is up to the kernel (on a small machine
    # one gevent worker may take them all), so two masters stand in for two hosts behind a
    # load balancer: their workers are distinct processes whatever the kernel does.
    clients: list[SSEClient] = []
    try:
        with ThreadPoolExecutor(max_workers=40) as pool:
            for host in hosts:
                clients += pool.map(
                    lambda _, b=host.base: SSEClient(b + "/api/v1/stream"), range(40)
                )
        assert all(c.status == 200 for c in clients)
        assert len({c.served_by for c in clients}) >= 2, "streams held by several processes"
        # Every process holding a stream listens (its 200 came after that): one LISTEN each.
        assert until(lambda: _listeners(live) >= len({c.served_by for c in clients}))
        ids = [live.emit() for _ in range(3)]
        for c in clients:
            got = [c.next_event(timeout=10) for _ in ids]
            assert [e.id for e in got if e] == ids, f"client on worker {c.served_by}"
    finally:
        for c in clients:
            c.close()


def test_a_deactivated_users_stream_ends_on_another_host(
    live: Live, hosts: list[gunicorn.Host]
) -> None:
    _user(live, "live-admin@example.go.th", role="admin", office=None)
    editor_id, editor_token = _user(live, "live-gone@example.go.th")
    krabi = _krabi_id(live)
    host_a, host_b = (host.base for host in hosts)
    by_cookie = by_token = None
    try:
        editor = Browser(host_a)
        editor.sign_in("live-gone@example.go.th")
        by_cookie = editor.stream()
        by_token = SSEClient(host_a + "/api/v1/stream", {"Authorization": f"Bearer {editor_token}"})
        for s in (by_cookie, by_token):
            _first_block(s)
        assert until(lambda: _listeners(live) >= len({by_cookie.served_by, by_token.served_by}))
        before = live.emit("progress.saved", audience="office", office_id=krabi)
        assert by_cookie.next_event(timeout=10).id == before  # type: ignore[union-attr]
        assert by_token.next_event(timeout=10).id == before  # type: ignore[union-attr]
        admin = Browser(host_b)
        admin.sign_in("live-admin@example.go.th")
        assert admin.post(f"/admin/users/{editor_id}/active", {}, "/admin/users") == 200
        # Committed right after: must not reach a stream whose user can no longer sign in.
        live.emit("progress.saved", audience="office", office_id=krabi)
        for s in (by_cookie, by_token):
            ended, seen = _ends(s)
            assert ended and seen == [], "a deactivated user's stream kept running"
    finally:
        for stream in (by_cookie, by_token):
            if stream is not None:
                stream.close()


# Last in the module: its cluster is set up meanwhile (see _start_early).


@dataclass
class Restartable:
    """A cluster of the restart test's own, being set up by a child process."""

    cluster: Cluster
    setup: subprocess.Popen[str]

    def url(self) -> str:
        """The database's URL once `pinmap setup` has built it there (waited for)."""
        out, err = self.setup.communicate(timeout=300)
        assert self.setup.returncode == 0, err
        return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def restartable() -> Iterator[Restartable]:
    """A new cluster (the test restarts it, so not the shared one) with a database made the one
    way (tools.devdb: `pinmap setup`), in a child process: seconds of work that overlap the
    module's other tests when `_start_early` asks for it first."""
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-restart-"))
    cluster = Cluster(tmp / "data", free_port())
    code = (
        "import sys; from pathlib import Path; from pinmap.localdb import Cluster; "
        "from tools.devdb import prepared_database; "
        "print(prepared_database(Cluster(Path(sys.argv[1]), int(sys.argv[2])), 'pinmap_restart'))"
    )
    setup = subprocess.Popen(
        [sys.executable, "-c", code, str(cluster.datadir), str(cluster.port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Restartable(cluster, setup)
    finally:
        if setup.poll() is None:
            setup.kill()
        setup.communicate()
        cluster.destroy()
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()


def test_listener_reconnects_after_a_database_restart(restartable: Restartable) -> None:
    cluster = restartable.cluster
    url = restartable.url()
    server, base = _serve(url)
    live = Live(base, url)
    client = SSEClient(base + "/api/v1/stream", timeout=20)
    assert _subscribed(live.app, 1)
    before = live.emit()
    assert client.next_event(timeout=10).id == before  # type: ignore[union-attr]
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
    _release(live.app)  # before its cluster goes
