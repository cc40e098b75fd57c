"""A crowd opening the map: the public API under 50 concurrent clients, with and without the cache.

A throwaway PostGIS cluster is set up by `pinmap setup` as `make run` does (province outlines
from $PINMAP_BOUNDARIES, else ../shared's file, else the test fixture, so /boundaries/provinces
and the cluster regions are real polygons). gunicorn then runs with the flags scripts/serve.sh
gives it (gevent, 2 workers, 4000 connections, an access log), once with PINMAP_API_CACHE=0
(today's behaviour: every answer, 304s included, rebuilt per request) and once with the cache.
For each endpoint, wrk (Debian's; `scripts/install_system.sh test` installs it) drives 50 keep-
alive connections for `--seconds`, sending `Accept-Encoding: gzip` as browsers do. Printed per
endpoint and mode: requests/s, p50/p95/p99, errors (timeouts apart), the ratio of the cached to
the uncached run, and the load average around each run (the machine is shared). wrk as such is
a closed loop: 50 clients each sending the next request the moment an answer arrives keep the
server saturated, so its p95 is the queue of an overloaded server (even a bare WSGI app's is
80+ ms here). The cached server is therefore also measured PACED: the same 50 connections, each
waiting 40 ms after an answer before asking again (wrk's `delay()`), i.e. 1,250 requests/s
offered; the targets (p95 <= 20 ms at >= 1,000 requests/s, no errors) are judged on that run,
and the saturated run says how much headroom there is. Last, the floor: the same wrk run against
bench/floor_wsgi.py (the offices bytes from a bare WSGI app under the same gunicorn flags), what
the server and the machine allow at that moment. Results go to bench/out/api_load.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
# Last, so bench/ingest.py never shadows the ingest package: live_fanout imports bench/_root.
sys.path.append(str(HERE))

from bench.live_fanout import raise_nofile, stop_gunicorn, wait_healthy  # noqa: E402
from bench.load import setup_database  # noqa: E402
from pinmap.localdb import Cluster, free_port  # noqa: E402

HOST = "127.0.0.1"
OUT = ROOT / "bench" / "out" / "api_load.json"
FIXTURE_BOUNDARIES = ROOT / "tests/fixtures/boundaries/provinces.geojson"
SHARED_BOUNDARIES = ROOT.parent / "shared/reference/boundaries/mapthai_th_adm1.geojson"
CONNECTIONS = 50
WRK_THREADS = 2
WRK_TIMEOUT = "2s"  # wrk's default; an answer later than this counts as a timeout
TARGET_P95_MS = 20.0
TARGET_RPS = 1000.0
# Each connection waits this long after an answer: 50 connections offer 1,250 requests/s.
PACED_DELAY_MS = 40
# (label, path, conditional): a conditional run sends the body's ETag, as a browser that has
# the map's data already does on reload.
ENDPOINTS = (
    ("offices", "/api/v1/offices", False),
    ("offices 304", "/api/v1/offices", True),
    ("regions", "/api/v1/clusters/regions", False),
    ("labels", "/api/v1/clusters/labels", False),
    ("provinces", "/api/v1/boundaries/provinces", False),
)
REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--seconds", type=int, default=10, help="wrk duration per endpoint and mode")
    p.add_argument("--connections", type=int, default=CONNECTIONS)
    p.add_argument("--workers", type=int, default=int(os.environ.get("PINMAP_WORKERS", "2")))
    return p.parse_args(argv)


def start_server(
    url: str,
    port: int,
    var_dir: Path,
    workers: int,
    cache: bool,
    app: str = "pinmap.wsgi:app",
    floor_body: Path | None = None,
) -> Any:
    """gunicorn as scripts/serve.sh starts it, in the foreground."""
    (var_dir / "log").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "PINMAP_VAR_DIR": str(var_dir),
        "PINMAP_API_CACHE": "1" if cache else "0",
    }
    if floor_body is not None:
        env["PINMAP_BENCH_FLOOR_BODY"] = str(floor_body)
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        app,
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
    return subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=raise_nofile)


def fetch(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def warm(port: int, path: str) -> str:
    """Request `path` until two answers agree (the cache, if on, is then filled in every worker
    a few connections reach); its gzip ETag."""
    etag = ""
    for _ in range(20):
        status, headers = fetch(port, path, {"Accept-Encoding": "gzip"})
        assert status == 200, (path, status)
        etag = headers.get("etag", "")
    return etag


def run_wrk(
    port: int,
    path: str,
    seconds: int,
    connections: int,
    headers: dict[str, str],
    delay_ms: int | None = None,
) -> dict[str, Any]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    pacing = f"delay = function() return {delay_ms} end\n" if delay_ms else ""
    script.write_text(pacing + REPORT_LUA)
    cmd = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT}",
        "-s",
        str(script),
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://{HOST}:{port}{path}")
    load_before = os.getloadavg()[0]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        script.unlink()
    load_after = os.getloadavg()[0]
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds_taken = raw["duration_us"] / 1e6
    if raw["p50"] == 0 and raw["timeout"]:
        # Nothing answered within the timeout: wrk has no latencies, and 0 would read as fast.
        raw["p50"] = raw["p95"] = raw["p99"] = raw["max"] = -1000
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds_taken if seconds_taken else 0.0,
        "p50_ms": raw["p50"] / 1000,
        "p95_ms": raw["p95"] / 1000,
        "p99_ms": raw["p99"] / 1000,
        "max_ms": raw["max"] / 1000,
        "errors": raw["connect"] + raw["read"] + raw["write"] + raw["status"],
        "timeouts": raw["timeout"],
        "kib_per_s": raw["bytes"] / 1024 / seconds_taken if seconds_taken else 0.0,
        "load_before": load_before,
        "load_after": load_after,
    }


def measure(url: str, tmp: Path, args: argparse.Namespace, cache: bool) -> dict[str, Any]:
    port = free_port()
    proc = start_server(
        url, port, tmp / ("var-cache" if cache else "var-plain"), args.workers, cache
    )
    results: dict[str, Any] = {}
    try:
        wait_healthy(port, 60)
        for label, path, conditional in ENDPOINTS:
            etag = warm(port, path)
            headers = {"Accept-Encoding": "gzip"}
            if conditional:
                headers["If-None-Match"] = etag
                assert fetch(port, path, headers)[0] == 304, "no 304 for the body's own ETag"
            runs = [(label, None)]
            if cache:
                runs.append((f"{label} paced", PACED_DELAY_MS))
            for name, delay in runs:
                results[name] = run_wrk(port, path, args.seconds, args.connections, headers, delay)
                r = results[name]
                print(
                    f"  {'cache' if cache else 'no cache':8} {name:18} {r['rps']:8.0f} req/s  "
                    f"p50 {ms(r['p50_ms']):>7}  p95 {ms(r['p95_ms']):>7}  "
                    f"p99 {ms(r['p99_ms']):>7} ms  errors {r['errors']}  timeouts {r['timeouts']}  "
                    f"load {r['load_before']:.1f}->{r['load_after']:.1f}",
                    flush=True,
                )
    finally:
        stop_gunicorn(proc)
    return results


def measure_floor(tmp: Path, args: argparse.Namespace, body: bytes) -> dict[str, Any]:
    """The same wrk run against bench/floor_wsgi.py: fixed bytes, gunicorn alone."""
    body_file = tmp / "floor-body"
    body_file.write_bytes(body)
    port = free_port()
    proc = start_server(
        "", port, tmp / "var-floor", args.workers, False, "bench.floor_wsgi:app", body_file
    )
    try:
        wait_healthy(port, 60)
        r = run_wrk(port, "/", args.seconds, args.connections, {"Accept-Encoding": "gzip"})
    finally:
        stop_gunicorn(proc)
    print(
        f"  floor    bare WSGI    {r['rps']:8.0f} req/s  p50 {ms(r['p50_ms']):>7}  "
        f"p95 {ms(r['p95_ms']):>7}  p99 {ms(r['p99_ms']):>7} ms  errors {r['errors']}  "
        f"timeouts {r['timeouts']}  load {r['load_before']:.1f}->{r['load_after']:.1f}",
        flush=True,
    )
    return r


def offices_gzip(url: str, tmp: Path, args: argparse.Namespace) -> bytes:
    port = free_port()
    proc = start_server(url, port, tmp / "var-body", args.workers, True)
    try:
        wait_healthy(port, 60)
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.request("GET", "/api/v1/offices", headers={"Accept-Encoding": "gzip"})
        return conn.getresponse().read()
    finally:
        stop_gunicorn(proc)


def boundaries() -> str:
    given = os.environ.get("PINMAP_BOUNDARIES")
    if given:
        return given
    return str(SHARED_BOUNDARIES if SHARED_BOUNDARIES.exists() else FIXTURE_BOUNDARIES)


def ms(value: float) -> str:
    return "n/a" if value < 0 else f"{value:.1f}"


def print_report(report: dict[str, Any]) -> None:
    print()
    print(
        f"{'endpoint':12} {'':9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'t/o':>5}"
    )
    for label, _path, _cond in ENDPOINTS:
        for mode, key in (("no cache", label), ("cache", label), ("paced", f"{label} paced")):
            r = report["no cache" if mode == "no cache" else "cache"][key]
            print(
                f"{label:12} {mode:9} {r['rps']:8.0f} {ms(r['p50_ms']):>8} {ms(r['p95_ms']):>8} "
                f"{ms(r['p99_ms']):>8} {r['errors']:6d} {r['timeouts']:5d}"
            )
        ratio = report["ratios"][label]
        verdict = "meets" if report["targets"][label] else "MISSES"
        p95 = f"p95 {ratio['p95']:.1f}x lower" if ratio["p95"] else "p95 n/a without the cache"
        print(
            f"{'':12} cache/no-cache: {ratio['rps']:.1f}x requests/s, {p95}; paced: "
            f"{verdict} p95 <= {TARGET_P95_MS:.0f} ms at >= {TARGET_RPS:.0f} req/s"
        )
    print(
        f"load average (1 min) over the run: {report['load_min']:.1f}-{report['load_max']:.1f} "
        f"on {os.cpu_count()} CPUs (shared machine)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: scripts/install_system.sh test installs it", file=sys.stderr)
        return 2
    os.environ.setdefault("PINMAP_BOUNDARIES", boundaries())
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-bench-api-"))
    cluster: Cluster | None = None
    report: dict[str, Any] = {
        "connections": args.connections,
        "seconds": args.seconds,
        "workers": args.workers,
        "boundaries": os.environ["PINMAP_BOUNDARIES"],
    }
    try:
        cluster, url = setup_database(tmp)
        print(
            f"cluster + pinmap setup {time.monotonic() - started:.1f} s; "
            f"{args.connections} connections, {args.seconds} s per endpoint and mode"
        )
        report["no cache"] = measure(url, tmp, args, cache=False)
        report["cache"] = measure(url, tmp, args, cache=True)
        report["floor"] = measure_floor(tmp, args, offices_gzip(url, tmp, args))
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(tmp, ignore_errors=True)
    report["ratios"] = {}
    report["targets"] = {}
    loads: list[float] = []
    for label, _path, _cond in ENDPOINTS:
        plain, cached = report["no cache"][label], report["cache"][label]
        paced = report["cache"][f"{label} paced"]
        report["ratios"][label] = {
            "rps": cached["rps"] / plain["rps"] if plain["rps"] else float("inf"),
            "p95": plain["p95_ms"] / cached["p95_ms"] if plain["p95_ms"] > 0 else 0.0,
        }
        report["targets"][label] = (
            0 <= paced["p95_ms"] <= TARGET_P95_MS
            and paced["rps"] >= TARGET_RPS
            and paced["errors"] == 0
            and paced["timeouts"] == 0
        )
        loads += [
            plain["load_before"],
            plain["load_after"],
            cached["load_before"],
            cached["load_after"],
        ]
    report["load_min"], report["load_max"] = min(loads), max(loads)
    report["runtime_s"] = time.monotonic() - started
    print_report(report)
    print(f"runtime {report['runtime_s']:.1f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
