"""The review desks under /review (reviewers and admins): progress reports in progress, office
profiles, best practices and operating plans in profiles."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from . import profiles, progress  # noqa: E402,F401
