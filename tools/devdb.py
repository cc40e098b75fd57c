"""Throwaway databases for tests and benchmarks, made the one way the product makes them."""

from __future__ import annotations

from pinmap import create_app
from pinmap.localdb import Cluster


def run_setup(url: str) -> None:
    """Run `pinmap setup` (migrate, load data/, no boundaries) against `url`, in this process:
    the same command `make run` runs, so a test database cannot drift from a real one."""
    app = create_app({"SQLALCHEMY_URL": url, "SECRET_KEY": "dev", "PINMAP_TILES": ""})
    try:
        result = app.test_cli_runner().invoke(args=["setup"], env={"PINMAP_BOUNDARIES": ""})
        if result.exit_code != 0:
            raise RuntimeError(
                f"pinmap setup failed: {result.exception!r}\n{result.output}"
            ) from result.exception
    finally:
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()


def prepared_database(cluster: Cluster, name: str) -> str:
    """Create `name` on `cluster` (started if need be) and run `pinmap setup` on it; its URL."""
    url = cluster.up(name, "pinmap")
    run_setup(url)
    return url
