"""Files the tests read: committed under tests/fixtures, never from outside the repository."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Province polygons for the tests that need outlines; see tests/fixtures/boundaries/README.md
# for where they come from and how they are built.
PROVINCE_FILE = FIXTURES / "boundaries" / "provinces.geojson"
# 928 SYNTHETIC districts cut from those provinces, written at test time by the script beside
# tests/fixtures/amphoe/README.md (no admin-2 data set is reachable through the registries).
AMPHOE_SCRIPT = FIXTURES / "amphoe" / "build_amphoes.py"
