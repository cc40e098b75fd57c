"""Benchmark of folium's default marker map against pinmap's map page: bytes and time to pins."""

from __future__ import annotations

import argparse
import gzip
import json
import mimetypes
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import _root  # noqa: F401  (tools/ on sys.path)
import folium
from flask import Flask
from flask_compress import Compress
from folium.plugins import MarkerCluster
from markupsafe import escape
from playwright.sync_api import Browser, Page, Request, Response, Route, sync_playwright
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import WSGIRequestHandler, make_server

from geo.boundaries import read_boundaries
from pinmap import create_app
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster, free_port
from pinmap.models import Office
from pinmap.public.map_page import _client_strings
from pinmap.services import offices as svc
from pinmap.services.boundaries import file_sha256, import_boundaries
from tools.devdb import prepared_database

EXPECTED_OFFICES = 245
NODE_MODULES = PROJECT_ROOT / "node_modules"
OUT_FILE = PROJECT_ROOT / "bench" / "out" / "map_page.json"
PROVINCE_FILE = (
    PROJECT_ROOT.parent / "shared" / "reference" / "boundaries" / "mapthai_th_adm1.geojson"
)
GZIP_LEVEL = 6
PAGE_TIMEOUT_MS = 60_000
# What the page loads after its pins (outlines, the basemap) counts once the network is quiet.
SETTLE_MIN_MS = 1500
SETTLE_QUIET_MS = 500
SETTLE_MAX_MS = 15_000
# Responses that draw the land: the embedded basemap (a static, fingerprinted TopoJSON/GeoJSON
# file once merged) or, before it, the province-outline API. Counted like everything else, and
# also shown on a line of their own so the report says whether the basemap was in the total.
BASEMAP_URL = re.compile(
    r"basemap|topo|natural[-_]?earth|ne_\d+m|/boundaries/provinces", re.IGNORECASE
)
VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Where folium's CDN assets (by folium's own asset names) would come from in node_modules.
# Names missing here, or whose file is absent, have no local copy: they get an empty stub.
LOCAL_COPIES: dict[str, Path] = {
    "leaflet": NODE_MODULES / "leaflet/dist/leaflet.js",
    "leaflet_css": NODE_MODULES / "leaflet/dist/leaflet.css",
    "jquery": NODE_MODULES / "jquery/dist/jquery.min.js",
    "bootstrap": NODE_MODULES / "bootstrap/dist/js/bootstrap.bundle.min.js",
    "bootstrap_css": NODE_MODULES / "bootstrap/dist/css/bootstrap.min.css",
    "awesome_markers": NODE_MODULES / "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    "awesome_markers_css": NODE_MODULES
    / "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "awesome_markers_font_css": NODE_MODULES / "@fortawesome/fontawesome-free/css/all.min.css",
    "markerclusterjs": NODE_MODULES / "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": NODE_MODULES / "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": NODE_MODULES
    / "leaflet.markercluster/dist/MarkerCluster.Default.css",
}

# Runs in every page from its first script on, so the moment is taken inside the page and not
# at the next Playwright round trip. Counts what a user sees: each visible single pin is one
# office, each visible cluster bubble is as many offices as its number says.
PINS_WATCHER = """
(() => {
  if (window.top !== window) return;
  const cfg = %s;
  const countPins = () => {
    const map = document.querySelector(".folium-map");
    if (!map) return 0;
    const box = map.getBoundingClientRect();
    let n = 0;
    for (const el of map.querySelectorAll(".leaflet-marker-pane .leaflet-marker-icon")) {
      const r = el.getBoundingClientRect();
      const seen = r.width > 0 && r.height > 0 && r.right > box.left && r.left < box.right
        && r.bottom > box.top && r.top < box.bottom && getComputedStyle(el).opacity !== "0";
      if (!seen) continue;
      n += el.classList.contains("marker-cluster") ? parseInt(el.textContent, 10) || 0 : 1;
    }
    return n;
  };
  const appReady = () => !cfg.appFlags || (
    document.documentElement.getAttribute("data-pins-ready") === "1"
    && window.PinMap && window.PinMap.state.shown === cfg.expected);
  const tick = () => {
    window.__pinsCount = countPins();
    if (appReady() && window.__pinsCount === cfg.expected) {
      window.__pinsDrawnAt = performance.now();
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


class BenchError(RuntimeError):
    """The benchmark could not produce a valid comparison; the message says why."""


# -- database and servers ------------------------------------------------------------------------
@contextmanager
def bench_database() -> Iterator[tuple[str, bool]]:
    """A throwaway PostGIS cluster with the reference data; yields (url, outlines imported)."""
    os.environ["PINMAP_PG_FSYNC"] = "off"
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-bench-pg-"))
    cluster = Cluster(tmp / "data", free_port())
    try:
        url = prepared_database(cluster, "pinmap_bench")
        engine = make_engine(url)
        try:
            with sessionmaker(bind=engine).begin() as session:
                outlines = import_province_outlines(session)
        finally:
            engine.dispose()
        yield url, outlines
    finally:
        cluster.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def import_province_outlines(session: Session) -> bool:
    if not PROVINCE_FILE.exists():
        return False
    bset = read_boundaries(PROVINCE_FILE, "province")
    import_boundaries(
        session,
        bset,
        "province",
        source_name=PROVINCE_FILE.name,
        sha256=file_sha256(PROVINCE_FILE),
    )
    return True


class QuietHandler(WSGIRequestHandler):
    """Keeps the access log off stdout/stderr; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join()


def count_offices(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Office)) or 0


# -- the folium default page ---------------------------------------------------------------------
@dataclass(frozen=True)
class PopupText:
    """The translated strings pinmap.js puts into its popups, so both pages say the same."""

    strings: dict[str, str]


def popup_text(pinmap_app: Flask) -> PopupText:
    with pinmap_app.test_request_context("/"):
        return PopupText(_client_strings())


def popup_html(p: dict[str, Any], text: PopupText, cluster_names: dict[int, str]) -> str:
    """The same lines as pinmap.js's popup, escaped because folium inserts it as HTML."""
    s = text.strings
    kind = s["primary"] if p["kind"] == "primary" else s["secondary"]
    provinces = ", ".join(p["provinces_th"] or [])
    cluster = f"{s['cluster']} {p['cluster_no']} · {cluster_names.get(p['cluster_no'], '')}"
    lines = [
        f'<strong class="popup-title">{escape(p["name_th"])}</strong>',
        f'<div class="popup-en" lang="en">{escape(p["name_en"] or "")}</div>',
        f"<div>{escape(kind)}</div>",
        f"<div>{escape(cluster)}</div>",
        f"<div>{escape(s['provinces_covered'])}: {escape(provinces)}</div>",
    ]
    if p["location_precision"] != "office":
        amphoe = p["location_precision"] == "amphoe"
        detail = s["precision_amphoe"] if amphoe else s["precision_province"]
        note = f"{s['approximate']} ({detail})"
        lines.append(f'<div class="popup-approx">{escape(note)}</div>')
    href = f"/offices/{quote(p['code'], safe='')}"
    link = f"{s['open_profile']} →"
    lines.append(f'<a class="popup-link" href="{escape(href)}">{escape(link)}</a>')
    return '<div class="popup">' + "".join(lines) + "</div>"


def folium_default_map(
    features: list[dict[str, Any]], text: PopupText, cluster_names: dict[int, str]
) -> folium.Map:
    # No tiles on either page; without a tile layer markercluster needs the map's own maxZoom.
    m = folium.Map(tiles=None, maxZoom=18)
    group = MarkerCluster().add_to(m)
    for f in features:
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"]
        folium.Marker(
            [lat, lon],
            popup=folium.Popup(popup_html(p, text, cluster_names), max_width=320),
            tooltip=folium.Tooltip(str(escape(p["name_th"]))),
        ).add_to(group)
    m.fit_bounds(padded_bounds(features, 0.05))
    return m


def padded_bounds(features: list[dict[str, Any]], pad: float) -> list[list[float]]:
    """Like Leaflet's getBounds().pad(): pinmap.js frames its pins the same way."""
    lons = [f["geometry"]["coordinates"][0] for f in features]
    lats = [f["geometry"]["coordinates"][1] for f in features]
    dlat, dlon = (max(lats) - min(lats)) * pad, (max(lons) - min(lons)) * pad
    return [[min(lats) - dlat, min(lons) - dlon], [max(lats) + dlat, max(lons) + dlon]]


def folium_default_app(
    session_factory: sessionmaker[Session], text: PopupText, pinmap_app: Flask
) -> Flask:
    """Serves the default page, built per request from the database like pinmap's own page."""
    app = Flask("folium_default")
    # The same compression settings as pinmap, so the HTML travels the same way.
    for key in ("COMPRESS_ALGORITHM", "COMPRESS_MIMETYPES"):
        app.config[key] = pinmap_app.config[key]
    Compress(app)

    @app.get("/")
    def index() -> str:
        with session_factory() as session:
            features = [svc.office_feature(o) for o in svc.list_offices(session)]
            names = {c["no"]: c["name_th"] for c in svc.list_clusters(session)}
        return folium_default_map(features, text, names).get_root().render()

    return app


# -- folium's CDN assets, served from local copies -------------------------------------------------
@dataclass(frozen=True)
class CdnAsset:
    name: str
    url: str
    local: Path | None  # None: not installed locally, answered with an empty stub


def folium_cdn_assets() -> list[CdnAsset]:
    pairs = [
        *folium.Map.default_js,
        *folium.Map.default_css,
        *MarkerCluster.default_js,
        *MarkerCluster.default_css,
    ]
    assets = []
    for name, url in pairs:
        local = LOCAL_COPIES.get(name)
        assets.append(CdnAsset(name, url, local if local and local.is_file() else None))
    return assets


class CdnRoutes:
    """Answers folium's CDN requests from node_modules; loopback passes, the rest is refused."""

    def __init__(self, assets: list[CdnAsset]) -> None:
        self.files = {a.url: a.local for a in assets if a.local}
        self.stubs = {a.url for a in assets if a.local is None}
        self.blocked: set[str] = set()
        # Leaflet finds its default marker images next to wherever leaflet.css came from.
        css = next(a for a in assets if a.name == "leaflet_css")
        self.image_prefix = css.url.rsplit("/", 1)[0] + "/images/"
        self.image_dir = css.local.parent / "images" if css.local else None
        self._cache: dict[Path, bytes] = {}

    def local_file(self, url: str) -> Path | None:
        if url in self.files:
            return self.files[url]
        if self.image_dir and url.startswith(self.image_prefix):
            candidate = self.image_dir / PurePosixPath(urlsplit(url).path).name
            return candidate if candidate.is_file() else None
        return None

    def body(self, path: Path) -> bytes:
        if path not in self._cache:
            self._cache[path] = path.read_bytes()
        return self._cache[path]

    def handle(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        elif (path := self.local_file(url)) is not None:
            route.fulfill(status=200, body=self.body(path), content_type=content_type(url))
        elif url in self.stubs:
            route.fulfill(status=200, body=b"", content_type=content_type(url))
        else:
            self.blocked.add(url)
            route.abort()


def content_type(url: str) -> str:
    return mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"


def version_mapping(assets: list[CdnAsset]) -> list[str]:
    """'leaflet: CDN 1.9.3 -> local 1.9.4' for each package folium names that we serve locally."""
    lines = {}
    for a in assets:
        if a.local is None:
            continue
        parts = a.local.relative_to(NODE_MODULES).parts
        package = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]  # @scope/name
        local = json.loads((NODE_MODULES / package / "package.json").read_text())["version"]
        cdn = re.search(r"\d+\.\d+\.\d+", a.url)
        lines[package] = f"{package}: CDN {cdn.group(0) if cdn else '?'} -> local {local}"
    return list(lines.values())


# -- measuring in Chromium -----------------------------------------------------------------------
@dataclass
class Transfer:
    """One response: its body as received and the bytes we count for it."""

    url: str
    kind: str  # html, asset or data
    status: int
    mimetype: str
    body_bytes: int
    counted_bytes: int
    wire_bytes: int | None  # encoded body size Chromium saw from a server; None when routed
    source: str  # server, local copy, stub (not counted)
    basemap: bool = False  # draws the land (basemap file or province outlines)


@dataclass
class PageUnderTest:
    label: str
    url: str
    app: Flask
    app_flags: bool  # also wait for pinmap.js's own ready flags
    transfers: list[Transfer] = field(default_factory=list)
    pins_ms: list[float] = field(default_factory=list)
    build_ms: list[float] = field(default_factory=list)

    @property
    def counted_bytes(self) -> int:
        return sum(t.counted_bytes for t in self.transfers)

    def bytes_of(self, kind: str) -> int:
        return sum(t.counted_bytes for t in self.transfers if t.kind == kind)

    @property
    def basemap_bytes(self) -> int:
        return sum(t.counted_bytes for t in self.transfers if t.basemap)


def open_page(browser: Browser, target: PageUnderTest, routes: CdnRoutes) -> Page:
    """A page in a fresh context (empty cache); page.route also turns Chromium's cache off."""
    context = browser.new_context(viewport=VIEWPORT)
    cfg = json.dumps({"expected": EXPECTED_OFFICES, "appFlags": target.app_flags})
    context.add_init_script(PINS_WATCHER % cfg)
    page = context.new_page()
    page.route("**/*", routes.handle)
    return page


def wait_for_pins(page: Page, target: PageUnderTest) -> float:
    try:
        page.wait_for_function(
            "() => window.__pinsDrawnAt !== undefined", polling="raf", timeout=PAGE_TIMEOUT_MS
        )
    except Exception as exc:  # Playwright's TimeoutError; the page state says more
        seen = page.evaluate("window.__pinsCount")
        raise BenchError(
            f"{target.label}: {seen} of {EXPECTED_OFFICES} offices on the map after "
            f"{PAGE_TIMEOUT_MS} ms ({target.url})"
        ) from exc
    return float(page.evaluate("window.__pinsDrawnAt"))


def time_to_pins(browser: Browser, target: PageUnderTest, routes: CdnRoutes) -> float:
    """Milliseconds from navigation start (the document's time origin) to all pins drawn."""
    page = open_page(browser, target, routes)
    try:
        page.goto(target.url, wait_until="commit")
        return wait_for_pins(page, target)
    finally:
        page.context.close()


def record_transfers(
    browser: Browser, target: PageUnderTest, routes: CdnRoutes, compressible: frozenset[str]
) -> None:
    page = open_page(browser, target, routes)
    responses: list[Response] = []
    # Requests still under way, but the live event stream: it never ends and is no page weight.
    pending: set[Request] = set()
    # Playwright tags handlers with an attribute, which a bound builtin like list.append lacks.
    page.on("response", lambda r: responses.append(r))
    page.on("request", lambda r: r.resource_type != "eventsource" and pending.add(r))
    page.on("requestfinished", lambda r: pending.discard(r))
    page.on("requestfailed", lambda r: pending.discard(r))
    try:
        page.goto(target.url, wait_until="commit")
        wait_for_pins(page, target)
        # Outlines and the basemap may load after the pins; they are part of the page too.
        settle_network(page, pending)
        target.transfers = [
            transfer(r, routes, compressible)
            for r in responses
            if (r.headers.get("content-type") or "").split(";")[0] != "text/event-stream"
        ]
    finally:
        page.context.close()


def settle_network(page: Page, pending: set[Request]) -> None:
    """At least SETTLE_MIN_MS, then until no request has been open for SETTLE_QUIET_MS."""
    page.wait_for_timeout(SETTLE_MIN_MS)
    waited, quiet = SETTLE_MIN_MS, 0
    while quiet < SETTLE_QUIET_MS and waited < SETTLE_MAX_MS:
        page.wait_for_timeout(100)
        waited += 100
        quiet = 0 if pending else quiet + 100


def transfer(response: Response, routes: CdnRoutes, compressible: frozenset[str]) -> Transfer:
    """Counts gzip -6 of what pinmap's flask-compress would compress, raw size of the rest
    (images, woff2 fonts), the same for both pages."""
    url = response.url
    mimetype = (response.headers.get("content-type") or "").split(";")[0].strip()
    body = response.body() if 200 <= response.status < 300 else b""
    if url in routes.stubs:
        source, counted = "stub (not counted)", 0
    else:
        source = "local copy" if routes.local_file(url) else "server"
        counted = gzip_size(body) if mimetype in compressible else len(body)
    resource = response.request.resource_type
    kind = "html" if resource == "document" else "data" if resource in ("fetch", "xhr") else "asset"
    wire = response.request.sizes()["responseBodySize"] if source == "server" else None
    path = urlsplit(url).path
    # Any JSON file under /static is map data too: the basemap whatever its final name.
    static_json = path.startswith("/static/") and mimetype.endswith("json")
    basemap = bool(BASEMAP_URL.search(path)) or static_json
    return Transfer(url, kind, response.status, mimetype, len(body), counted, wire, source, basemap)


def gzip_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))


def measure_in_browser(
    targets: list[PageUnderTest], routes: CdnRoutes, compressible: frozenset[str], runs: int
) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            # The bytes run doubles as each page's warm-up, so it is not timed.
            for target in targets:
                record_transfers(browser, target, routes, compressible)
            for _ in range(runs):
                for target in targets:
                    target.pins_ms.append(time_to_pins(browser, target, routes))
        finally:
            browser.close()


def measure_build(target: PageUnderTest, runs: int) -> None:
    """Server-side time to build the page's HTML, database queries included, no network."""
    client = target.app.test_client()
    for attempt in range(runs + 1):
        started = time.perf_counter()
        resp = client.get("/")
        elapsed = (time.perf_counter() - started) * 1000
        if resp.status_code != 200:
            raise BenchError(f"{target.label}: GET / answered {resp.status_code}")
        if attempt:  # the first request compiles templates and opens connections
            target.build_ms.append(elapsed)


# -- report -------------------------------------------------------------------------------------
def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def table_rows(default: PageUnderTest, ours: PageUnderTest) -> list[tuple[str, float, float]]:
    med = statistics.median
    return [
        ("bytes (gzip, page+assets+data)", default.counted_bytes, ours.counted_bytes),
        ("  of which HTML", default.bytes_of("html"), ours.bytes_of("html")),
        ("  of which assets (js/css/img/font)", default.bytes_of("asset"), ours.bytes_of("asset")),
        ("  of which data (API JSON)", default.bytes_of("data"), ours.bytes_of("data")),
        ("  basemap/outlines (in the above)", default.basemap_bytes, ours.basemap_bytes),
        ("requests", len(default.transfers), len(ours.transfers)),
        ("time to all pins drawn (ms)", med(default.pins_ms), med(ours.pins_ms)),
        ("HTML build, server side (ms)", med(default.build_ms), med(ours.build_ms)),
    ]


def print_report(default: PageUnderTest, ours: PageUnderTest, runs: int, notes: list[str]) -> None:
    print(f"map page benchmark ({EXPECTED_OFFICES} offices, {runs} runs, medians)")
    print(f"{'':38}{'folium default':>16}{'pinmap':>12}   ratio (default/pinmap)")
    for label, a, b in table_rows(default, ours):
        print(f"{label:38}{a:>16,.0f}{b:>12,.0f}   {ratio(a, b)}")
    for target in (default, ours):
        print(f"\n{target.label}, per response (counted bytes, body bytes, kind, path):")
        for t in target.transfers:
            path = urlsplit(t.url).path if t.source == "server" else t.url
            print(f"  {t.counted_bytes:>9,} {t.body_bytes:>9,}  {t.kind:<6} {path}")
    print("\nrequirement 7 (same run):")
    for line in target_lines(default, ours):
        print(f"  - {line}")
    print("\nnotes:")
    for note in notes:
        print(f"  - {note}")


def basemap_note(ours: PageUnderTest) -> str:
    # The basemap is a static file (under /static or the fingerprinted /basemap/); the API's
    # outlines are data.
    files = [t for t in ours.transfers if t.basemap and "/api/" not in t.url]
    api = [t for t in ours.transfers if t.basemap and "/api/" in t.url]
    if files:
        names = ", ".join(f"{urlsplit(t.url).path} ({t.counted_bytes:,} B)" for t in files)
        return f"basemap file counted in the pinmap total: {names}"
    return (
        "NO basemap file referenced by the page (only "
        + (", ".join(urlsplit(t.url).path for t in api) or "no outlines")
        + "): the total lacks the embedded basemap requirement 7 counts"
    )


def target_lines(default: PageUnderTest, ours: PageUnderTest) -> list[str]:
    """Issue 13, requirement 7: at most half of folium default's bytes and time, same run."""
    med = statistics.median
    checks = [
        ("bytes", default.counted_bytes, ours.counted_bytes),
        ("time to all pins", med(default.pins_ms), med(ours.pins_ms)),
    ]
    return [
        f"{label}: {a / b if b else 0:.2f}x lighter/faster than folium default, target 2.00x: "
        + ("met" if b and a / b >= 2 else "NOT met")
        for label, a, b in checks
    ]


def build_notes(
    assets: list[CdnAsset],
    routes: CdnRoutes,
    compressible: frozenset[str],
    outlines: bool,
    ours: PageUnderTest,
) -> list[str]:
    stubbed = [a.name for a in assets if a.local is None]
    wire = sum(t.wire_bytes or 0 for t in ours.transfers)
    fetched = [t for t in ours.transfers if t.basemap and "/api/" in t.url]
    outline_note = (
        "imported (mapthai_th_adm1); the page fetched them: "
        + (", ".join(f"{urlsplit(t.url).path} ({t.counted_bytes:,} B)" for t in fetched) or "no")
        if outlines
        else f"NOT imported ({PROVINCE_FILE} absent)"
    )
    notes = [
        f"bytes rule, both pages: gzip -{GZIP_LEVEL} size of every response body whose type "
        f"pinmap compresses ({', '.join(sorted(compressible))}), raw size of the rest "
        "(images, woff2), as a compressing server would send them",
        "folium default: HTML + folium's CDN assets, counted from their local copies "
        f"({'; '.join(version_mapping(assets))})",
        f"NOT counted (no local copy in node_modules, served as empty stubs): "
        f"{', '.join(stubbed)}; so the folium default byte total is a LOWER bound"
        if stubbed
        else "every folium CDN asset had a local copy and is counted",
        f"pinmap as actually served: {wire:,} body bytes on the wire (flask-compress)",
        f"province outlines on the pinmap page: {outline_note}",
        basemap_note(ours),
        "time: navigation start to the first frame where the visible pins plus cluster numbers "
        f"add up to {EXPECTED_OFFICES} (pinmap also needs data-pins-ready and "
        "PinMap.state.shown); fresh context per run, HTTP cache off, no tiles on either page",
        "both pages are built per request; folium default's from the database every time, "
        "pinmap's from its office data and rendered map, which it keeps per process until the "
        "public data change (the API cache's generation); HTML build time is Flask's test "
        "client, warm, no compression",
    ]
    if routes.blocked:
        notes.append(f"refused non-loopback requests: {', '.join(sorted(routes.blocked))}")
    return notes


def write_json(targets: list[PageUnderTest], runs: int, notes: list[str]) -> None:
    OUT_FILE.parent.mkdir(parents=True, exist_ok=True)
    pages = {
        t.label: {
            "url": t.url,
            "bytes_gzip_total": t.counted_bytes,
            "bytes_gzip_by_kind": {k: t.bytes_of(k) for k in ("html", "asset", "data")},
            "time_to_pins_ms_median": statistics.median(t.pins_ms),
            "time_to_pins_ms": t.pins_ms,
            "html_build_ms_median": statistics.median(t.build_ms),
            "html_build_ms": t.build_ms,
            "transfers": [asdict(x) for x in t.transfers],
        }
        for t in targets
    }
    default, ours = targets
    ratios = {label: (a / b if b else None) for label, a, b in table_rows(default, ours)}
    doc = {"offices": EXPECTED_OFFICES, "runs": runs, "pages": pages, "ratios": ratios}
    OUT_FILE.write_text(json.dumps(doc | {"notes": notes}, indent=2, ensure_ascii=False) + "\n")


# -- main ---------------------------------------------------------------------------------------
def measure(url: str, outlines: bool, runs: int) -> tuple[list[PageUnderTest], list[str]]:
    engine = make_engine(url)
    try:
        found = count_offices(engine)
        if found != EXPECTED_OFFICES:
            raise BenchError(f"the database holds {found} offices, not {EXPECTED_OFFICES}")
        pinmap_app = create_app({"SQLALCHEMY_URL": url, "PINMAP_TILES": "", "SECRET_KEY": "bench"})
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        default_app = folium_default_app(factory, popup_text(pinmap_app), pinmap_app)
        assets = folium_cdn_assets()
        routes = CdnRoutes(assets)
        compressible = frozenset(pinmap_app.config["COMPRESS_MIMETYPES"])
        with serving(default_app) as default_url, serving(pinmap_app) as pinmap_url:
            targets = [
                PageUnderTest("folium default", default_url, default_app, app_flags=False),
                PageUnderTest("pinmap", pinmap_url, pinmap_app, app_flags=True),
            ]
            measure_in_browser(targets, routes, compressible, runs)
        for target in targets:
            measure_build(target, runs)
    finally:
        engine.dispose()
    return targets, build_notes(assets, routes, compressible, outlines, targets[1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per page (default 7)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        with bench_database() as (url, outlines):
            targets, notes = measure(url, outlines, args.runs)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_report(targets[0], targets[1], args.runs, notes)
    write_json(targets, args.runs, notes)
    elapsed = time.perf_counter() - started
    print(f"\nwrote {OUT_FILE.relative_to(PROJECT_ROOT)}; total runtime {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
