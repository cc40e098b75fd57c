"""The review desks under /review (reviewers and admins): progress reports in progress, office
profiles, best practices and operating plans in profiles, quarterly
project reports in projects."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from . import bulk, profiles, progress, projects  # noqa: E402,F401
