"""`python -m ingest`: the ingestion scheduler as its own process (no Flask app, no web server)."""

from __future__ import annotations

import argparse
import logging
import sys

from pinmap.config import from_env
from pinmap.db import make_engine, make_session_factory

from .scheduler import main


def _parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python -m ingest",
        description="Run the ingestion scheduler until stopped (SIGTERM or Ctrl-C): it leads when "
        "no other scheduler holds the cluster-wide lock, and runs each enabled source on its "
        "schedule. Settings come from the environment: DATABASE_URL (or the embedded cluster "
        "of `make run`) and PINMAP_INGEST_POLL, the seconds a waiting scheduler waits before "
        "trying to lead again.",
    )


def _run(argv: list[str] | None = None) -> int:
    _parser().parse_args(argv)
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
