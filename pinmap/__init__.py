"""pinmap: the OBEC ESA monitoring pin-board. `create_app` builds the Flask app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.orm import Session, sessionmaker

from . import db, inputs
from .config import PROJECT_ROOT, from_env


def create_app(
    config: dict[str, Any] | None = None,
    session_factory: sessionmaker[Session] | None = None,
) -> Flask:
    """Build the app from the environment, overridden by `config`.

    Tests pass `session_factory` bound to a connection in a transaction they roll back.
    """
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(from_env())
    app.config.update(
        API_TITLE="pinmap API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_AS_ASCII=False,
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/geo+json",
            "image/svg+xml",
        ],
        COMPRESS_ALGORITHM=["gzip"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    if config:
        app.config.update(config)
    if isinstance(app.json, DefaultJSONProvider):
        app.json.ensure_ascii = False  # Thai text as itself in JSON, not \u escapes
    upload_dir = Path(str(app.config["PINMAP_UPLOAD_DIR"]))
    app.config["PINMAP_UPLOAD_DIR_PATH"] = upload_dir
    # The whole request may hold one file plus a few form fields.
    app.config.setdefault("MAX_CONTENT_LENGTH", app.config["PINMAP_MAX_UPLOAD_BYTES"] + 64 * 1024)
    if app.config["PINMAP_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PINMAP_PROXIES"])
        # Flask's documented way to add WSGI middleware is to replace this method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    # Tests that pass a factory hold one transaction they roll back: nothing they write is ever
    # committed or NOTIFYed, so a cache of public bodies would go stale. Only our own engine.
    own_engine = session_factory is None
    if session_factory is None:
        url = app.config.get("SQLALCHEMY_URL")
        if not url:
            raise RuntimeError(
                "No database configured: set DATABASE_URL, or run `make run` for the local one."
            )
        engine = db.make_engine(str(url), **db.pool_options(app.config))
        session_factory = db.make_session_factory(engine)
    db.init_app(app, session_factory)

    # First: bounds the <int:> converter before any route is added, and its request checks
    # run before every other before_request hook.
    inputs.init_app(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    if own_engine:
        from . import apicache

        apicache.init_app(app, session_factory)
    return app


def register_extensions(app: Flask) -> None:
    from . import assets, headers, security
    from .extensions import babel, compress
    from .i18n import register_filters, select_locale

    headers.init_app(app)  # first: its nonce must exist before any other hook can fail
    babel.init_app(app, locale_selector=select_locale)
    compress.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    register_filters(app)

    @app.after_request  # registered after Compress, so it runs before Compress's hook
    def buffer_static_text(response: Response) -> Response:
        # flask-compress gzips a streamed file response chunk by chunk and never closes the
        # file (one leaked descriptor per request). Our text assets are small: read them
        # into memory so they take its buffered path, which closes the file.
        if (
            request.endpoint == "static"
            and response.status_code == 200
            and response.direct_passthrough
            and response.mimetype in app.config["COMPRESS_MIMETYPES"]
        ):
            response.direct_passthrough = False
            response.get_data()
        return response


def register_blueprints(app: Flask) -> None:
    """One blueprint a URL prefix, and one package a blueprint (see README, "What is here")."""
    from .admin import bp as admin_bp
    from .api import register_api
    from .coaching import bp as coaching_bp
    from .help import bp as help_bp
    from .portal import bp as portal_bp
    from .public import bp as public_bp
    from .reports import bp as reports_bp
    from .review import bp as review_bp

    app.register_blueprint(public_bp)  # /, /offices, /best-practices, /photos, /exports, /lang
    app.register_blueprint(portal_bp)  # /portal
    app.register_blueprint(review_bp)  # /review
    app.register_blueprint(coaching_bp)  # /coaching
    app.register_blueprint(admin_bp)  # /admin
    app.register_blueprint(help_bp)  # /help
    app.register_blueprint(reports_bp)  # /reports
    register_api(app)  # /api/v1, /healthz


def register_errorhandlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from marshmallow import ValidationError
    from sqlalchemy.exc import DataError, IntegrityError, OperationalError
    from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
    from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
    from werkzeug.exceptions import HTTPException

    from .errors import (
        handle_concurrent_write,
        handle_csrf_error,
        handle_data_error,
        handle_database_down,
        handle_http_exception,
        handle_integrity_error,
        handle_pool_timeout,
        handle_service_error,
        handle_validation_error,
    )
    from .services.errors import ServiceError

    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(SQLAlchemyTimeoutError, handle_pool_timeout)
    # Backstops: no input, and no race between two requests, may end in a 500.
    app.register_error_handler(StaleDataError, handle_concurrent_write)
    app.register_error_handler(ObjectDeletedError, handle_concurrent_write)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(ValidationError, handle_validation_error)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
