"""Clusters and the coaching year under /coaching: clusters (a cluster's page, moving offices),
dashboard (OBEC), rounds (monitoring rounds, statuses, sessions, evaluation) and plans (the
visit planner); common holds what they share. Their /api/v1 routes are in pinmap/api/coaching.py.
"""

from flask import Blueprint

bp = Blueprint("coaching", __name__, url_prefix="/coaching")

from . import clusters, common, dashboard, plans, rounds  # noqa: E402,F401
