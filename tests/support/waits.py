"""Waiting on a condition, not for a fixed time a busy machine can outrun."""

from __future__ import annotations

import time
from collections.abc import Callable


def until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Whether `check()` came true within `timeout` seconds; returns as soon as it does (the
    limit only has to outlast a loaded machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()
