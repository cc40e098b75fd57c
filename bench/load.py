"""Load benchmark: open live maps, office editors and reviewers at once, against the real server.

A throwaway PostGIS cluster (pinmap.localdb) is set up by `pinmap setup` as `make run` does,
filled with one national sync of submitted reports (the ingestion job against the reference
endpoint) and one account per office editor and reviewer; gunicorn then runs with the flags
scripts/serve.sh gives it (gevent workers). For `--seconds` at once:

- viewers: anonymous Server-Sent-Events clients on /api/v1/stream (the public map);
- editors: each signed in as its own office's editor, saving one progress draft again and again
  through the API (PUT with the version its last save returned);
- reviewers: each signed in, approving submitted reports through the review decision API (each
  its own share of the queue, by cluster and item, so no two ever decide the same report).

It prints requests and errors per kind (409s from a stale version apart), lost updates (every
acknowledged draft read back afterwards), whether every viewer received every approval, the
p50/p95/p99 of writes and of event delivery, and the workers' RSS. Every loop is bounded in
count and time; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.live_fanout import pct, raise_nofile, stop_gunicorn, wait_healthy, worker_rss_kib  # noqa: E402
from pinmap.localdb import Cluster, free_port  # noqa: E402

HOST = "127.0.0.1"
OUT = ROOT / "bench" / "out" / "load.json"
FISCAL_YEAR = 2567
EDIT_ROUND = 2  # editors write round 2; the synced, submitted reports reviewers approve are round 1
EDIT_ITEM = ("policy", 1)
PASSWORD = "bench password 1"  # noqa: S105 (throwaway accounts on a throwaway cluster)
REQUEST_TIMEOUT = 30.0
LOGIN_CONCURRENCY = 16
CONNECT_BATCH = 100
SHARED_BOUNDARIES = ROOT.parent / "shared/reference/boundaries/mapthai_th_adm1.geojson"


class BenchTimeout(Exception):
    """The hard overall timeout fired."""


# -- a minimal HTTP/1.1 keep-alive client (asyncio streams, as bench/live_fanout.py) ---------


class HTTPError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def json(self) -> Any:
        return json.loads(self.body)


async def read_response(reader: asyncio.StreamReader) -> Response:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key:
            headers.append((key.strip().lower(), value.strip()))
    hdr = dict(headers)
    if "content-length" in hdr:
        body = await reader.readexactly(int(hdr["content-length"]))
    elif hdr.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
    return Response(status, headers, body)


class Client:
    """One browser-like client: one keep-alive connection and its cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.csrf = ""

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            assert self.reader is not None and self.writer is not None  # noqa: S101
            head = [
                f"{method} {path} HTTP/1.1",
                f"Host: {HOST}:{self.port}",
                "Accept-Language: en",
                "Accept: application/json",
            ]
            if self.cookies:
                head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
            for key, value in (headers or {}).items():
                head.append(f"{key}: {value}")
            if body is not None:
                head.append(f"Content-Length: {len(body)}")
            try:
                self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
                response = await asyncio.wait_for(read_response(self.reader), REQUEST_TIMEOUT)
            except TimeoutError as exc:
                # No answer: the server may still commit it, so never send it again (a second
                # PUT would carry a version the first one already used).
                await self.close()
                raise HTTPError(f"no answer in {REQUEST_TIMEOUT:.0f} s") from exc
            except (OSError, asyncio.IncompleteReadError) as exc:
                await self.close()
                # A keep-alive connection the server closed while idle (gunicorn's keep-alive
                # is 2 s) never read the request: one retry on a new connection, as browsers
                # do. A fresh connection failing, or a second failure, is an error.
                if fresh or attempt == 2:
                    raise HTTPError(f"{type(exc).__name__}") from exc
                continue
            for key, value in response.headers:
                if key == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            if (response.header("connection") or "").lower() == "close":
                await self.close()
            return response
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def csrf_from(html: bytes) -> str:
    marker = b'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index(b'"', start)].decode()


async def sign_in(client: Client, email: str) -> None:
    page = await client.request("GET", "/portal/login")
    form = urlencode({"csrf_token": csrf_from(page.body), "email": email, "password": PASSWORD})
    done = await client.request(
        "POST",
        "/portal/login",
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    if done.status != 302:
        raise HTTPError(f"sign-in of {email}: HTTP {done.status}")
    # The token of any of our forms, from the page signing in leads to (the office's reports,
    # or the review desk), as a browser would land on it.
    location = done.header("location") or "/portal/"
    for _hop in range(4):
        landed = await client.request(
            "GET", urlsplit(location)._replace(scheme="", netloc="").geturl() or "/"
        )
        if landed.status not in (301, 302, 303):
            break
        location = landed.header("location") or "/portal/"
    if landed.status != 200:
        raise HTTPError(f"after sign-in of {email}: HTTP {landed.status}")
    client.csrf = csrf_from(landed.body)


# -- the three kinds of client ---------------------------------------------------------------


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    stale: Counter[str] = field(default_factory=Counter)  # 409 on a version
    latency_ms: dict[str, list[float]] = field(default_factory=dict)

    def timed(self, kind: str, ms: float) -> None:
        self.latency_ms.setdefault(kind, []).append(ms)


@dataclass
class Viewer:
    idx: int
    status: int = 0
    error: str | None = None
    ended_early: bool = False
    received: dict[int, float] = field(default_factory=dict)


@dataclass
class Editor:
    code: str
    email: str
    client: Client
    version: int | None = None
    last_value: str | None = None
    uncertain: bool = False  # a save whose outcome is unknown (no answer): not checked


@dataclass
class Run:
    stats: Stats = field(default_factory=Stats)
    viewers: list[Viewer] = field(default_factory=list)
    editors: list[Editor] = field(default_factory=list)
    approvals: dict[int, tuple[float, float]] = field(default_factory=dict)  # entry -> sent, ack
    change_of_entry: dict[int, int] = field(default_factory=dict)  # approved entry -> change id
    seen_changes: set[int] = field(default_factory=set)
    load_started: float = 0.0
    load_seconds: float = 0.0
    connect_seconds: float = 0.0
    rss_kib: dict[int, int] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds in the load phase
    loadavg: tuple[str, str] = ("", "")
    lost: list[str] = field(default_factory=list)
    not_approved: list[int] = field(default_factory=list)
    timed_out: bool = False
    postmaster: int = 0
    database_url: str = ""
    db_waits: Counter[str] = field(default_factory=Counter)  # sampled backend states
    db_samples: int = 0


def sample_waits(run: Run, stop: threading.Event, interval: float = 0.25) -> None:
    """What the app's database sessions are doing, sampled: where a write spends its time."""
    import psycopg

    url = run.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.wait(interval):
            rows = conn.execute(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchall()
            run.db_samples += 1
            for state, wtype, wevent in rows:
                if state == "idle":
                    continue
                run.db_waits[f"{state}: {wtype or 'CPU'}/{wevent or '-'}"] += 1


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        out += [int(p) for p in children.read_text().split()]
    return out


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_seconds(master: int, postmaster: int) -> dict[str, float]:
    """CPU used so far by the workers, the database's backends and this client (exited
    PostgreSQL backends are not counted: each client here keeps its connection)."""
    return {
        "gunicorn workers": sum(_cpu_of(p) for p in _children(master)),
        "postgresql": _cpu_of(postmaster) + sum(_cpu_of(p) for p in _children(postmaster)),
        "bench client": sum(os.times()[:2]),
    }


async def viewer(
    port: int,
    run: Run,
    v: Viewer,
    gate: asyncio.Semaphore,
    connected: asyncio.Queue[int],
    stop: asyncio.Event,
) -> None:
    request = (
        f"GET /api/v1/stream HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    ).encode()
    writer = None
    try:
        async with gate:
            reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
            writer.write(request)
            raw = await reader.readuntil(b"\r\n\r\n")
            v.status = int(raw.split(b" ", 2)[1])
        await connected.put(v.idx)
        if v.status != 200:
            return
        # Large reads and a prefix split, as in live_fanout: the client's own share of the
        # measured delay stays small. Each event is one chunk; chunk-size lines never start
        # with "id:" or "data:".
        buf, pending = b"", None
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                v.ended_early = not stop.is_set()
                return
            now = time.time()
            lines = (buf + chunk).split(b"\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"id: "):
                    pending = int(line[4:].strip())
                elif line.startswith(b"data: ") and pending is not None:
                    v.received.setdefault(pending, now)
                    if pending not in run.seen_changes:
                        # Every viewer sees the same public changes: read each one once.
                        run.seen_changes.add(pending)
                        change = json.loads(line[6:])
                        entry_id = (change.get("payload") or {}).get("entry_id")
                        if change.get("kind") == "progress.approved" and entry_id is not None:
                            run.change_of_entry[entry_id] = pending
                    pending = None
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        v.error = f"{type(exc).__name__}: {exc}"
        if v.status == 0:
            await connected.put(v.idx)
    finally:
        if writer is not None:
            writer.close()


def entry_path(code: str) -> str:
    kind, no = EDIT_ITEM
    return f"/api/v1/portal/offices/{code}/entries/{FISCAL_YEAR}/{EDIT_ROUND}/{kind}/{no}"


async def refresh_version(ed: Editor, stats: Stats) -> None:
    """After a 409 or a lost answer: read the report back and go on from its version."""
    stats.requests["editor GET entries"] += 1
    try:
        r = await ed.client.request(
            "GET", f"/api/v1/portal/offices/{ed.code}/entries?fiscal_year={FISCAL_YEAR}"
        )
    except HTTPError as exc:
        stats.errors[f"editor GET entries: {exc}"] += 1
        return
    if r.status != 200:
        stats.errors[f"editor GET entries: HTTP {r.status}"] += 1
        return
    for entry in r.json()["entries"]:
        if (entry["round_no"], entry["item"]["kind"], entry["item"]["no"]) == (
            EDIT_ROUND,
            *EDIT_ITEM,
        ):
            ed.version = entry["revision"]["version"]
            ed.last_value = entry["revision"]["result"]
            ed.uncertain = False


async def editor(ed: Editor, run: Run, stop_at: float, think: float, max_saves: int) -> None:
    stats = run.stats
    # People do not all press save at the same instant: spread the first saves over one pause.
    await asyncio.sleep(random.uniform(0.0, think))  # noqa: S311
    for n in range(1, max_saves + 1):
        if time.time() >= stop_at:
            return
        value = f"{ed.code}: save {n}"
        body = {
            "version": ed.version,
            "status": "on_plan",
            "what": "อบรมครูแกนนำ",
            "where": "สำนักงานเขต",
            "how": "ออนไลน์และในห้องเรียน",
            "result": value,
        }
        stats.requests["editor PUT draft"] += 1
        t0 = time.perf_counter()
        try:
            r = await ed.client.request(
                "PUT",
                entry_path(ed.code),
                json.dumps(body).encode(),
                {"Content-Type": "application/json", "X-CSRFToken": ed.client.csrf},
            )
        except HTTPError as exc:
            stats.errors[f"editor PUT draft: {exc}"] += 1
            ed.uncertain = True  # until the report is read back
            await refresh_version(ed, stats)
        else:
            if r.status == 200:
                stats.timed("editor PUT draft", (time.perf_counter() - t0) * 1000)
                ed.version, ed.last_value, ed.uncertain = r.json()["version"], value, False
            elif r.status == 409:
                stats.stale["editor PUT draft"] += 1
                await refresh_version(ed, stats)
            else:
                stats.errors[f"editor PUT draft: HTTP {r.status} {r.body[:120]!r}"] += 1
        await pause(think, stop_at)


async def pause(think: float, stop_at: float) -> None:
    """A person's think time, never past the end of the load phase."""
    wait = random.uniform(0.5 * think, 1.5 * think)  # noqa: S311 (not security)
    await asyncio.sleep(max(0.0, min(wait, stop_at - time.time())))


async def reviewer(
    client: Client,
    run: Run,
    slices: list[tuple[int, str, int]],
    stop_at: float,
    think: float,
    max_decisions: int,
) -> None:
    stats = run.stats
    decided = 0
    await asyncio.sleep(random.uniform(0.0, think))  # noqa: S311
    for cluster, kind, no in slices:
        if time.time() >= stop_at or decided >= max_decisions:
            return
        query = urlencode(
            {
                "fiscal_year": FISCAL_YEAR,
                "state": "submitted",
                "cluster": cluster,
                "item_kind": kind,
                "item_no": no,
            }
        )
        stats.requests["reviewer GET queue"] += 1
        t0 = time.perf_counter()
        try:
            r = await client.request("GET", f"/api/v1/review/queue?{query}")
        except HTTPError as exc:
            stats.errors[f"reviewer GET queue: {exc}"] += 1
            continue
        if r.status != 200:
            stats.errors[f"reviewer GET queue: HTTP {r.status}"] += 1
            continue
        stats.timed("reviewer GET queue", (time.perf_counter() - t0) * 1000)
        for entry in r.json()["entries"]:
            if time.time() >= stop_at or decided >= max_decisions:
                return
            body = {"decision": "approve", "version": entry["revision"]["version"]}
            stats.requests["reviewer POST decision"] += 1
            sent, t0 = time.time(), time.perf_counter()
            try:
                d = await client.request(
                    "POST",
                    f"/api/v1/review/entries/{entry['id']}/decision",
                    json.dumps(body).encode(),
                    {"Content-Type": "application/json", "X-CSRFToken": client.csrf},
                )
            except HTTPError as exc:
                stats.errors[f"reviewer POST decision: {exc}"] += 1
                continue
            decided += 1
            if d.status == 200:
                stats.timed("reviewer POST decision", (time.perf_counter() - t0) * 1000)
                run.approvals[entry["id"]] = (sent, time.time())
            elif d.status == 409:
                stats.stale["reviewer POST decision"] += 1
            else:
                stats.errors[f"reviewer POST decision: HTTP {d.status} {d.body[:120]!r}"] += 1
            await pause(think, stop_at)


# -- setup -----------------------------------------------------------------------------------


def bin_(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def setup_database(tmp: Path) -> tuple[Cluster, str]:
    """The cluster and schema exactly as `make run` makes them: localdb up, then pinmap setup."""
    port = free_port()
    url_file = tmp / "db.url"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pinmap.localdb",
            "up",
            "--datadir",
            str(tmp / "pg"),
            "--port",
            str(port),
            "--url-file",
            str(url_file),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    url = url_file.read_text().strip()
    env = {**os.environ, "DATABASE_URL": url}
    if "PINMAP_BOUNDARIES" not in env and SHARED_BOUNDARIES.exists():
        env["PINMAP_BOUNDARIES"] = str(SHARED_BOUNDARIES)  # as the Makefile does
    subprocess.run(
        [bin_("pinmap"), "setup"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    return Cluster(tmp / "pg", port), url


def seed(url: str, editors: int, reviewers: int) -> tuple[list[str], list[tuple[str, int]]]:
    """Accounts, and a national sync of submitted reports for the reviewers to approve."""
    from ingest.jobs import run_source
    from ingest.sources import upsert
    from pinmap.db import make_engine
    from pinmap.models import Office, PolicyItem
    from pinmap.services import accounts
    from pinmap.services.audit import Actor
    from tools.reference_endpoint import serve

    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        with factory.begin() as session:
            codes = list(session.scalars(select(Office.code).order_by(Office.code)))[:editors]
            item_rows = session.execute(
                select(PolicyItem.kind, PolicyItem.no)
                .where(PolicyItem.fiscal_year == FISCAL_YEAR)
                .order_by(PolicyItem.kind, PolicyItem.no)
            )
            items = [(kind, no) for kind, no in item_rows]
            # One argon2id hash for every account: hashing 265 times would only lengthen setup.
            # Signing in still verifies it on the server, once per client.
            one_hash = accounts.hash_password(PASSWORD)
            real_hash, accounts.hash_password = accounts.hash_password, lambda _p: one_hash
            try:
                for code in codes:
                    accounts.create_user(
                        session,
                        Actor(None),
                        email=f"editor@{code}.bench.go.th",
                        name=f"editor {code}",
                        password=PASSWORD,
                        role="office_editor",
                        office_code=code,
                    )
                for i in range(reviewers):
                    accounts.create_user(
                        session,
                        Actor(None),
                        email=f"reviewer{i}@bench.go.th",
                        name=f"reviewer {i}",
                        password=PASSWORD,
                        role="reviewer",
                    )
            finally:
                accounts.hash_password = real_hash
        server, endpoint = serve()
        try:
            with factory.begin() as session:
                spec = {
                    "kind": "progress-json",
                    "url": f"{endpoint}/progress",
                    "interval_seconds": 86400,
                    "timeout_seconds": 300,
                    "options": {"demo": True},
                }
                upsert(session, "demo-load", spec)
            result = run_source(factory, "demo-load")
            if result.outcome != "ok":
                raise RuntimeError(f"seeding sync failed: {result}")
        finally:
            server.shutdown()
        return codes, items  # type: ignore[return-value]
    finally:
        engine.dispose()


def start_gunicorn(url: str, port: int, var_dir: Path, workers: int) -> subprocess.Popen[bytes]:
    """As scripts/serve.sh starts it (in the foreground here, so the bench owns the process)."""
    (var_dir / "log").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": os.urandom(16).hex(),
        "PINMAP_VAR_DIR": str(var_dir),
    }
    cmd = [
        bin_("gunicorn"),
        "pinmap.wsgi:app",
        "-k",
        "gevent",
        "--workers",
        str(workers),
        "--worker-connections",
        os.environ.get("PINMAP_WORKER_CONNECTIONS", "4000"),
        "--bind",
        f"{HOST}:{port}",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        str(var_dir / "log/access.log"),
        "--error-logfile",
        str(var_dir / "log/error.log"),
    ]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        preexec_fn=raise_nofile,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# -- the run ---------------------------------------------------------------------------------


async def load(
    port: int,
    run: Run,
    args: argparse.Namespace,
    codes: list[str],
    items: list[tuple[str, int]],
    master: int,
) -> None:
    stats = run.stats
    # Sign everyone in first: argon2id is deliberately slow, and is not what is measured.
    gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

    async def signed_in(email: str) -> Client | None:
        client = Client(port)
        async with gate:
            stats.requests["sign-in"] += 1
            try:
                await sign_in(client, email)
            except (HTTPError, ValueError) as exc:
                stats.errors[f"sign-in: {exc}"] += 1
                return None
        return client

    t0 = time.monotonic()
    editor_clients = await asyncio.gather(*(signed_in(f"editor@{c}.bench.go.th") for c in codes))
    reviewer_clients = await asyncio.gather(
        *(signed_in(f"reviewer{i}@bench.go.th") for i in range(args.reviewers))
    )
    print(
        f"signed in {sum(c is not None for c in editor_clients)} editors and "
        f"{sum(c is not None for c in reviewer_clients)} reviewers in "
        f"{time.monotonic() - t0:.1f} s"
    )
    pairs = zip(codes, editor_clients, strict=True)
    run.editors = [Editor(code, f"editor@{code}.bench.go.th", c) for code, c in pairs if c]

    stop = asyncio.Event()
    connect_gate = asyncio.Semaphore(CONNECT_BATCH)
    connected: asyncio.Queue[int] = asyncio.Queue()
    run.viewers = [Viewer(i) for i in range(args.viewers)]
    t0 = time.monotonic()
    viewer_tasks = [
        asyncio.create_task(viewer(port, run, v, connect_gate, connected, stop))
        for v in run.viewers
    ]
    for _ in run.viewers:
        await connected.get()
    run.connect_seconds = time.monotonic() - t0
    print(
        f"connected {sum(v.status == 200 for v in run.viewers)}/{args.viewers} viewers in "
        f"{run.connect_seconds:.1f} s"
    )
    await asyncio.sleep(1.0)

    slices = [(cluster, kind, no) for cluster in range(1, 19) for kind, no in items]
    random.Random(1).shuffle(slices)  # noqa: S311 (a fixed spread of work, not security)
    cpu0 = cpu_seconds(master, run.postmaster)
    sampling = threading.Event()
    sampler = threading.Thread(target=sample_waits, args=(run, sampling), daemon=True)
    sampler.start()
    run.loadavg = (Path("/proc/loadavg").read_text().split()[0], "")
    run.load_started = time.time()
    stop_at = run.load_started + args.seconds
    writers = [
        asyncio.create_task(editor(ed, run, stop_at, args.editor_think, args.max_saves))
        for ed in run.editors
    ]
    for i, client in enumerate(reviewer_clients):
        if client is not None:
            share = slices[i :: args.reviewers]
            writers.append(
                asyncio.create_task(
                    reviewer(client, run, share, stop_at, args.reviewer_think, args.max_decisions)
                )
            )
    await asyncio.sleep(max(0.0, stop_at - time.time() - 1.0))
    run.rss_kib = worker_rss_kib(master)  # under full load, every stream still open
    await asyncio.gather(*writers)
    run.load_seconds = time.time() - run.load_started
    cpu1 = cpu_seconds(master, run.postmaster)
    sampling.set()
    sampler.join(timeout=5)
    run.cpu_s = {k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1}
    run.loadavg = (run.loadavg[0], Path("/proc/loadavg").read_text().split()[0])
    print(f"load phase {run.load_seconds:.1f} s; letting the last events arrive")
    # Bounded wait until every viewer has every approval (or the grace period ends).
    grace_until = time.time() + args.grace
    while time.time() < grace_until:
        wanted = {run.change_of_entry.get(e) for e in run.approvals}
        if None not in wanted and all(
            wanted <= v.received.keys() for v in run.viewers if v.status == 200
        ):
            break
        await asyncio.sleep(0.2)
    stop.set()
    for task in viewer_tasks:
        task.cancel()
    await asyncio.gather(*viewer_tasks, return_exceptions=True)

    # Lost updates: every acknowledged draft must read back with its last value.
    for ed in run.editors:
        if ed.last_value is None or ed.uncertain:
            continue
        expected = ed.last_value
        await refresh_version(ed, stats)
        if ed.last_value != expected:
            run.lost.append(f"{ed.code}: expected {expected!r}, read {ed.last_value!r}")
        await ed.client.close()
    for c in reviewer_clients:
        if c is not None:
            await c.close()


def check_approvals(url: str, run: Run) -> None:
    from pinmap.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT e.id FROM workflow_reports e JOIN workflow_revisions r "
                    "ON r.id = e.approved_revision_id WHERE e.kind = 'progress'"
                    " AND r.state = 'approved' AND e.id = ANY(:ids)"
                ),
                {"ids": list(run.approvals)},
            )
            approved = {r[0] for r in rows}
        run.not_approved = sorted(set(run.approvals) - approved)
    finally:
        engine.dispose()


# -- report ----------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": pct(values, 50),
        "p95_ms": pct(values, 95),
        "p99_ms": pct(values, 99),
        "max_ms": max(values, default=float("nan")),
    }


def summarise(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    stats = run.stats
    connected = [v for v in run.viewers if v.status == 200]
    changes = {e: run.change_of_entry.get(e) for e in run.approvals}
    known = {e: c for e, c in changes.items() if c is not None}
    per_viewer = [sum(c in v.received for c in known.values()) for v in connected]
    after_ack, after_sent = [], []
    for entry, change in known.items():
        sent, ack = run.approvals[entry]
        for v in connected:
            got = v.received.get(change)
            if got is not None:
                after_ack.append((got - ack) * 1000)
                after_sent.append((got - sent) * 1000)
    viewer_errors = Counter(v.error for v in run.viewers if v.error)
    viewer_errors.update("stream ended early" for v in run.viewers if v.ended_early)
    viewer_errors.update(f"HTTP {v.status}" for v in run.viewers if v.status not in (0, 200))
    approvals = len(run.approvals)
    report = {
        "params": vars(args),
        "load_seconds": run.load_seconds,
        "viewers_connected": len(connected),
        "connect_seconds": run.connect_seconds,
        "requests": dict(stats.requests),
        "errors": dict(stats.errors),
        "viewer_errors": dict(viewer_errors),
        "stale_409": dict(stats.stale),
        "writes": {k: percentiles(v) for k, v in stats.latency_ms.items()},
        "drafts_acknowledged": sum(e.last_value is not None for e in run.editors),
        "lost_updates": run.lost,
        "approvals": approvals,
        "approvals_without_event": sorted(e for e, c in changes.items() if c is None),
        "approvals_not_stored": run.not_approved,
        "approvals_per_viewer": {
            "min": min(per_viewer, default=0),
            "max": max(per_viewer, default=0),
        },
        "viewers_missing_any": sum(n < approvals for n in per_viewer),
        "delivery_after_ack": percentiles(after_ack),
        "delivery_after_request": percentiles(after_sent),
        "worker_rss_kib": run.rss_kib,
        "cpu_seconds_in_load": run.cpu_s,
        "db_busy_backends_per_sample": {
            k: round(n / max(1, run.db_samples), 2) for k, n in run.db_waits.most_common(8)
        },
        "loadavg_start_end": run.loadavg,
        "timed_out": run.timed_out,
    }
    report["pass"] = (
        not run.timed_out
        and len(connected) == args.viewers
        and not stats.errors
        and not viewer_errors
        and not stats.stale
        and not run.lost
        and not run.not_approved
        and approvals > 0
        and not report["approvals_without_event"]
        and report["viewers_missing_any"] == 0
    )
    return report


def fmt(p: dict[str, float]) -> str:
    return (
        f"p50 {p['p50_ms']:.1f} / p95 {p['p95_ms']:.1f} / p99 {p['p99_ms']:.1f} / "
        f"max {p['max_ms']:.1f} ms (n={p['n']})"
    )


def print_report(r: dict[str, Any]) -> None:
    a = r["params"]
    print(
        f"\n{a['viewers']} viewers, {a['editors']} editors, {a['reviewers']} reviewers "
        f"for {r['load_seconds']:.1f} s"
    )
    connected = f"{r['viewers_connected']} in {r['connect_seconds']:.1f} s"
    rows: list[tuple[str, str]] = [("viewers connected", connected)]
    for kind, n in sorted(r["requests"].items()):
        errors = sum(c for k, c in r["errors"].items() if k.startswith(kind))
        rows.append(
            (
                f"{kind}",
                f"{n} requests, {errors} errors, {r['stale_409'].get(kind, 0)} stale-version 409s",
            )
        )
    rows.append(("viewer stream errors", str(sum(r["viewer_errors"].values()))))
    for kind, p in sorted(r["writes"].items()):
        rows.append((f"latency {kind}", fmt(p)))
    rows += [
        ("drafts acknowledged / lost", f"{r['drafts_acknowledged']} / {len(r['lost_updates'])}"),
        ("approvals made", str(r["approvals"])),
        (
            "approvals not stored / without event",
            f"{len(r['approvals_not_stored'])} / {len(r['approvals_without_event'])}",
        ),
        (
            "approvals received per viewer",
            f"min {r['approvals_per_viewer']['min']}, "
            f"max {r['approvals_per_viewer']['max']} "
            f"of {r['approvals']}",
        ),
        ("viewers that missed any", str(r["viewers_missing_any"])),
        ("delivery after the approval's answer", fmt(r["delivery_after_ack"])),
        ("delivery after the approval's request", fmt(r["delivery_after_request"])),
        (
            "CPU seconds during the load",
            ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_seconds_in_load"].items()),
        ),
        (
            "database sessions busy (mean)",
            "; ".join(f"{k} {v}" for k, v in r["db_busy_backends_per_sample"].items()),
        ),
        ("1-min load average, start / end", " / ".join(r["loadavg_start_end"])),
        (
            "gunicorn worker RSS",
            ", ".join(f"{pid}: {kib / 1024:.0f} MiB" for pid, kib in r["worker_rss_kib"].items()),
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    for key in ("errors", "viewer_errors"):
        for what, n in r[key].items():
            print(f"  ! {n}x {what}")
    for line in r["lost_updates"][:10]:
        print(f"  ! lost: {line}")
    print(
        ("PASS" if r["pass"] else "FAIL") + ": no errors, no stale 409s, no lost updates, "
        "every viewer received every approval" + (" (hard timeout)" if r["timed_out"] else "")
    )


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="length of the load phase")
    p.add_argument("--viewers", type=int, default=1000, help="open live maps (SSE clients)")
    p.add_argument("--editors", type=int, default=245, help="office editors (one per office)")
    p.add_argument("--reviewers", type=int, default=20)
    p.add_argument(
        "--editor-think",
        type=float,
        default=2.0,
        help="mean seconds an editor waits between saves (uniform ±50 %%)",
    )
    p.add_argument(
        "--reviewer-think",
        type=float,
        default=2.0,
        help="mean seconds a reviewer waits between decisions (uniform ±50 %%)",
    )
    p.add_argument("--max-saves", type=int, default=1000, help="bound per editor")
    p.add_argument("--max-decisions", type=int, default=1000, help="bound per reviewer")
    p.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds to wait after the load for the last events",
    )
    p.add_argument("--workers", type=int, default=int(os.environ.get("PINMAP_WORKERS", "2")))
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 10 s, 50 viewers, 20 editors, 4 reviewers"
    )
    p.add_argument("--timeout", type=float, default=900.0, help="hard overall timeout, seconds")
    p.add_argument(
        "--fsync-off",
        action="store_true",
        help="cluster without fsync: faster than any real server",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.viewers, args.editors, args.reviewers = 10.0, 50, 20, 4
    if not (1 <= args.editors <= 245 and args.reviewers >= 1 and args.viewers >= 1):
        p.error("editors 1–245, at least one reviewer and one viewer")
    return args


def on_alarm(signum: int, frame: object) -> None:
    raise BenchTimeout


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    print(f"open-file limit {raise_nofile()}")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout))
    if args.fsync_off:
        os.environ["PINMAP_PG_FSYNC"] = "off"  # read by the cluster when it is created
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-bench-load-"))
    cluster: Cluster | None = None
    proc: subprocess.Popen[bytes] | None = None
    run = Run()
    try:
        cluster, url = setup_database(tmp)
        run.database_url = url
        run.postmaster = int((tmp / "pg/postmaster.pid").read_text().split()[0])
        print(f"cluster + pinmap setup {time.monotonic() - started:.1f} s")
        codes, items = seed(url, args.editors, args.reviewers)
        print(f"seeded accounts and a national sync {time.monotonic() - started:.1f} s")
        port = free_port()
        proc = start_gunicorn(url, port, tmp / "var", args.workers)
        wait_healthy(port)
        print(f"gunicorn master {proc.pid} on {HOST}:{port}, {args.workers} gevent workers")
        remaining = args.timeout - (time.monotonic() - started) - 30
        try:
            asyncio.run(asyncio.wait_for(load(port, run, args, codes, items, proc.pid), remaining))
        except TimeoutError:
            run.timed_out = True
        check_approvals(url, run)
    except BenchTimeout:
        run.timed_out = True
    finally:
        signal.alarm(0)
        if proc is not None:
            stop_gunicorn(proc)
            # The server's own account of any 500 outlives the throwaway directory.
            log = tmp / "var/log/error.log"
            if log.exists():
                OUT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(log, OUT.with_name("load-gunicorn-error.log"))
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    report = summarise(run, args)
    report["runtime_s"] = time.monotonic() - started
    print_report(report)
    print(f"runtime {report['runtime_s']:.1f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
