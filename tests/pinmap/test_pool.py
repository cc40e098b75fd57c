"""The connection pool: sized from the settings, and a request that finds no free connection in
time is a 503 with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine

from pinmap import create_app
from pinmap.config import from_env
from pinmap.db import pool_options

from ..support.app import TEST_CONFIG


def test_pool_settings_come_from_the_environment() -> None:
    defaults = pool_options(from_env({}))
    assert defaults == {"pool_size": 10, "max_overflow": 5, "pool_timeout": 30.0}
    env = {
        "PINMAP_DB_POOL_SIZE": "3",
        "PINMAP_DB_MAX_OVERFLOW": "0",
        "PINMAP_DB_POOL_TIMEOUT": "2.5",
    }
    assert pool_options(from_env(env)) == {"pool_size": 3, "max_overflow": 0, "pool_timeout": 2.5}


def _engine(app: Flask) -> Engine:
    return app.extensions["pinmap"]["session_factory"].kw["bind"]  # type: ignore[no-any-return]


@pytest.fixture
def one_connection_app(database_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_URL": database_url,
            "PINMAP_DB_POOL_SIZE": 1,
            "PINMAP_DB_MAX_OVERFLOW": 0,
            "PINMAP_DB_POOL_TIMEOUT": 0.2,
        }
    )
    yield app
    _engine(app).dispose()


def test_the_app_pool_is_sized_by_the_settings(one_connection_app: Flask) -> None:
    pool = _engine(one_connection_app).pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (1, 0, 0.2)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "json"), [("/api/v1/offices/spp-krabi", True), ("/offices/spp-krabi", False)]
)
def test_no_free_connection_is_a_503_with_retry_after(
    one_connection_app: Flask, path: str, json: bool
) -> None:
    client = one_connection_app.test_client()
    assert client.get(path).status_code == 200
    with _engine(one_connection_app).connect():  # the only connection, held elsewhere
        r = client.get(path, headers={"Accept-Language": "en"})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    if json:
        assert r.get_json() == {"status": 503, "message": "The service is unavailable right now."}
    else:
        assert "ขณะนี้ระบบไม่พร้อมให้บริการ" in r.get_data(as_text=True)  # pages are Thai
    assert client.get(path).status_code == 200  # served again once a connection is free
