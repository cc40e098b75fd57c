"""Ingest source configuration: validation, seeding from a JSON file, listing for the scheduler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import SOURCE_KINDS, IngestSource

from .clients import CREDENTIAL_PREFIXES, DEFAULT_RETRY_DELAY, credential_name_ok

MAX_MAX_BYTES = 200 * 1024 * 1024
# The first back-off after a failed request (options.retry_delay; ingest/CONTRACTS.md): at
# least 10 ms, so a source can never make the client hammer its upstream in a tight loop.
RETRY_DELAY_RANGE = (0.01, 60.0)

FIELDS = (
    "kind",
    "url",
    "credentials_env",
    "interval_seconds",
    "cron",
    "timeout_seconds",
    "options",
    "pre_approved",
    "enabled",
)


class SourceError(ValueError):
    """A source definition is invalid; the message names the source and the field."""


def validate(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    def bad(field: str, why: str) -> SourceError:
        return SourceError(f"source {name!r}: {field}: {why}")

    if not name or len(name) > 100:
        raise bad("name", "1 to 100 characters")
    if spec.get("kind") not in SOURCE_KINDS:
        raise bad("kind", f"one of {', '.join(SOURCE_KINDS)}")
    url = str(spec.get("url", ""))
    if not url.startswith(("http://", "https://")):
        raise bad("url", "must start with http:// or https://")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise bad("url", str(exc)) from exc
    if "@" in parts.netloc:
        # A password in the URL would be stored, shown and logged: secrets go in the environment.
        raise bad(
            "url",
            "must not contain a user name or password (user:pass@); put the secret "
            "in an environment variable and give its name in credentials_env",
        )
    if not parts.hostname or not port_ok:
        raise bad("url", "needs a host")
    interval, cron = spec.get("interval_seconds"), str(spec.get("cron") or "")
    if (interval is None) == (not cron):
        raise bad("schedule", "give exactly one of interval_seconds and cron")
    if interval is not None and (not isinstance(interval, int) or interval < 10):
        raise bad("interval_seconds", "a whole number of seconds, at least 10")
    if cron:
        try:
            CronTrigger.from_crontab(cron, timezone="Asia/Bangkok")
        except ValueError as exc:
            raise bad("cron", str(exc)) from exc
    timeout = spec.get("timeout_seconds", 30)
    if not isinstance(timeout, int | float) or not 1 <= timeout <= 3600:
        raise bad("timeout_seconds", "1 to 3600")
    env = str(spec.get("credentials_env") or "")
    if env and not credential_name_ok(env):
        raise bad(
            "credentials_env",
            f"the NAME of an environment variable starting with {' or '.join(CREDENTIAL_PREFIXES)}"
            " (capitals, digits, _); never a secret, nor one of the app's own settings",
        )
    options = spec.get("options") or {}
    if not isinstance(options, dict):
        raise bad("options", "an object")
    max_bytes = options.get("max_bytes", 1)
    if (
        isinstance(max_bytes, bool)
        or not isinstance(max_bytes, int)
        or not (1 <= max_bytes <= MAX_MAX_BYTES)
    ):
        raise bad("options.max_bytes", f"a whole number of bytes, 1 to {MAX_MAX_BYTES}")
    request_timeout = options.get("request_timeout", 1)
    if (
        isinstance(request_timeout, bool)
        or not isinstance(request_timeout, int | float)
        or not (0.1 <= request_timeout <= 3600)
    ):
        raise bad("options.request_timeout", "0.1 to 3600 seconds")
    retry_delay = options.get("retry_delay", DEFAULT_RETRY_DELAY)
    low, high = RETRY_DELAY_RANGE
    if (
        isinstance(retry_delay, bool)
        or not isinstance(retry_delay, int | float)
        or not (low <= retry_delay <= high)
    ):
        raise bad("options.retry_delay", f"{low} to {high:g} seconds")
    if options.get("demo") and not name.startswith("demo-"):
        # Demo data is labelled by its source name everywhere it is shown.
        raise bad("name", "a source of generated demo data must be named demo-…")
    return {
        "kind": spec["kind"],
        "url": url,
        "credentials_env": env,
        "interval_seconds": interval,
        "cron": cron,
        "timeout_seconds": float(timeout),
        "options": options,
        "pre_approved": bool(spec.get("pre_approved", False)),
        "enabled": bool(spec.get("enabled", True)),
    }


def upsert(session: Session, name: str, spec: dict[str, Any]) -> tuple[IngestSource, bool]:
    values = validate(name, spec)
    source = session.scalars(select(IngestSource).filter_by(name=name)).first()
    created = source is None
    if source is None:
        source = IngestSource(name=name, **values)
        session.add(source)
    else:
        for key, value in values.items():
            setattr(source, key, value)
    session.flush()
    return source, created


def load_file(session: Session, path: Path) -> list[tuple[str, bool]]:
    """Seed sources from `{"sources": {"<name>": {...}}}`; all or nothing."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: {exc}") from exc
    sources = doc.get("sources") if isinstance(doc, dict) else None
    if not isinstance(sources, dict):
        raise SourceError(f"{path}: expected an object with a 'sources' object")
    return [(name, upsert(session, name, spec)[1]) for name, spec in sources.items()]


def enabled_sources(session: Session) -> list[IngestSource]:
    return list(
        session.scalars(select(IngestSource).filter_by(enabled=True).order_by(IngestSource.name))
    )
