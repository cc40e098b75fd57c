"""Files the tests read: committed under tests/fixtures, never from outside the repository."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Province polygons for the tests that need outlines; see tests/fixtures/boundaries/README.md
# for where they come from and how they are built.
PROVINCE_FILE = FIXTURES / "boundaries" / "provinces.geojson"
# Thailand's 928 districts: no public admin-2 source is reachable through the package
# registries, so the one test of a district import reads the project's reference copy beside
# the repository, and is the one test that skips without it.
AMPHOE_FILE = (
    FIXTURES.parents[2] / "shared" / "reference" / "boundaries" / "mapthai_th_adm2.geojson"
)
