"""The configuration every test app starts from."""

from __future__ import annotations

TEST_CONFIG = {"TESTING": True, "PINMAP_TILES": "", "SECRET_KEY": "test"}
