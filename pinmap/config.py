"""Reads pinmap's settings from the environment: the only module that looks at os.environ."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Seconds the live-update listener (pinmap.live) waits before it tries the database again
# after losing it: the first retry, doubling up to PINMAP_LISTEN_RETRY_MAX. Short retries find
# a restarted database sooner (the tests restart one); long ones spare a database that is down.
LISTEN_RETRY_RANGE = (0.01, 300.0)
LISTEN_RETRY, LISTEN_RETRY_MAX = 0.5, 10.0  # the defaults


def _retry_seconds(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    """`name` from `env` as seconds within LISTEN_RETRY_RANGE; a clear error otherwise."""
    raw = env.get(name)
    lo, hi = LISTEN_RETRY_RANGE
    try:
        value = default if raw is None or raw.strip() == "" else float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not lo <= value <= hi:  # also false for nan
        raise ValueError(f"{name} must be between {lo} and {hi} seconds, not {raw!r}")
    return value


def _read_secret_file(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def from_env(env: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables.

    `DATABASE_URL` wins; otherwise the embedded cluster's URL written by `make run` under var/.
    `SECRET_KEY` has no fixed default: `make run` writes a random one to var/secret_key, which
    every worker reads (sessions and CSRF tokens must verify in all of them). Without either,
    each process makes up its own, which only suits a single process.
    """
    env = os.environ if env is None else env
    var_dir = Path(env.get("PINMAP_VAR_DIR", PROJECT_ROOT / "var"))
    return {
        "SQLALCHEMY_URL": env.get("DATABASE_URL") or _read_secret_file(var_dir / "db.url"),
        "SECRET_KEY": env.get("SECRET_KEY")
        or _read_secret_file(var_dir / "secret_key")
        or secrets.token_hex(32),
        "PINMAP_TILES": env.get("PINMAP_TILES", ""),
        "PINMAP_TILES_ATTRIBUTION": env.get("PINMAP_TILES_ATTRIBUTION", ""),
        "PINMAP_DATA_DIR": env.get("PINMAP_DATA_DIR", str(PROJECT_ROOT / "data")),
        "PINMAP_BOUNDARIES": env.get("PINMAP_BOUNDARIES", ""),
        "BABEL_DEFAULT_LOCALE": env.get("PINMAP_DEFAULT_LOCALE", "th"),
        "PINMAP_UPLOAD_DIR": env.get("PINMAP_UPLOAD_DIR", str(var_dir / "uploads")),
        "PINMAP_MAX_UPLOAD_BYTES": int(env.get("PINMAP_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)),
        # Number of reverse proxies in front (load balancer): their X-Forwarded-For is trusted.
        "PINMAP_PROXIES": int(env.get("PINMAP_PROXIES", "0")),
        # Behind HTTPS set PINMAP_SECURE_COOKIES=1: browsers then never send the session
        # cookie over plain HTTP.
        # How often a waiting ingestion scheduler retries the leader lock (seconds).
        "PINMAP_INGEST_POLL": float(env.get("PINMAP_INGEST_POLL", "5")),
        "SESSION_COOKIE_SECURE": env.get("PINMAP_SECURE_COOKIES", "0") == "1",
        # Database connections per process. A gevent worker serves thousands of greenlets (open
        # maps hold none); the pool bounds how many run a transaction at once, and the others
        # wait for a connection holding nothing in the database. 10 + 5 keep one worker's CPU
        # busy with room for slow commits; 2 workers then use 30 of PostgreSQL's default 100
        # connections (each process also holds one LISTEN connection).
        "PINMAP_DB_POOL_SIZE": int(env.get("PINMAP_DB_POOL_SIZE", "10")),
        "PINMAP_DB_MAX_OVERFLOW": int(env.get("PINMAP_DB_MAX_OVERFLOW", "5")),
        # Seconds a request waits for a connection before it is answered 503 with Retry-After.
        # Requests queue here, holding nothing in the database; under the load benchmark (265
        # writers on a shared 2-core machine) the slowest waited about 15 s, so 15 turned
        # some into 503s. 30 s is about when a browser or client gives up anyway.
        "PINMAP_DB_POOL_TIMEOUT": float(env.get("PINMAP_DB_POOL_TIMEOUT", "30")),
        "BABEL_DEFAULT_TIMEZONE": "Asia/Bangkok",
        # PINMAP_API_CACHE=0 switches off the per-process cache of the public API bodies
        # (pinmap.apicache); the load benchmark measures with and without it.
        "PINMAP_API_CACHE": env.get("PINMAP_API_CACHE", "1") != "0",
        # See LISTEN_RETRY_RANGE: 0.5 s, then 1, 2, 4, 8, 10, 10... while the database is away.
        "PINMAP_LISTEN_RETRY": _retry_seconds(env, "PINMAP_LISTEN_RETRY", LISTEN_RETRY),
        "PINMAP_LISTEN_RETRY_MAX": _retry_seconds(env, "PINMAP_LISTEN_RETRY_MAX", LISTEN_RETRY_MAX),
        **mail_settings(env),
    }


def mail_settings(env: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """SMTP settings (pinmap.mail). With no PINMAP_SMTP_HOST, no mail is sent: passwords are
    then reset by an admin only, and the sign-in page offers no e-mail link."""
    security = env.get("PINMAP_SMTP_SECURITY", "starttls").strip().lower()
    return {
        "PINMAP_SMTP_HOST": env.get("PINMAP_SMTP_HOST", "").strip(),
        "PINMAP_SMTP_PORT": int(env.get("PINMAP_SMTP_PORT", "465" if security == "ssl" else "587")),
        # "starttls" (port 587), "ssl" (implicit TLS, port 465) or "none" (a relay on this host).
        "PINMAP_SMTP_SECURITY": security if security in ("starttls", "ssl", "none") else "starttls",
        "PINMAP_SMTP_USER": env.get("PINMAP_SMTP_USER", ""),
        "PINMAP_SMTP_PASSWORD": env.get("PINMAP_SMTP_PASSWORD", ""),
        "PINMAP_MAIL_FROM": env.get("PINMAP_MAIL_FROM", "pinmap@localhost"),
        "PINMAP_SMTP_TIMEOUT": float(env.get("PINMAP_SMTP_TIMEOUT", "10")),
        # Where links in e-mails point (https://pinmap.obec.go.th); else the request's own host.
        "PINMAP_BASE_URL": env.get("PINMAP_BASE_URL", "").rstrip("/"),
    }
