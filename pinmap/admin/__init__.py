"""Admin pages: the admin home, users, reporting windows, the catalogue, audit log, ingestion."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import framework, home, ingest, outbox, views  # noqa: E402,F401
