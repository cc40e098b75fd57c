"""OBEC's reports as documents, /reports: an office's, a cluster's and the nation's summary of a
round as PDF and XLSX, and the progress reports as CSV/XLSX."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")
from . import documents, exports  # noqa: E402,F401
