"""geo.boundaries on small files written here, in formats and CRSs a user might hand us."""

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from geo.boundaries import BoundaryFileError, normalise_code, read_boundaries, simplify_for_web


def _write(tmp_path: Path, name: str, frame: gpd.GeoDataFrame, driver: str) -> Path:
    path = tmp_path / name
    frame.to_file(path, driver=driver)
    return path


def test_reprojects_utm_geopackage_and_repairs_invalid_polygon(tmp_path: Path) -> None:
    bowtie = Polygon([(0, 0), (10_000, 10_000), (10_000, 0), (0, 10_000), (0, 0)])
    square = box(20_000, 0, 30_000, 10_000)
    frame = gpd.GeoDataFrame(
        {"PROV_CODE": ["10", "TH11"], "PROV_NAMT": ["ก", "ข"]},
        geometry=[bowtie, square],
        crs=32647,
    ).translate(660_000, 1_500_000)
    frame = gpd.GeoDataFrame(
        {"PROV_CODE": ["10", "TH11"], "PROV_NAMT": ["ก", "ข"]}, geometry=frame, crs=32647
    )
    path = _write(tmp_path, "p.gpkg", frame, "GPKG")
    bset = read_boundaries(path, "province")
    assert bset.source_crs is not None and "32647" in bset.source_crs
    assert bset.frame.crs.to_epsg() == 4326
    assert bset.repaired == 1
    assert list(bset.frame["code"]) == ["10", "11"]
    assert all(g.is_valid and g.geom_type == "MultiPolygon" for g in bset.frame.geometry)
    minx, miny, maxx, maxy = bset.frame.total_bounds
    assert 100 < minx < maxx < 101 and 13 < miny < maxy < 14  # lon/lat, near Bangkok


def test_bad_code_names_the_feature(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"ADM1_PCODE": ["TH10", "Bangkok"]}, geometry=[box(100, 13, 101, 14)] * 2, crs=4326
    )
    path = _write(tmp_path, "bad.geojson", frame, "GeoJSON")
    with pytest.raises(BoundaryFileError, match=r"feature 2: ADM1_PCODE='Bangkok'"):
        read_boundaries(path, "province")


def test_no_usable_field_is_explained(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"foo": [1]}, geometry=[box(100, 13, 101, 14)], crs=4326)
    path = _write(tmp_path, "nofield.geojson", frame, "GeoJSON")
    with pytest.raises(BoundaryFileError, match="no code or Thai name field"):
        read_boundaries(path, "province")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.geojson"
    path.write_text("{not json")
    with pytest.raises(BoundaryFileError, match="cannot be read"):
        read_boundaries(path, "province")


def test_features_sharing_a_code_are_dissolved(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"ADM1_PCODE": ["TH83", "TH83"], "ADM1_TH": ["ภูเก็ต", "ภูเก็ต"]},
        geometry=[box(98.2, 7.8, 98.4, 8.1), box(98.5, 7.8, 98.6, 7.9)],
        crs=4326,
    )
    bset = read_boundaries(_write(tmp_path, "islands.geojson", frame, "GeoJSON"), "province")
    assert len(bset.frame) == 1
    assert len(bset.frame.geometry.iloc[0].geoms) == 2


@pytest.mark.parametrize(
    ("value", "level", "expected"),
    [
        ("TH47", "province", "47"),
        (47, "province", "47"),
        ("TH4711", "amphoe", "4711"),
        ("4711", "province", None),
        ("x", "amphoe", None),
        (10.0, "province", "10"),
    ],
)
def test_normalise_code(value: object, level: str, expected: str | None) -> None:
    assert normalise_code(value, level) == expected


def test_simplify_keeps_shared_borders_shared() -> None:
    import numpy as np

    xs = np.linspace(100, 101, 200)
    wiggle = [(x, 14 + 0.001 * np.sin(x * 300)) for x in xs]
    south = Polygon([(100, 13), (101, 13), *reversed(wiggle)])
    north = Polygon([*wiggle, (101, 15), (100, 15)])
    series = gpd.GeoSeries([south, north], crs=4326)
    out = simplify_for_web(series, 0.01)
    assert all(g.is_valid for g in out)
    assert out.iloc[0].intersection(out.iloc[1]).area < 1e-12  # no overlap
    assert len(out.iloc[0].geoms[0].exterior.coords) < len(south.exterior.coords)
