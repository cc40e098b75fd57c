"""The reporting-windows NOTIFY migration: a write to reporting_windows moves the public data's
generation (the map keeps its round selector under it); down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.live import PUBLIC_DATA_CHANNEL
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

REVISION = "e3a7c5d9b214"


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _notified(engine: sa.Engine) -> list[str]:
    """The public-data notifications an update of one reporting window sends."""
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        pg.autocommit = True
        pg.execute(f"LISTEN {PUBLIC_DATA_CHANNEL}")
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE reporting_windows SET label_en = label_en"))
        pg.execute("SELECT 1")  # delivers what arrived meanwhile
        return [n.payload for n in pg.notifies(timeout=1, stop_after=1)]
    finally:
        raw.close()


def test_reporting_windows_notify_and_the_migration_goes_down_and_up(
    pg_cluster: Cluster,
) -> None:
    url = prepared_database(pg_cluster, "pinmap_windows_notify")
    engine = make_engine(url)
    try:
        assert _notified(engine) == ["reporting_windows"]
        command.downgrade(_alembic(url), f"{REVISION}-1")
        engine.dispose()
        assert _notified(engine) == []
        command.upgrade(_alembic(url), "head")
        engine.dispose()
        assert _notified(engine) == ["reporting_windows"]
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
