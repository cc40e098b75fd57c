"""The authorization matrix (rows in tests/support/authz_matrix.py): each row's cells for every
kind of user, and `test_every_write_route_has_a_row`, which walks the URL map, so a new write
route fails CI until it gets a row or a commented place in NO_AUTHZ_NEEDED.

Speed: one test per row; the row's state is built once, and each cell runs inside a savepoint
within it that is rolled back, so the state is built once per row, not once per cell. The
world, the coach, the rounds and the app are built once for the module (tests/support/
module_ctx.py) and each row runs in a savepoint of that transaction, rolled back after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..support.authz_matrix import NO_AUTHZ_NEEDED, ROWS, Ctx, Row, run_row
from ..support.module_ctx import build_module_ctx, per_test_ctx
from ..support.portal import WorldRows


@pytest.fixture(scope="module")
def module_ctx(
    world_engine: Engine, world_database: WorldRows, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Ctx, sessionmaker[Session]]]:
    yield from build_module_ctx(
        world_engine, world_database, tmp_path_factory.mktemp("matrix") / "uploads"
    )


@pytest.fixture
def ctx(
    module_ctx: tuple[Ctx, sessionmaker[Session]], world_database: WorldRows, tmp_path: Path
) -> Iterator[Ctx]:
    yield from per_test_ctx(module_ctx, world_database, tmp_path / "uploads")


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_authorization_matrix(ctx: Ctx, row: Row) -> None:
    failures = run_row(ctx, row)
    assert not failures, f"{row.name} ({row.method} {row.rule}):\n" + "\n".join(failures)


def test_every_write_route_has_a_row(app: Flask) -> None:
    covered = {(row.method, row.rule) for row in ROWS}
    missing = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}):
            key = (method, rule.rule)
            if key not in covered and key not in NO_AUTHZ_NEEDED:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "write routes with no authorization row:\n" + "\n".join(missing)
    stale = (covered | set(NO_AUTHZ_NEEDED)) - {
        (m, r.rule) for r in app.url_map.iter_rules() for m in (r.methods or ())
    }
    assert not stale, f"rows for routes that no longer exist: {sorted(stale)}"
