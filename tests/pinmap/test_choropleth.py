"""The server-side choropleth: well-formed SVG, escaped text, classes, "no data", no request."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from defusedxml import ElementTree as DET

from geo.svgmap import fit, group_outlines, projected_basemap
from pinmap.choropleth import COLOURS, NO_DATA, choropleth_svg, share_text

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]


def _province_cluster() -> dict[str, int]:
    with (ROOT / "data" / "provinces.csv").open(encoding="utf-8") as fh:
        return {r["code"]: int(r["cluster_no"]) for r in csv.DictReader(fh)}


def _areas(svg: str) -> dict[str, list[ET.Element]]:
    tree = DET.fromstring(svg)
    return {g.get("data-key", ""): g.findall(f"{SVG}path") for g in tree.iter(f"{SVG}g")}


def test_share_text_is_exact_and_floored() -> None:
    assert share_text(244 / 245) == "99.59 %"
    assert share_text(242 / 245) == "98.77 %"
    assert share_text(245 / 245) == "100.00 %"
    assert share_text(0.999999) == "99.99 %"
    assert share_text(0.0) == "0.00 %"


def test_by_province_colours_each_province_and_marks_no_data() -> None:
    # Called outside any Flask app or request: the PDF builder does the same.
    svg = str(
        choropleth_svg(
            {"10": 244 / 245, "50": 0.2, "90": None},
            by="province",
            title='Completeness <script>alert("x")</script>',
            details={"10": "244 / 245"},
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    areas = _areas(svg)
    assert len(areas) == 77
    assert areas["10"][0].get("fill") == COLOURS[3]  # 95 % – < 100 %, not "complete"
    assert areas["50"][0].get("fill") == COLOURS[0]
    assert areas["90"][0].get("fill") == NO_DATA
    assert areas["11"][0].get("fill") == NO_DATA  # absent: no data as well
    tip = areas["10"][0].find(f"{SVG}title")
    assert tip is not None and tip.text == "กรุงเทพมหานคร: 99.59 % (244 / 245)"
    assert "No data" in svg and "100 %" in svg


def test_by_cluster_colours_provinces_by_their_cluster_with_outlines_and_links() -> None:
    clusters = _province_cluster()
    values: dict[str, float | None] = {str(n): 1.0 for n in range(1, 19)}
    values["3"] = None
    svg = str(
        choropleth_svg(
            values,
            by="cluster",
            province_cluster=clusters,
            names={"1": "Region <1> & Bangkok"},
            links={"2": "/coaching/dashboard?cluster=2&fiscal_year=2568"},
            highlight="2",
        )
    )
    tree = DET.fromstring(svg)
    areas = _areas(svg)
    assert set(areas) == {str(n) for n in range(1, 19)}
    assert len(areas["1"]) == sum(1 for c in clusters.values() if c == 1)
    assert {p.get("fill") for p in areas["1"]} == {COLOURS[-1]}
    assert {p.get("fill") for p in areas["3"]} == {NO_DATA}
    bangkok = [p.find(f"{SVG}title") for p in areas["1"]]
    assert any(
        t is not None and t.text == "Region <1> & Bangkok · กรุงเทพมหานคร: 100.00 %" for t in bangkok
    )
    links = list(tree.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/coaching/dashboard?cluster=2&fiscal_year=2568"]
    labels = {t.text for t in tree.iter(f"{SVG}text")}
    assert {str(n) for n in range(1, 19)} <= labels


def test_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        choropleth_svg({}, by="cluster")
    with pytest.raises(ValueError):
        choropleth_svg({}, by="amphoe")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        choropleth_svg({}, by="province", breaks=(0.5,), colours=("#fff",))


def test_projection_fits_the_width_and_cluster_outlines_are_cached() -> None:
    frame = fit((97.0, 5.0, 106.0, 21.0), 360)
    x0, y0 = frame.xy(97.0, 21.0)
    x1, y1 = frame.xy(106.0, 5.0)
    assert (round(x0), round(y0)) == (4, 4)
    assert round(x1) == 356 and y1 > x1  # Thailand is taller than wide
    base = projected_basemap(360)
    assert len(base.provinces) == 77 and base.provinces["10"].d.startswith("M")
    groups = (("a", ("10", "11")), ("none", ("zz",)))
    assert group_outlines(360, groups) is group_outlines(360, groups)
    assert set(group_outlines(360, groups)) == {"a"}
