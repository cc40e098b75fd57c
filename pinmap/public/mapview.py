"""Building folium maps whose every asset is served from our own /static (no CDN, no internet).

Every map draws the embedded basemap (static/js/basemap.js: sea, land, neighbours, provinces
and their names, from data/basemap/); PINMAP_TILES, when set, is drawn above it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from flask import current_app, url_for
from flask_babel import get_locale
from jinja2 import Template
from markupsafe import Markup, escape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.basemap import province_polygons

from ..headers import csp_nonce
from ..models import Office, Province
from .basemap import basemap_url

# folium (with requests) takes about a tenth of a second to import: the functions that draw a
# map import it, so app processes and CLI commands start without it until a map is drawn.
if TYPE_CHECKING:
    import folium
    from folium.plugins import MarkerCluster

THAILAND_BOUNDS = [[5.6, 97.3], [20.5, 105.7]]


def js_safe_text(value: Any) -> Markup:
    """Escape for HTML, then also for the JS template literal folium puts tooltips and popups in.

    folium wraps that HTML in backticks, so `${...}` would run and a stray backslash would
    break the script; HTML entities for both read the same once the browser parses the HTML.
    """
    text = str(escape("" if value is None else value))
    # Safe: `text` is already escaped; the replacements only add entities.
    return Markup(text.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;"))  # noqa: S704


def _vendor(path: str) -> str:
    return url_for("static", filename=f"vendor/{path}")


def localise_assets(
    element: folium.elements.JSCSSMixin, js: list[tuple[str, str]], css: list[tuple[str, str]]
) -> None:
    """Point one element's asset links at our copies; instance attributes, so the folium
    classes (and any other map built in this process) keep their defaults."""
    element.default_js = js
    element.default_css = css


class Basemap(MacroElement):
    """Draws the embedded basemap on its map (static/js/basemap.js). `provinces_name`, when
    set, names the layer group the provinces go into (the national map's "Provinces")."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        PinBasemap.add({{ this._parent.get_name() }}, Object.assign({{ this.options_json }}
            {%- if this.provinces_name %}, {provinces: function () {
                return {{ this.provinces_name }}; }}{% endif %}
            {%- if this.after %}, {after: {{ this.after|tojson }}}{% endif %}));
        {% endmacro %}
        """
    )

    def __init__(self, tiles: bool) -> None:
        super().__init__()
        self._name = "Basemap"
        self.provinces_name = ""
        # An attribute of <html> the map's own script sets when its content is drawn: the
        # basemap then draws after that frame (the national map: its pins first).
        self.after = ""
        options = {"url": basemap_url(), "lang": str(get_locale() or "th"), "tiles": tiles}
        self.options_json = json.dumps(options, ensure_ascii=False).replace("<", "\\u003c")


def _basemap_scripts(scripts: bool = True) -> Element:
    srcs = [
        _vendor("topojson-client/topojson-client.min.js"),
        url_for("static", filename="js/basemap.js"),
    ]
    # The data starts downloading with the page's scripts, not when the map script runs;
    # crossorigin matches fetch()'s own mode, so the browser reuses this response.
    preload = f'<link rel="preload" href="{basemap_url()}" as="fetch" crossorigin="anonymous">'
    return Element(preload + "".join(f'<script src="{src}"></script>' for src in srcs if scripts))


# The national map's scripts as scripts/vendor_assets.sh concatenates and minifies them (terser)
# into one file: about 17 KB (gzip) less than the separate files, and one request instead of six.
# Our own sources stay readable in static/js and are served instead whenever one of them is
# newer than the bundle (edited since `make install`), so the page never runs stale code.
# The page loads it from /map-bundle/<fingerprint>.js (map_page.py), gzipped once per process:
# gzipping its 220 KB on each request held every first visit's pins back by ~10 ms.
MAP_BUNDLE = "vendor/pinmap/map.min.js"
MAP_BUNDLE_CSS = "vendor/pinmap/map.min.css"  # leaflet.css and MarkerCluster.css, csso
MAP_BUNDLE_SOURCES = ("js/basemap.js", "js/pinmap.js", "js/map-filters.js")


@dataclass(frozen=True)
class BundleBody:
    fingerprint: str
    raw: bytes
    gzipped: bytes
    built: float  # the file's mtime


_bundles: dict[str, BundleBody] = {}
_bundles_lock = threading.Lock()


def map_bundle() -> BundleBody | None:
    """The bundle when it exists and is at least as new as our sources, else None."""
    static = Path(current_app.static_folder or "")
    try:
        built = (static / MAP_BUNDLE).stat().st_mtime
        newest = max((static / src).stat().st_mtime for src in MAP_BUNDLE_SOURCES)
    except OSError:
        return None
    if built < newest or not (static / MAP_BUNDLE_CSS).is_file():
        return None
    key = str(static / MAP_BUNDLE)
    with _bundles_lock:
        body = _bundles.get(key)
        if body is None or body.built != built:
            raw = (static / MAP_BUNDLE).read_bytes()
            fingerprint = hashlib.sha256(raw).hexdigest()[:16]
            body = BundleBody(fingerprint, raw, gzip.compress(raw, 9, mtime=0), built)
            _bundles[key] = body
    return body


def map_bundle_url() -> str | None:
    """The bundle's URL (named by its content) when map_bundle() has one, else None."""
    body = map_bundle()
    return None if body is None else url_for("public.map_bundle_file", fingerprint=body.fingerprint)


def base_map(
    tiles_url: str = "", tiles_attribution: str = "", bundled: bool = False, **kwargs: Any
) -> folium.Map:
    import folium

    m = folium.Map(
        location=[13.2, 100.9],
        zoom_start=6,
        tiles=None,
        control_scale=True,
        # With no tile layer, Leaflet (and markercluster) need the zoom range on the map itself.
        minZoom=5,
        maxZoom=18,
        **kwargs,
    )
    localise_assets(
        m,
        js=[
            ("leaflet", _vendor("leaflet/leaflet.js")),
            ("jquery", _vendor("jquery/jquery.min.js")),
        ],
        css=[("leaflet_css", _vendor("leaflet/leaflet.css"))],
    )
    if tiles_url:
        folium.TileLayer(
            tiles=tiles_url,
            attr=tiles_attribution or "tiles",
            name="basemap",
            overlay=False,
            control=False,
            max_zoom=18,
        ).add_to(m)
    _figure(m).header.add_child(_basemap_scripts(scripts=not bundled), name="basemap_js")
    Basemap(bool(tiles_url)).add_to(m)
    return m


def basemap_of(m: folium.Map) -> Basemap:
    return next(c for c in m._children.values() if isinstance(c, Basemap))


class PinMapScript(MacroElement):
    """Starts static/js/pinmap.js on the folium map, handing it the map's layer variables."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        PinMap.init({{ this.config_json }}, {
            map: {{ this.map_name }},
            offices: {{ this.offices_name }},
            provinces: {{ this.provinces_name }},
            clusters: {{ this.clusters_name }}
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        config: dict[str, Any],
        m: folium.Map,
        offices: MarkerCluster,
        provinces: folium.FeatureGroup,
        clusters: folium.FeatureGroup,
    ) -> None:
        super().__init__()
        self._name = "PinMapScript"
        # </ must not close the surrounding <script>; JSON allows \u003c for "<".
        self.config_json = json.dumps(config, ensure_ascii=False, separators=(",", ":")).replace(
            "<", "\\u003c"
        )
        self.map_name = m.get_name()
        self.offices_name = offices.get_name()
        self.provinces_name = provinces.get_name()
        self.clusters_name = clusters.get_name()


def national_map(
    config: dict[str, Any], labels: dict[str, str], tiles_url: str = "", tiles_attribution: str = ""
) -> folium.Map:
    """The public map: empty layers that pinmap.js fills from the page's data and the API."""
    import folium
    from folium.plugins import MarkerCluster
    from folium.utilities import JsCode

    bundle = map_bundle_url()
    m = base_map(tiles_url, tiles_attribution, bundled=bool(bundle), prefer_canvas=False)
    # folium needs jQuery only for its own popups; this map builds popups in pinmap.js, so
    # 30 KB (gzip) less for every visitor.
    m.default_js = [(name, url) for name, url in m.default_js if name != "jquery"]
    if bundle:
        m.default_js = [("pinmap_map", bundle)]
        m.default_css = [("pinmap_map_css", url_for("static", filename=MAP_BUNDLE_CSS))]
    m.fit_bounds(THAILAND_BOUNDS)
    # Added one by one: add_to is typed as returning any element.
    provinces = folium.FeatureGroup(name=labels["provinces"], show=True)
    clusters = folium.FeatureGroup(name=labels["clusters"], show=False)
    basemap_of(m).provinces_name = provinces.get_name()
    basemap_of(m).after = "data-pins-ready"
    offices = MarkerCluster(
        name=labels["offices"],
        options={"spiderfyOnMaxZoom": True, "showCoverageOnHover": False, "maxClusterRadius": 45},
    )
    for layer in (provinces, clusters, offices):
        layer.add_to(m)
    localise_assets(
        offices,
        js=[]
        if bundle
        else [("markerclusterjs", _vendor("leaflet.markercluster/leaflet.markercluster.js"))],
        # No MarkerCluster.Default.css: pinmap.js draws its own bubbles (status rings).
        css=[]
        if bundle
        else [("markerclustercss", _vendor("leaflet.markercluster/MarkerCluster.css"))],
    )
    # Open beside the map on wide screens; folded to its button on phones, over the popups.
    # folium writes any option through its JavaScript encoder, which emits JsCode as code.
    phone = JsCode('matchMedia("(max-width: 760px)").matches')
    folium.LayerControl(collapsed=phone).add_to(m)  # type: ignore[arg-type]  # annotated bool
    if not bundle:
        srcs = [url_for("static", filename=f"js/{name}.js") for name in ("pinmap", "map-filters")]
        _figure(m).header.add_child(
            Element("".join(f'<script src="{src}"></script>' for src in srcs)), name="pinmap_js"
        )
    PinMapScript(config, m, offices, provinces, clusters).add_to(m)
    return m


def province_outline(session: Session, office: Office) -> dict[str, Any] | None:
    """The GeoJSON outline of the province the office sits in: the imported one, else the
    basemap's (None only for a province code the basemap does not know)."""
    outline = session.scalar(
        select(func.ST_AsGeoJSON(Province.geom_web, 5)).where(
            Province.code == office.office_province_code
        )
    )
    if outline:
        return dict(json.loads(outline))
    shape = province_polygons().get(office.office_province_code)
    return None if shape is None else geojson_of(shape)


def geojson_of(geom: BaseGeometry) -> dict[str, Any]:
    """A geometry as GeoJSON with 5 decimals (1 m): shorter inline data on the page."""
    rounded = shapely.transform(geom, lambda xy: np.round(xy, 5))
    return dict(json.loads(shapely.to_geojson(rounded)))


def office_map(
    lon: float,
    lat: float,
    label: str,
    province_geojson: dict[str, Any] | None,
    tiles_url: str = "",
    tiles_attribution: str = "",
    popup: Markup | None = None,
) -> folium.Map:
    """A small map of one office; `label` is user-visible text and is escaped here, `popup`
    is HTML whose every text went through js_safe_text."""
    import folium

    m = base_map(tiles_url, tiles_attribution)
    if province_geojson:
        folium.GeoJson(
            province_geojson,
            name="province",
            style_function=lambda _: {"color": "#5b6b7f", "weight": 1.5, "fillOpacity": 0.05},
        ).add_to(m)
        bounds = folium.GeoJson(province_geojson).get_bounds()
        # A corner is None only for a shape without coordinates, which an outline is not.
        m.fit_bounds([[v for v in corner if v is not None] for corner in bounds])
    else:
        m.location = [lat, lon]
        m.options["zoom"] = 9
    folium.CircleMarker(
        [lat, lon],
        radius=8,
        color="#1d3557",
        fill=True,
        fill_color="#e63946",
        fill_opacity=0.9,
        tooltip=folium.Tooltip(str(js_safe_text(label))),
        popup=folium.Popup(str(popup), max_width=320) if popup else None,
    ).add_to(m)
    return m


def _figure(m: folium.Map) -> Figure:
    """The page a map renders into (folium.Map makes one; its root is typed as any element)."""
    root = m.get_root()
    if not isinstance(root, Figure):
        raise TypeError("the map is not on a page")
    return root


def render_parts(m: folium.Map) -> dict[str, str]:
    """Render a map's figure into header / body / script parts for our own templates.

    Templates put `script` in a `<script nonce="{{ csp_nonce() }}">`. The header's own inline
    script (folium's Leaflet switches) gets this request's nonce here: the header is folium's
    fixed markup and our asset links, with no data in it, so every bare `<script>` in it is ours.
    """
    return with_nonce(render_plain(m))


def render_plain(m: folium.Map) -> dict[str, str]:
    """The parts of render_parts before any nonce: the same for every request, so a page may
    keep them (with_nonce then adds each request's)."""
    fig = _figure(m)
    fig.render()
    return {
        "header": fig.header.render(),
        "html": fig.html.render(),
        "script": fig.script.render(),
    }


def with_nonce(parts: dict[str, str]) -> dict[str, str]:
    nonce = csp_nonce()
    if not nonce:
        return parts
    return parts | {"header": parts["header"].replace("<script>", f'<script nonce="{nonce}">')}
