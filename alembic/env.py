"""Alembic environment: migrates the database named by DATABASE_URL (or a connection passed in)."""

from __future__ import annotations

from logging.config import fileConfig

from geoalchemy2 import alembic_helpers
from sqlalchemy import pool

from alembic import context
from pinmap import models  # noqa: F401  (its __init__ imports every domain module: all tables)
from pinmap.config import from_env
from pinmap.db import Base, make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata

# Tables PostGIS itself owns, which autogenerate must leave alone.
_POSTGIS_TABLES = {"spatial_ref_sys"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and name in _POSTGIS_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or from_env()["SQLALCHEMY_URL"]
    if not url:
        raise SystemExit("No database: set DATABASE_URL or run `make db` to start the local one.")
    engine = make_engine(str(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
run_migrations_online()
