"""Boundary import into PostGIS, the simplified web layer, and `data check`."""

from pathlib import Path

import geopandas as gpd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.boundaries import BoundaryFileError, read_boundaries
from pinmap.models import BoundaryImport, Office, Province
from pinmap.services.boundaries import import_boundaries, offices_outside_province


def _import(session: Session, path: Path, level: str = "province") -> None:
    import_boundaries(
        session, read_boundaries(path, level), level, source_name=path.name, sha256="x" * 64
    )


def test_province_import_matches_all_77_and_every_pin_is_inside(
    session: Session, province_file: Path
) -> None:
    _import(session, province_file)
    assert session.scalar(select(func.count()).where(Province.geom.is_not(None))) == 77
    valid = session.scalar(select(func.bool_and(func.ST_IsValid(Province.geom_web))))
    assert valid
    assert session.scalar(select(func.ST_SRID(Province.geom)).limit(1)) == 4326
    assert offices_outside_province(session) == []


def test_check_reports_a_pin_moved_out_of_its_province(
    session: Session, province_file: Path
) -> None:
    _import(session, province_file)
    office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    office.geom = func.ST_SetSRID(func.ST_MakePoint(100.5, 13.75), 4326)  # Bangkok
    session.flush()
    misplaced = offices_outside_province(session)
    assert [m.code for m in misplaced] == ["spp-krabi"]
    assert misplaced[0].distance_km > 300


def test_api_serves_simplified_outlines_and_cluster_unions(
    client: FlaskClient, session: Session, province_file: Path
) -> None:
    _import(session, province_file)
    session.commit()
    r = client.get("/api/v1/boundaries/provinces", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert len(r.data) < 60_000  # simplified: small enough for a slow office network
    fc = client.get("/api/v1/boundaries/provinces").get_json(force=True)
    assert len(fc["features"]) == 77
    regions = client.get("/api/v1/clusters/regions").get_json(force=True)
    assert len(regions["features"]) == 18
    assert {f["properties"]["basis"] for f in regions["features"]} == {"provinces"}


def test_feature_matching_no_province_changes_nothing(session: Session, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"ADM1_PCODE": ["TH10", "TH99"]}, geometry=[box(100, 13, 101, 14)] * 2, crs=4326
    )
    path = tmp_path / "p.geojson"
    frame.to_file(path, driver="GeoJSON")
    before = session.scalar(select(func.count()).select_from(BoundaryImport))
    with session.begin_nested():
        with pytest.raises(BoundaryFileError, match=r"feature 2 \(code='99'"):
            _import(session, path)
        session.rollback()
    assert session.scalar(select(func.count()).select_from(BoundaryImport)) == before


def test_thai_name_matching_without_codes(session: Session, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"PROV_NAMT": ["กระบี่"]}, geometry=[box(98.6, 7.8, 99.3, 8.6)], crs=4326
    )
    path = tmp_path / "krabi.geojson"
    frame.to_file(path, driver="GeoJSON")
    _import(session, path)
    krabi = session.scalars(select(Province).filter_by(name_th="กระบี่")).one()
    assert krabi.geom is not None


def test_amphoe_import(session: Session, amphoe_file: Path) -> None:
    _import(session, amphoe_file, "amphoe")
    from pinmap.models import Amphoe

    assert session.scalar(select(func.count()).select_from(Amphoe)) == 928


def test_cli_import_reports_bad_file_and_imports_nothing(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    result = app.test_cli_runner().invoke(
        args=["boundaries", "import", str(bad), "--level", "province"]
    )
    assert result.exit_code == 1
    assert "bad.geojson: cannot be read" in result.output
    assert "nothing was imported" in result.output


def test_cli_data_load_names_file_and_line(app: Flask, tmp_path: Path) -> None:
    import shutil

    from pinmap.config import PROJECT_ROOT

    for f in (PROJECT_ROOT / "data").glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "offices.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("8.14708,98.86415", "8.1,120.0"))
    result = app.test_cli_runner().invoke(args=["data", "load", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "offices.csv:3: coordinate lat=8.1, lon=120.0 is outside Thailand" in result.output
