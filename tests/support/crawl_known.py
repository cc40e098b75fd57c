"""Findings of the crawler (tests/pinmap/test_crawl.py) known and not fixed yet, each with why:
(endpoint, what the finding says before the text it was found in). The crawl fails on any finding
not listed here, and on an entry that no longer matches anything, so the list only shrinks."""

from __future__ import annotations

KNOWN: dict[tuple[str, str], str] = {}
