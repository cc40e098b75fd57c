"""The JSON API under /api/v1 (flask-smorest: the OpenAPI document is generated from the code)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .schemas import ErrorSchema


class PinmapApi(Api):
    """The document describes the errors we send (errors.json_error), not flask-smorest's."""

    ERROR_SCHEMA = ErrorSchema


def register_api(app: Flask) -> Api:
    from ..security import SECURITY_SCHEMES
    from .assignments import bp as assignments_api_bp
    from .best_practices import bp as best_practices_api_bp
    from .bulk import bp as bulk_api_bp
    from .coaching import bp as coaching_api_bp
    from .help import bp as help_api_bp
    from .levels import bp as levels_api_bp
    from .live import bp as live_bp
    from .operating_plans import bp as operating_plans_api_bp
    from .profile_parts import bp as profile_parts_api_bp
    from .profiles import bp as profiles_api_bp
    from .progress import bp as progress_bp
    from .projects import bp as projects_api_bp
    from .questions import bp as questions_api_bp
    from .results import bp as results_api_bp
    from .schools import bp as schools_api_bp
    from .search import bp as search_api_bp
    from .views import bp, health_bp

    api = PinmapApi(app)
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    api.register_blueprint(bp)
    api.register_blueprint(progress_bp)
    api.register_blueprint(live_bp)
    api.register_blueprint(coaching_api_bp)
    api.register_blueprint(profiles_api_bp)
    api.register_blueprint(search_api_bp)
    api.register_blueprint(projects_api_bp)
    # Profile parts (issue #12, API parity), one subject per module.
    api.register_blueprint(profile_parts_api_bp)
    api.register_blueprint(schools_api_bp)
    api.register_blueprint(results_api_bp)
    api.register_blueprint(best_practices_api_bp)
    api.register_blueprint(operating_plans_api_bp)
    api.register_blueprint(bulk_api_bp)
    api.register_blueprint(assignments_api_bp)
    api.register_blueprint(help_api_bp)  # the help centre's news and documents (read)
    api.register_blueprint(levels_api_bp)
    api.register_blueprint(health_bp)
    api.register_blueprint(questions_api_bp)
    # flask-smorest installs its own HTTPException handler; ours (JSON with a translated message)
    # is registered afterwards in create_app and so takes precedence.
    return api
