"""The national map page (/) and the language switch (/lang/<code>)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..assets import IMMUTABLE
from ..db import get_session
from ..i18n import LOCALE_COOKIE, LOCALES
from ..models import Office
from ..security import current_actor, safe_next
from ..services import exports, progress
from ..services import offices as svc
from ..shapes import point_of
from . import bp
from .basemap import basemap_url
from .mapview import MAP_BUNDLE, map_bundle, map_bundle_url, national_map, render_plain, with_nonce

T = TypeVar("T")


def _map_labels() -> dict[str, str]:
    return {
        "offices": _("Offices"),
        "provinces": _("Provinces"),
        "clusters": _("Clusters"),
    }


def _client_strings() -> dict[str, str]:
    return {
        "primary": _("Primary ESA office (สพป.)"),
        "secondary": _("Secondary ESA office (สพม.)"),
        "cluster": _("Cluster"),
        "province": _("Province"),
        "provinces_covered": _("Provinces covered"),
        "approximate": _("Approximate location"),
        "precision_amphoe": _("placed at the district (amphoe) centre, not the building"),
        "precision_province": _("only the province is known"),
        "open_profile": _("Open office page"),
        "progress": _("Approved reports"),
        "status_none": _("No approved report"),
        "status_not_started": _("Not started"),
        "status_on_plan": _("On plan"),
        "status_plan_adjusted": _("Plan adjusted"),
        "status_output_achieved": _("Output achieved"),
        "share_0": _("None approved"),
        "share_low": _("Under half approved"),
        "share_high": _("Half or more approved"),
        "share_all": _("All approved"),
        "updated_now": _("%(name)s was updated just now"),
        "open_cluster": _("Open cluster page"),
        "showing": _("Showing %(shown)s of %(total)s offices"),
        "no_match": _("No office matches these filters."),
        "page_of": _("Page %(page)s of %(pages)s"),
        "previous": _("Previous"),
        "next": _("Next"),
        "search_failed": _("The search did not answer. Try again."),
        "load_failed": _("Could not load the office data. Reload the page to try again."),
    }


def _cluster_provinces(offices: list[Office]) -> dict[str, list[int]]:
    """Province code → the clusters with an office in or covering it (the province list of a
    cluster follows its offices, like its outline on the map)."""
    found: dict[str, set[int]] = {}
    for office in offices:
        for code in {office.office_province_code, *(c.province_code for c in office.covered)}:
            found.setdefault(code, set()).add(office.cluster_no)
    return {code: sorted(nos) for code, nos in found.items()}


def _office_columns(offices: list[Office], order: list[str] | None) -> dict[str, list[Any]]:
    """The offices the map draws, inline in the page, column by column (like values side by
    side compress best): the API's properties plus lon/lat, which have 5 decimals (about
    1 m) where the building is known and 4 (11 m) for pins at a district or province centre,
    and `province_codes` null when the office covers only its own province. About 6 KB gzip
    and no request; /api/v1/offices stays the API for others. pinmap.js: PinMap.expand.
    With `order` (codes by name, as the browser collates them) the rows come in that order, so
    the result list needs no sort before the pins' first frame."""
    if order is not None:
        rank = {code: i for i, code in enumerate(order)}
        offices = sorted(offices, key=lambda o: rank.get(o.code, len(rank)))
    cols: dict[str, list[Any]] = {
        name: []
        for name in (
            "code",
            "kind",
            "name_th",
            "name_en",
            "province_code",
            "province_codes",
            "cluster_no",
            "location_precision",
            "lon",
            "lat",
        )
    }
    for o in offices:
        point = point_of(o.geom)
        digits = 5 if o.location_precision == "office" else 4
        covered = [c.province_code for c in o.covered]
        for name, value in (
            ("code", o.code),
            ("kind", o.kind),
            ("name_th", o.name_th),
            ("name_en", o.name_en),
            ("province_code", o.office_province_code),
            ("province_codes", None if covered == [o.office_province_code] else covered),
            ("cluster_no", o.cluster_no),
            ("location_precision", o.location_precision),
            ("lon", round(point.x, digits)),
            ("lat", round(point.y, digits)),
        ):
            cols[name].append(value)
    return cols


@dataclass(frozen=True)
class ProvinceOption:
    code: str


@dataclass(frozen=True)
class MapData:
    """What the page shows of offices, clusters and provinces in one language: the same for
    every reader until the data changes, so it is kept (see _kept)."""

    provinces: list[ProvinceOption]  # in the language's order
    province_name: dict[str, str]
    province_clusters: dict[str, list[int]]
    clusters: list[dict[str, Any]]
    cluster_names: dict[str, str]
    offices: dict[str, list[Any]]
    offices_sorted: bool  # the rows are in name order (the result list's)
    imported_provinces: bool


class PageCache:
    """The map page's per-process store of MapData and rendered maps. An entry serves only
    under the public data's generation it was built in (pinmap.apicache moves it on every
    change to offices, clusters or provinces, from any process); with no generation (no cache
    or listener) nothing is kept. Bounded: the least recently used entries go first."""

    MAX_ENTRIES = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def get(self, key: Hashable, version: int) -> Any | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, version: int, value: Any) -> None:
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.MAX_ENTRIES:
                self._entries.popitem(last=False)


def _page_cache(app: Flask) -> PageCache:
    ext = app.extensions.setdefault("pinmap", {})
    cache = ext.get("map_page_cache")
    if cache is None:
        cache = ext.setdefault("map_page_cache", PageCache())
    return cache


def _data_version() -> int | None:
    """The public data's generation now (read before the first query of a build, so a change
    committed during it leaves the entry stale), or None: keep nothing."""
    api_cache = current_app.extensions.get("pinmap", {}).get("api_cache")
    return None if api_cache is None else api_cache.version()


def _kept(key: Hashable, version: int | None, build: Callable[[], T]) -> T:
    if version is None:
        return build()
    cache = _page_cache(current_app)
    found = cache.get(key, version)
    if found is None:
        found = build()
        cache.put(key, version, found)
    return found


def _map_data(session: Session, th: bool) -> MapData:
    provinces = svc.list_provinces(session)
    clusters = svc.list_clusters(session)
    province_name = {p.code: p.name_th if th else (p.name_en or p.name_th) for p in provinces}
    if not th:
        provinces = sorted(provinces, key=lambda p: p.name_en or p.name_th)
    offices = svc.list_offices(session)
    order = svc.office_codes_by_name(session, "th" if th else "en")
    return MapData(
        provinces=[ProvinceOption(p.code) for p in provinces],
        province_name=province_name,
        province_clusters=_cluster_provinces(offices),
        clusters=clusters,
        cluster_names={
            str(c["no"]): c["name_th"] if th else (c["name_en"] or c["name_th"]) for c in clusters
        },
        offices=_office_columns(offices, order),
        offices_sorted=order is not None,
        # The basemap draws the provinces; imported outlines (finer) are fetched only when
        # there are some and the map is zoomed in far enough to show the difference.
        imported_provinces=svc.has_province_outlines(session),
    )


def _chosen_round(
    rounds: list[progress.RoundOption],
) -> tuple[progress.RoundOption | None, dict[str, str]]:
    """The round the address asks for (?fy=2569&round=2, the year in B.E.), or None with the
    values that name no round (the page then shows its default, and says what it left out)."""
    fy, no = request.args.get("fy", ""), request.args.get("round", "")
    if not no:
        return None, {}  # a year alone is read like ?fiscal_year= (see index)
    for option in rounds:
        if (str(option.fiscal_year), str(option.round_no)) == (fy.strip(), no.strip()):
            return option, {}
    return None, {k: v for k, v in (("fy", fy), ("round", no)) if v}


@bp.route("/")
def index() -> Any:
    version = _data_version()
    session = get_session()
    cfg = current_app.config
    th = str(get_locale() or "th") == "th"
    # The reporting rounds the selector offers: kept like the office data (the generation moves
    # when a window or the framework changes), so the default view queries nothing more.
    rounds = _kept(("rounds",), version, lambda: progress.round_options(session))
    chosen_round, bad_round = _chosen_round(rounds)
    asked_year = (
        chosen_round.fiscal_year
        if chosen_round is not None
        else request.args.get("fy", type=int) or request.args.get("fiscal_year", type=int)
    )
    today = current_actor().today_bangkok
    fiscal_year = progress.shown_fiscal_year(session, today, asked_year)
    default_year = progress.catalogue_year(session, today)
    items = progress.items_of(session, fiscal_year) if fiscal_year else []
    data = _kept(("data", th), version, lambda: _map_data(session, th))
    # The address carries the filters; values that do not exist are left out and named.
    chosen, ignored = exports.read_filters(session, request.args, fiscal_year)
    colours = {"kind"} | (
        {"progress", *(f"item:{i.kind}:{i.no}" for i in items)} if fiscal_year else set()
    )
    ignored.update(bad_round)
    colour = request.args.get("colour", "").strip()
    if colour and colour not in colours:
        ignored["colour"] = colour
        colour = ""
    if chosen_round is not None and not colour:
        colour = "progress"  # a chosen round colours the pins by its completeness
    export_urls = {
        fmt: url_for("public.export_table", what="offices", fmt=fmt) for fmt in ("csv", "xlsx")
    }
    export_urls["geojson"] = url_for("public.export_geojson")
    locale = request.args.get("lang") or ""

    def build_map() -> dict[str, str]:
        config = {
            "urls": {
                "offices": url_for("api.offices"),
                "provinces": url_for("api.province_boundaries"),
                "regions": url_for("api.cluster_regions"),
                "office_page": url_for("public.office", code="__CODE__"),
                "summary": url_for("progress_api.progress_summary"),
                "stream": url_for("live.stream"),
                "labels": url_for("coaching_api.cluster_labels"),
                "cluster_page": url_for("coaching.cluster", no=0).rsplit("/", 1)[0] + "/",
                "bp_offices": url_for("profiles_api.best_practice_offices"),
                "office": url_for("api.office", code="__CODE__"),
                "search": url_for("search_api.search"),
                "exports": export_urls,
            },
            "fiscal_year": fiscal_year,
            "round": chosen_round.round_no if chosen_round is not None else None,
            "default_fiscal_year": default_year,
            "locale": locale,
            "lang": "th" if th else "en",
            "strings": _client_strings(),
            "cluster_names": data.cluster_names,
            "province_names": data.province_name,
            "offices": data.offices,
            "offices_sorted": data.offices_sorted,
            "imported_provinces": data.imported_provinces,
        }
        m = national_map(
            config, _map_labels(), cfg["PINMAP_TILES"], cfg["PINMAP_TILES_ATTRIBUTION"]
        )
        return render_plain(m)

    # Everything the rendered map depends on besides the data (whose generation the entry
    # carries): the language, the address's lang and fiscal year, the tiles, the assets.
    map_key = (
        "map",
        th,
        locale[:100],
        fiscal_year,
        chosen_round,
        default_year,
        request.script_root,
        cfg["PINMAP_TILES"],
        cfg["PINMAP_TILES_ATTRIBUTION"],
        map_bundle_url(),
        basemap_url(),
    )
    parts = with_nonce(_kept(map_key, version if len(locale) <= 100 else None, build_map))
    clusters = data.clusters
    return render_template(
        "public/map.html",
        map=parts,
        provinces=data.provinces,
        province_name=data.province_name,
        province_clusters=data.province_clusters,
        clusters=clusters,
        cluster_provinces={
            c["no"]: ", ".join(data.province_name[code] for code in c["province_codes"])
            for c in clusters
        },
        total=sum(len(c["office_codes"]) for c in clusters),
        fiscal_year=fiscal_year,
        rounds=rounds,
        chosen_round=chosen_round,
        items=items,
        chosen=chosen,
        colour=colour or "kind",
        # At most 40 characters of each: enough to recognise what was in the address.
        ignored=", ".join(f"{k}={v[:40]}" for k, v in ignored.items()),
        export_urls={
            fmt: url + ("?" + urlencode(chosen.as_args()) if chosen.any else "")
            for fmt, url in export_urls.items()
        },
    )


@bp.route("/map-bundle/<fingerprint>.js")
def map_bundle_file(fingerprint: str) -> Any:
    """The national map's one script (mapview.map_bundle), cached for a year: its URL names
    its content. A stale fingerprint (a page from before a deploy) goes to the current one."""
    body = map_bundle()
    if body is None:
        abort(404)
    if fingerprint != body.fingerprint:
        return redirect(url_for("public.map_bundle_file", fingerprint=body.fingerprint))
    zipped = request.accept_encodings.quality("gzip") > 0
    response = Response(body.gzipped if zipped else body.raw, mimetype="text/javascript")
    if zipped:
        # flask-compress leaves a response that already has an encoding alone.
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = IMMUTABLE
    # The bundle names its source map by a relative URL, which is next to it under /static.
    response.headers["SourceMap"] = url_for("static", filename=MAP_BUNDLE + ".map")
    response.set_etag(body.fingerprint + ("-gzip" if zipped else ""))
    return response.make_conditional(request)


@bp.route("/lang/<locale>")
def set_language(locale: str) -> Any:
    if locale not in LOCALES:
        abort(404)
    # Only local paths: an open redirect would let others borrow our domain for phishing.
    target = safe_next(request.args.get("next"), url_for("public.index"))
    resp = make_response(redirect(target))
    resp.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax")
    return resp
