"""`pinmap setup`, the one step `make run` takes before serving: migrate, load, import."""

from __future__ import annotations

from pinmap import create_app
from pinmap.localdb import Cluster

from ..support.app import TEST_CONFIG
from ..support.databases import worker_id
from ..support.paths import PROVINCE_FILE


def test_setup_builds_an_empty_database_then_changes_nothing(pg_cluster: Cluster) -> None:
    url = pg_cluster.up(f"pinmap_setup_{worker_id()}", "pinmap")
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": url})
    try:
        runner = app.test_cli_runner()
        env = {"PINMAP_BOUNDARIES": str(PROVINCE_FILE)}
        first = runner.invoke(args=["setup"], env=env)
        assert first.exit_code == 0, first.output
        assert "schema at head" in first.output and "loaded:" in first.output
        assert "77 province boundaries imported" in first.output
        again = runner.invoke(args=["setup"], env=env)
        assert again.exit_code == 0, again.output
        assert "data unchanged: 18 clusters, 77 provinces, 245 offices" in again.output
        assert "already imported, unchanged" in again.output
        none = runner.invoke(args=["setup"], env={"PINMAP_BOUNDARIES": ""})
        assert none.exit_code == 0 and "PINMAP_BOUNDARIES not set" in none.output
    finally:
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()
