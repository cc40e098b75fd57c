"""Waiting on the page for conditions, not for fixed times a busy machine can outrun."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page


@dataclass
class LiveServer:
    """The app served on its own database for the browser tests (tests/browser/conftest.py)."""

    url: str
    database_url: str
    boundaries: bool


@dataclass
class Watched:
    """A page with what it requested and the errors and dialogues it showed."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


# Milliseconds. Every wait returns as soon as its condition holds; the limit only has to outlast
# a machine busy with other work (Chromium then needs seconds for what takes milliseconds idle).
WAIT_MS = 30_000


def settled(page: Page, expression: str, timeout_ms: float = WAIT_MS) -> Any:
    """The value of `expression` once two reads 200 ms apart agree (an animation has ended)."""
    deadline = time.monotonic() + timeout_ms / 1000
    last = page.evaluate(expression)
    while True:
        page.wait_for_timeout(200)
        now = page.evaluate(expression)
        if now == last:
            return now
        assert time.monotonic() < deadline, f"{expression} never settled"
        last = now


def stream_open(page: Page, timeout_ms: float = WAIT_MS) -> None:
    """Until the page's live event stream is open."""
    page.wait_for_function(
        "() => window.PinMap && PinMap.source && PinMap.source.readyState === EventSource.OPEN",
        timeout=timeout_ms,
    )
