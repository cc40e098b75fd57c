"""SQLAlchemy engine, session factory and the per-request session; no Flask import at module level.

Views commit once at the end; services only add and flush; jobs and CLI commands use
`with factory.begin():`. The app keeps its factory in `app.extensions["pinmap"]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

if TYPE_CHECKING:
    from flask import Flask


class Base(DeclarativeBase):
    pass


def make_engine(url: str, **kwargs: object) -> Engine:
    return create_engine(url, pool_pre_ping=True, **kwargs)


def pool_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The connection pool's size, overflow and wait limit from the app's settings."""
    return {
        "pool_size": int(config["PINMAP_DB_POOL_SIZE"]),
        "max_overflow": int(config["PINMAP_DB_MAX_OVERFLOW"]),
        "pool_timeout": float(config["PINMAP_DB_POOL_TIMEOUT"]),
    }


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_session() -> Session:
    """The session for this app context (flaskr's get_db with a SQLAlchemy Session)."""
    from flask import current_app, g

    if "db_session" not in g:
        g.db_session = current_app.extensions["pinmap"]["session_factory"]()
    return g.db_session


def _close_session(exc: BaseException | None = None) -> None:
    from flask import g

    session = g.pop("db_session", None)
    if session is not None:
        # Anything a view left uncommitted is discarded, never half-written.
        session.rollback()
        session.close()


def init_app(app: Flask, session_factory: sessionmaker[Session]) -> None:
    app.extensions["pinmap"] = {"session_factory": session_factory}
    app.teardown_appcontext(_close_session)
