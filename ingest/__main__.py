"""`python -m ingest`: the ingestion scheduler as its own process (no Flask app, no web server)."""

from __future__ import annotations

import logging
import sys

from pinmap.config import from_env
from pinmap.db import make_engine, make_session_factory

from .scheduler import main


def _run() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = from_env()
    url = config["SQLALCHEMY_URL"]
    if not url:
        print("error: no database; set DATABASE_URL or run `make run` first", file=sys.stderr)
        return 1
    engine = make_engine(str(url))
    dsn = str(url).replace("postgresql+psycopg://", "postgresql://", 1)
    main(make_session_factory(engine), dsn, poll=float(config["PINMAP_INGEST_POLL"]))
    return 0


if __name__ == "__main__":
    sys.exit(_run())
