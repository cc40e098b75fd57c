"""The basemap as the app serves it: one fingerprinted, long-cached file that every map page
names, and the cluster outlines derived from it when no boundaries were imported."""

from __future__ import annotations

import gzip
import re

from flask.testing import FlaskClient
from shapely.geometry import shape

from geo.basemap import BASEMAP_FILE, province_polygons

URL = re.compile(r'"url": "(/basemap/[0-9a-f]{16}\.topo\.json)"')


def _basemap_url(client: FlaskClient, page: str) -> str:
    html = client.get(page).get_data(as_text=True)
    found = URL.search(html)
    assert found, f"no basemap on {page}"
    return found.group(1)


def test_every_public_map_names_the_same_fingerprinted_file(client: FlaskClient) -> None:
    urls = {_basemap_url(client, p) for p in ("/", "/offices/spp-krabi", "/coaching/clusters/6")}
    assert len(urls) == 1


def test_served_gzipped_once_and_cached_for_a_year(client: FlaskClient) -> None:
    url = _basemap_url(client, "/")
    r = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert (
        "immutable" in r.headers["Cache-Control"]
        and "max-age=31536000" in r.headers["Cache-Control"]
    )
    assert gzip.decompress(r.data) == BASEMAP_FILE.read_bytes()
    assert len(r.data) < 32_000
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    for refused in ("", "identity"):
        plain = client.get(url, headers={"Accept-Encoding": refused})
        assert "Content-Encoding" not in plain.headers
        assert plain.data == BASEMAP_FILE.read_bytes()
    assert client.head(url).status_code == 200


def test_a_stale_fingerprint_is_sent_to_the_current_file(client: FlaskClient) -> None:
    r = client.get("/basemap/0123456789abcdef.topo.json")
    assert r.status_code == 302
    assert r.headers["Location"] == _basemap_url(client, "/")


def test_office_map_outlines_its_province_from_the_basemap(client: FlaskClient) -> None:
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    # Krabi's outline is drawn and the map fitted to it, not a fixed zoom around the pin.
    west, south, east, north = province_polygons()["81"].bounds
    assert "geo_json_" in html
    fitted = re.search(r"fitBounds\(\s*\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]", html)
    assert fitted, html[-3000:]
    assert [round(float(v), 3) for v in fitted.groups()] == [
        round(v, 3) for v in (south, west, north, east)
    ]


def test_cluster_regions_dissolve_basemap_provinces(client: FlaskClient) -> None:
    fc = client.get("/api/v1/clusters/regions").get_json(force=True)
    provinces = province_polygons()
    for feature in fc["features"]:
        props = feature["properties"]
        assert props["basis"] == "basemap"
        region = shape(feature["geometry"])
        assert region.is_valid and not region.is_empty
        covered = sum(provinces[c].area for c in props["province_codes"])
        assert abs(region.area - covered) < 1e-6 * covered
    # The cluster page draws the same outline.
    assert "geo_json_" in client.get("/coaching/clusters/6").get_data(as_text=True)
