"""argon2id at a test's cost. Production hashing (64 MiB, 3 passes, 4 lanes) takes ~0.13 s of
CPU a hash or a check; the tests that make many users or sign in often check pages and rights,
not the cost, so they hash at the lowest cost argon2id allows. A check reads the cost from the
stored hash, so a user made either way can sign in either way.
tests/pinmap/test_signin_security.py keeps the production cost where the cost is the point."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher

from pinmap.services import accounts

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024)


@contextmanager
def cheap_hashing() -> Iterator[None]:
    """Passwords hashed at the test cost until the block ends."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", CHEAP)
        yield
