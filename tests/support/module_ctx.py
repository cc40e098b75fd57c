"""The authorization matrix's context (tests/support/authz_matrix.py, `ctx`) built once per test
module instead of once per test, for the modules that run many tests on it (the matrix's rows,
the form fuzzer's forms).

What each test gets is what `ctx` gave it: the portal world with a coach, the monitoring rounds,
the users' session epochs and the own office's pin, in a transaction of the world's database, and
an upload folder of its own. The module's transaction holds that state; each test runs in a
savepoint of it that is rolled back, so every test starts from the same rows, as when each
built them again in a transaction of its own (the matrix's rows and the fuzzer's forms already
build their own state in savepoints inside it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from pinmap.config import PROJECT_ROOT
from pinmap.services import coaching as coaching_svc

from .app import TEST_CONFIG, shared_app
from .authz_matrix import Ctx
from .databases import rolled_back
from .passwords import cheap_hashing
from .portal import OWN, WorldRows, add_coach, no_csrf, world_of


def _config(rows: WorldRows, upload_dir: Path) -> dict[str, object]:
    return {**TEST_CONFIG, "PINMAP_UPLOAD_DIR": str(upload_dir), "SQLALCHEMY_URL": rows.url}


def build_module_ctx(
    engine: Engine, rows: WorldRows, upload_dir: Path
) -> Iterator[tuple[Ctx, sessionmaker[Session]]]:
    """The module's context and the session factory its app uses (a generator fixture body)."""
    with rolled_back(engine) as (conn, factory):
        app = shared_app(_config(rows, upload_dir), factory)
        # As the `cheap_password_hashing` fixture does for each test: the coach's password
        # hash is made at the cost every other test user's is.
        with cheap_hashing():
            with factory() as session:
                # The `world` fixture's objects, then what `ctx` adds to them.
                world = world_of(session, rows)
                add_coach(world, session)
                coaching_svc.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
                session.commit()
                epochs = {who: (u.id, u.session_epoch) for who, u in world.users.items()}
        # Cells talk to the database through the app and raw SQL only: no ORM session may
        # hold a savepoint of its own when a cell's savepoint is rolled back.
        point = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM offices WHERE code = :c"), {"c": OWN}
        ).one()
        yield (
            Ctx(no_csrf(app), world, conn, epochs, (float(point[0]), float(point[1]))),
            factory,
        )


def per_test_ctx(
    module: tuple[Ctx, sessionmaker[Session]],
    rows: WorldRows,
    upload_dir: Path,
) -> Iterator[Ctx]:
    """One test's view of the module's context (a generator fixture body): a savepoint rolled
    back after it, an upload folder of its own, and the app bound to the module's transaction
    again if a test in between took it for its own (the `app` fixture hands one app around)."""
    c, factory = module
    config = _config(rows, upload_dir)
    if c.app.extensions["pinmap"]["session_factory"] is not factory:
        c.app = shared_app(config, factory)
    app: Flask = no_csrf(c.app)
    app.config["PINMAP_UPLOAD_DIR"] = str(upload_dir)
    app.config["PINMAP_UPLOAD_DIR_PATH"] = Path(upload_dir)
    savepoint = c.conn.begin_nested()
    try:
        yield c
    finally:
        savepoint.rollback()
