"""The office portal under /portal: signing in, and each office's own work, a module a subject.

account (sign-in, password), progress (reports and evidence), profile, schools, results,
best_practices, operating_plan, projects (quarterly project reports), coaching (what coaching
brought the office); common holds what they share.
"""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")

from . import (  # noqa: E402,F401
    account,
    assignments,
    best_practices,
    bulk,
    coaching,
    inbox,
    operating_plan,
    profile,
    progress,
    projects,
    results,
    schools,
)
