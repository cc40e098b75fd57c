"""A database with the schema and the reference data, on a local cluster, for tests and benches."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from .cli import run_migrations
from .config import PROJECT_ROOT
from .db import make_engine
from .localdb import Cluster
from .services.dataload import load, parse_data_dir


def prepared_database(cluster: Cluster, name: str) -> str:
    """Create `name` on `cluster`, migrate it to head and load data/*.csv; return its URL."""
    url = cluster.up(name, "pinmap")
    run_migrations(url)
    engine = make_engine(url)
    try:
        with sessionmaker(bind=engine).begin() as session:
            load(session, parse_data_dir(PROJECT_ROOT / "data"))
    finally:
        engine.dispose()
    return url
