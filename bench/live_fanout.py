"""Benchmark of live changes: SSE fan-out latency at N clients under gunicorn vs polling."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import inspect
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _root  # noqa: F401  (tools/ on sys.path)
from geoalchemy2.shape import to_shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster, free_port
from pinmap.services.audit import Actor
from pinmap.services.offices import get_office, move_office_pin
from tools.devdb import prepared_database

HOST = "127.0.0.1"
OUT = PROJECT_ROOT / "bench" / "out" / "live_fanout.json"
OFFICES = ["spp-krabi", "spp-bangkok", "spm-lampang-lamphun", "spm-bangkok-1"]
NUDGE = 0.0005  # degrees: far below an amphoe, so the point stays inside its province
CONNECT_BATCH = 100
TARGET_P95_MS = 300.0


class BenchTimeout(Exception):
    """The hard overall timeout fired."""


@dataclass
class SSEClientState:
    idx: int
    status: int = 0
    served_by: str | None = None
    error: str | None = None
    received: dict[int, float] = field(default_factory=dict)


@dataclass
class RunState:
    clients: list[SSEClientState] = field(default_factory=list)
    commits: dict[int, float] = field(default_factory=dict)  # change id -> commit wall time
    polled: dict[int, float] = field(default_factory=dict)  # change id -> poll receipt time
    poll_times: list[float] = field(default_factory=list)
    poll_phase: float = 0.0
    connect_seconds: float = 0.0
    cpu_events: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False


# -- database and server ---------------------------------------------------------------------


def prepare_database(cluster: Cluster, name: str) -> str:
    return prepared_database(cluster, name)


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def start_gunicorn(database_url: str, port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "PINMAP_VAR_DIR": str(var_dir),
    }
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "pinmap.wsgi:app",
        "-k",
        "gevent",
        "-w",
        "2",
        "--worker-connections",
        "4000",
        "-b",
        f"{HOST}:{port}",
    ]
    return subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        env=env,
        preexec_fn=raise_nofile,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_healthy(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(HOST, port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz")


def stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # quick shutdown: open streams need not drain
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def worker_rss_kib(master: int) -> dict[int, int]:
    pids: list[int] = []
    for children in Path(f"/proc/{master}/task").glob("*/children"):
        pids += [int(p) for p in children.read_text().split()]
    rss = {}
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    return rss


# -- clients ---------------------------------------------------------------------------------


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key:
            headers[key.strip().lower()] = value.strip()
    return status, headers


async def sse_client(
    port: int, state: SSEClientState, gate: asyncio.Semaphore, connected: asyncio.Queue[int]
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
            state.status, headers = await read_head(reader)
            state.served_by = headers.get("x-served-by")
        await connected.put(state.idx)
        if state.status != 200:
            return
        await read_events(reader, state)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        state.error = f"{type(exc).__name__}: {exc}"
        await connected.put(state.idx)
    finally:
        if writer is not None:
            writer.close()


async def read_events(reader: asyncio.StreamReader, state: SSEClientState) -> None:
    # Large reads and our own line split keep the client's share of the measured latency small.
    # The body is chunked; chunk-size lines never start with "id:"/"data:" and each event is one
    # chunk, so prefix matching is enough.
    buf = b""
    pending: int | None = None
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        now = time.time()
        lines = (buf + chunk).split(b"\n")
        buf = lines.pop()
        for line in lines:
            if line.startswith(b"id: "):
                pending = int(line[4:].strip())
            elif line.startswith(b"data: ") and pending is not None:
                state.received.setdefault(pending, now)
                pending = None


async def http_get_json(port: int, path: str) -> Any:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n"
            "Accept: application/json\r\n\r\n".encode()
        )
        status, headers = await read_head(reader)
        body = await reader.read()
    finally:
        writer.close()
    if status != 200:
        raise RuntimeError(f"GET {path} -> {status}")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = dechunk(body)
    return json.loads(body)


def dechunk(body: bytes) -> bytes:
    out, pos = [], 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2 : end + 2 + size])
        pos = end + 2 + size + 2


async def connect_all(port: int, state: RunState, n: int) -> list[asyncio.Task[None]]:
    gate = asyncio.Semaphore(CONNECT_BATCH)
    connected: asyncio.Queue[int] = asyncio.Queue()
    state.clients = [SSEClientState(i) for i in range(n)]
    start = time.monotonic()
    tasks = [asyncio.create_task(sse_client(port, c, gate, connected)) for c in state.clients]
    for _ in range(n):
        await connected.get()
    state.connect_seconds = time.monotonic() - start
    return tasks


# -- changes and polling ---------------------------------------------------------------------


class Committer:
    """Moves a few offices back and forth through the service layer, one transaction each."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        self.factory = sessionmaker(bind=self.engine)
        self.origin: dict[str, tuple[float, float]] = {}
        with self.factory() as session:
            for code in OFFICES:
                office = get_office(session, code)
                assert office is not None and office.geom is not None, code  # noqa: S101
                point = to_shape(office.geom)
                self.origin[code] = (point.x, point.y)

    def commit(self, k: int) -> tuple[int, float]:
        code = OFFICES[k % len(OFFICES)]
        lon, lat = self.origin[code]
        offset = NUDGE if (k // len(OFFICES)) % 2 == 0 else 0.0
        with self.factory.begin() as session:
            move_office_pin(session, Actor(user=None, ip="bench"), code, lon + offset, lat + offset)
        committed = time.time()
        # The bench is the only writer, so the newest change record is the one just committed.
        with self.engine.connect() as conn:
            change_id = conn.execute(
                text("SELECT id FROM change_events ORDER BY id DESC LIMIT 1")
            ).scalar_one()
        return change_id, committed

    def close(self) -> None:
        self.engine.dispose()


async def commit_events(
    committer: Committer, state: RunState, events: int, interval: float, first_at: float
) -> None:
    loop = asyncio.get_running_loop()
    for k in range(events):
        await asyncio.sleep(max(0.0, first_at + k * interval - time.time()))
        change_id, committed = await loop.run_in_executor(None, committer.commit, k)
        state.commits[change_id] = committed


async def poller(
    port: int,
    state: RunState,
    interval: float,
    first_at: float,
    commits_done: asyncio.Event,
    since: int,
) -> None:
    # A random phase against the first commit, as a browser opened at an arbitrary moment.
    state.poll_phase = random.uniform(0.0, interval)  # noqa: S311 (not security)
    next_at = first_at + state.poll_phase
    while True:
        await asyncio.sleep(max(0.0, next_at - time.time()))
        polled_at = time.time()
        body = await http_get_json(port, f"/api/v1/changes?since={since}")
        now = time.time()
        state.poll_times.append(polled_at)
        for change in body["changes"]:
            state.polled.setdefault(change["id"], now)
        since = body["last_id"]
        if commits_done.is_set() and polled_at > max(state.commits.values(), default=0.0):
            return
        next_at += interval


async def run_async(
    port: int, state: RunState, args: argparse.Namespace, committer: Committer
) -> None:
    tasks = await connect_all(port, state, args.clients)
    try:
        ok = sum(c.status == 200 for c in state.clients)
        print(f"connected {ok}/{args.clients} SSE clients in {state.connect_seconds:.1f} s")
        await asyncio.sleep(1.0)
        since = (await http_get_json(port, "/api/v1/changes"))["last_id"]
        first_at = time.time() + 0.5
        commits_done = asyncio.Event()
        poll_task = asyncio.create_task(
            poller(port, state, args.poll_interval, first_at, commits_done, since)
        )
        cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        await commit_events(committer, state, args.events, args.interval, first_at)
        await asyncio.sleep(1.0)  # let the last event reach every client
        cpu1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        state.cpu_events = {
            "user_s": cpu1.ru_utime - cpu0.ru_utime,
            "sys_s": cpu1.ru_stime - cpu0.ru_stime,
            "wall_s": wall1 - wall0,
        }
        commits_done.set()
        await poll_task
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# -- report ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summarise(state: RunState, args: argparse.Namespace, rss: dict[int, int]) -> dict[str, Any]:
    ids = sorted(state.commits)
    latencies = [
        (c.received[i] - state.commits[i]) * 1000
        for c in state.clients
        for i in ids
        if i in c.received
    ]
    missed = [c.idx for c in state.clients if any(i not in c.received for i in ids)]
    poll_lat = [(state.polled[i] - state.commits[i]) * 1000 for i in ids if i in state.polled]
    sse = {
        "expected": len(state.clients) * len(ids),
        "received": len(latencies),
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "p99_ms": pct(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
        "clients_missing_any": len(missed),
    }
    polling = {
        "interval_s": args.poll_interval,
        "phase_s": state.poll_phase,
        "polls": len(state.poll_times),
        "received": len(poll_lat),
        "expected": len(ids),
        "p50_ms": pct(poll_lat, 50),
        "max_ms": max(poll_lat, default=float("nan")),
        "mean_ms": statistics.fmean(poll_lat) if poll_lat else float("nan"),
        "expected_mean_ms": args.poll_interval * 1000 / 2,
    }
    ok = (
        not state.timed_out
        and len(ids) == args.events
        and sse["clients_missing_any"] == 0
        and sum(c.status == 200 for c in state.clients) == args.clients
        and sse["p95_ms"] <= TARGET_P95_MS
    )
    return {
        "params": vars(args),
        "connected": sum(c.status == 200 for c in state.clients),
        "connect_seconds": state.connect_seconds,
        "errors": Counter(c.error for c in state.clients if c.error).most_common(5),
        "served_by": dict(Counter(c.served_by for c in state.clients if c.served_by)),
        "events_committed": len(ids),
        "sse": sse,
        "polling": polling,
        "ratio_poll_p50_to_sse_p50": polling["p50_ms"] / sse["p50_ms"] if latencies else None,
        "bench_cpu_during_events": state.cpu_events,
        "worker_rss_kib": rss,
        "timed_out": state.timed_out,
        "pass": ok,
    }


def print_report(r: dict[str, Any]) -> None:
    sse, poll = r["sse"], r["polling"]
    rows = [
        ("SSE clients connected", f"{r['connected']} in {r['connect_seconds']:.1f} s"),
        (
            "clients per worker (X-Served-By)",
            ", ".join(f"{k}: {v}" for k, v in r["served_by"].items()),
        ),
        ("events committed", str(r["events_committed"])),
        ("SSE received / expected", f"{sse['received']} / {sse['expected']}"),
        (
            "SSE p50 / p95 / p99 / max",
            f"{sse['p50_ms']:.1f} / {sse['p95_ms']:.1f} / "
            f"{sse['p99_ms']:.1f} / {sse['max_ms']:.1f} ms",
        ),
        ("SSE mean", f"{sse['mean_ms']:.1f} ms"),
        ("clients that missed any event", str(sse["clients_missing_any"])),
        ("polling interval / phase", f"{poll['interval_s']:g} s / {poll['phase_s']:.1f} s"),
        (
            "polling received / expected",
            f"{poll['received']} / {poll['expected']} in {poll['polls']} polls",
        ),
        (
            "polling p50 / mean / max",
            f"{poll['p50_ms']:.0f} / {poll['mean_ms']:.0f} / {poll['max_ms']:.0f} ms",
        ),
        ("polling expected mean", f"~{poll['expected_mean_ms']:.0f} ms (interval / 2)"),
        ("polling p50 / SSE p50", f"{r['ratio_poll_p50_to_sse_p50'] or float('nan'):.0f}x"),
        (
            "bench CPU during events",
            "{user_s:.1f} s user + {sys_s:.1f} s sys over {wall_s:.1f} s".format(
                **r["bench_cpu_during_events"]
            )
            if r["bench_cpu_during_events"]
            else "n/a",
        ),
        (
            "gunicorn worker RSS",
            ", ".join(f"{pid}: {kib / 1024:.0f} MiB" for pid, kib in r["worker_rss_kib"].items()),
        ),
    ]
    if r["errors"]:
        rows.append(("client errors", "; ".join(f"{n}x {e}" for e, n in r["errors"])))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    verdict = "PASS" if r["pass"] else "FAIL"
    why = " (hard timeout)" if r["timed_out"] else ""
    print(
        f"{verdict}: p95 <= {TARGET_P95_MS:.0f} ms at {r['params']['clients']} clients; "
        f"every client receives every event{why}"
    )


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    folium_ms = folium_realtime_interval_ms()
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--events", type=int, default=30)
    p.add_argument("--interval", type=float, default=2.0, help="seconds between commits")
    p.add_argument(
        "--poll-interval",
        type=float,
        default=folium_ms / 1000,
        help="seconds (default: folium.plugins.Realtime's interval)",
    )
    p.add_argument("--timeout", type=float, default=240.0, help="hard overall timeout, seconds")
    return p.parse_args(argv)


def folium_realtime_interval_ms() -> int:
    from folium.plugins import Realtime

    return int(inspect.signature(Realtime.__init__).parameters["interval"].default)


def on_alarm(signum: int, frame: object) -> None:
    raise BenchTimeout


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    print(
        f"folium Realtime default interval: {folium_realtime_interval_ms()} ms; "
        f"open-file limit {raise_nofile()}"
    )
    # The alarm bounds the blocking setup; the async part has its own deadline and the alarm
    # stays as a backstop a little later.
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.timeout) + 15)
    os.environ["PINMAP_PG_FSYNC"] = "off"
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-bench-live-"))
    cluster = Cluster(tmp / "data", free_port())
    proc: subprocess.Popen[bytes] | None = None
    committer: Committer | None = None
    state = RunState()
    rss: dict[int, int] = {}
    try:
        cluster.init()
        cluster.start()
        url = prepare_database(cluster, "pinmap_bench")
        port = free_port()
        proc = start_gunicorn(url, port, tmp / "var")
        wait_healthy(port)
        committer = Committer(url)
        print(f"setup {time.monotonic() - started:.1f} s; gunicorn master {proc.pid} on :{port}")
        remaining = args.timeout - (time.monotonic() - started)
        try:
            asyncio.run(asyncio.wait_for(run_async(port, state, args, committer), remaining))
        except (TimeoutError, BenchTimeout):
            state.timed_out = True
        rss = worker_rss_kib(proc.pid)
    except BenchTimeout:
        state.timed_out = True
    finally:
        signal.alarm(0)
        if committer is not None:
            committer.close()
        if proc is not None:
            stop_gunicorn(proc)
        cluster.destroy()
        for leftover in sorted(tmp.rglob("*"), reverse=True):
            leftover.rmdir() if leftover.is_dir() else leftover.unlink()
        tmp.rmdir()
    report = summarise(state, args, rss)
    report["runtime_s"] = time.monotonic() - started
    print_report(report)
    print(f"runtime {report['runtime_s']:.1f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
