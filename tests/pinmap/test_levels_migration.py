"""The level-scales migration: down to the revision before removes both tables, up again
creates them with their checks (range, positions, categories) and the cascade to levels."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

import pinmap.models  # noqa: F401  (registers every table on Base.metadata)
from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import Base, make_engine
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

BEFORE = "e3b7c1d5a902"
TABLES = {"level_scales", "performance_levels"}
SCALE = (
    "INSERT INTO level_scales (fiscal_year, category, indicator, range_min, range_max, "
    "source_note, verified) VALUES (2567, :cat, '', :lo, :hi, '', false) RETURNING id"
)
LEVEL = (
    "INSERT INTO performance_levels (scale_id, position, name_th, name_en, min_value) "
    "VALUES (:s, :p, 'ดี', 'Good', 0)"
)


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _table_of(diff: Any) -> str | None:
    """The table an autogenerate difference is about (a tuple, or a list of column changes)."""
    first = diff[0] if isinstance(diff, list) else diff
    for part in first[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if isinstance(part, str) and part in TABLES:
            return part
        if name in TABLES:
            return str(name)
    return None


def test_level_tables_go_down_and_come_back_with_their_checks(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_levels_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert not inspector.has_table("level_scales")
            assert not inspector.has_table("performance_levels")
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            # The migration builds what the models declare (no difference autogenerate sees).
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            ours = [d for d in diff if _table_of(d) in TABLES]
            assert ours == []
        with engine.begin() as conn:
            scale = conn.execute(sa.text(SCALE), {"cat": "policy", "lo": 0, "hi": 100}).scalar()
            conn.execute(sa.text(LEVEL), {"s": scale, "p": 1})
        for sql, params in (
            (SCALE, {"cat": "policy", "lo": 0, "hi": 100}),  # the same key twice
            (SCALE, {"cat": "nope", "lo": 0, "hi": 100}),
            (SCALE.replace("2567", "2568"), {"cat": "policy", "lo": 5, "hi": 5}),
            (LEVEL, {"s": scale, "p": 1}),  # the same position twice
            (LEVEL, {"s": scale, "p": 11}),
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(sa.text(sql), params)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM level_scales WHERE id = :s"), {"s": scale})
            assert conn.execute(sa.text("SELECT count(*) FROM performance_levels")).scalar() == 0
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
