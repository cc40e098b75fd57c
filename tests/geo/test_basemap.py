"""The committed basemap (data/basemap/thailand.topo.json): what it holds, its size, that it is
what its build script writes, and that the test boundaries are derived from it."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Point, shape

from geo.basemap import BASEMAP_FILE, basemap, province_polygons, read_topojson
from geo.regions import union_of

from ..support.paths import PROVINCE_FILE

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build_basemap.mjs"
BUILD_PACKAGES = ROOT / "scripts" / "basemap" / "node_modules"


def _provinces_csv() -> dict[str, dict[str, str]]:
    with open(ROOT / "data" / "provinces.csv", encoding="utf-8") as f:
        return {r["code"]: r for r in csv.DictReader(f)}


def test_file_is_small_enough_for_every_page() -> None:
    raw = BASEMAP_FILE.read_bytes()
    assert len(raw) < 100_000
    assert len(gzip.compress(raw, 9)) < 32_000  # ~30 KB gzip, as issue 13 asks


def test_77_provinces_with_our_codes_and_names() -> None:
    ours = _provinces_csv()
    features = basemap()["provinces"]
    assert len(features) == 77
    assert {f.properties["code"] for f in features} == set(ours)
    for f in features:
        row = ours[f.properties["code"]]
        assert (f.properties["name_th"], f.properties["name_en"]) == (
            row["name_th"],
            row["name_en"],
        )
        assert f.geometry.is_valid and not f.geometry.is_empty
        # Each province's label point (Natural Earth's) is inside it.
        assert f.geometry.contains(Point(f.properties["label"])), f.properties["code"]


def test_provinces_tile_thailand_without_overlaps() -> None:
    shapes = list(province_polygons().values())
    tree = shapely.STRtree(shapes)
    for i, one in enumerate(shapes):
        for j in tree.query(one):
            if j > i:
                # Shared arcs: neighbours touch along borders and never overlap.
                assert one.intersection(shapes[j]).area < 1e-9
    thailand = union_of(shapes)
    assert 0.3 < thailand.area / thailand.envelope.area < 0.6  # one country, not a box
    assert len(thailand.geoms) < 40  # the mainland and the larger islands


def test_neighbours_and_far_land() -> None:
    objects = basemap()
    countries = {f.properties["iso"]: f for f in objects["countries"]}
    assert {"MMR", "LAO", "KHM", "MYS", "VNM"} <= countries.keys()
    for iso, f in countries.items():
        assert f.properties["name_th"] and f.properties["name_en"]
        if f.properties["label"]:
            assert f.geometry.contains(Point(f.properties["label"])), iso
    thailand = union_of(list(province_polygons().values()))
    myanmar = countries["MMR"].geometry
    # Same source, shared arcs: the land border is one line, no gap and no overlap.
    assert thailand.intersection(myanmar).area < 1e-9
    assert thailand.boundary.intersection(myanmar.boundary).length > 10  # degrees of border
    assert len(objects["land"]) == 1


def test_offices_lie_in_thailand() -> None:
    thailand = union_of(list(province_polygons().values())).buffer(0.05)
    with open(ROOT / "data" / "offices.csv", encoding="utf-8") as f:
        outside = [
            r["code"]
            for r in csv.DictReader(f)
            if not thailand.contains(Point(float(r["lon"]), float(r["lat"])))
        ]
    assert outside == []


def test_decoder_reads_arcs_reversed_and_untransformed() -> None:
    # Two squares sharing the arc x=1 (arc 1), the second using it reversed (~1 = -2).
    topo = {
        "type": "Topology",
        "arcs": [
            [[1, 0], [0, 0], [0, 1], [1, 1]],
            [[1, 1], [1, 0]],
            [[1, 0], [2, 0], [2, 1], [1, 1]],
        ],
        "objects": {
            "squares": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, 1]], "properties": {"code": "a"}},
                    {"type": "Polygon", "arcs": [[2, -2]], "properties": {"code": "b"}},
                    {"type": None},
                ],
            }
        },
    }
    a, b = read_topojson(json.dumps(topo))["squares"]
    assert a.properties == {"code": "a"} and a.geometry.area == pytest.approx(1)
    assert b.geometry.area == pytest.approx(1)
    assert union_of([a.geometry, b.geometry]).area == pytest.approx(2)


def test_test_boundaries_are_the_basemap_provinces() -> None:
    """tests/fixtures/boundaries is derived from this file (see its README)."""
    fixture = json.loads(PROVINCE_FILE.read_text(encoding="utf-8"))
    shapes = {f["properties"]["ADM1_PCODE"][2:]: shape(f["geometry"]) for f in fixture["features"]}
    ours = province_polygons()
    assert shapes.keys() == ours.keys()
    for code, geom in shapes.items():
        # Equal but for rounding to 1e-5° and the one 0.02° disc the README names.
        assert geom.symmetric_difference(ours[code]).area < 0.002, code


def test_build_script_writes_the_committed_file(tmp_path: Path) -> None:
    # `make test` installs the build's packages; a missing install is a failure, not a skip.
    assert shutil.which("node"), "node is not installed (make deps)"
    assert BUILD_PACKAGES.exists(), "run `make test`, or npm ci --prefix scripts/basemap"
    out = tmp_path / "thailand.topo.json"
    for _ in range(2):
        subprocess.run(["node", str(BUILD_SCRIPT), str(out)], check=True, capture_output=True)
        assert out.read_bytes() == BASEMAP_FILE.read_bytes()
