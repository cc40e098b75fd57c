"""The configuration every test app starts from, and one app per process that tests share.

`create_app` costs 0.3-0.5 s of CPU (werkzeug compiles ~190 URL rules, flask-smorest builds the
OpenAPI document), and 600-odd tests take the `app` fixture. Tests differ only in the session
factory (their own rolled-back transaction) and the upload folder (their `tmp_path`), so one app
serves them in turn: before each test its config is put back as `create_app` left it and its
session factory is swapped. A test that changed the app itself (added a URL rule, wrapped the
WSGI app, registered a hook) leaves it "reshaped": the next test then gets a new app, exactly
what it would have got before. So does a change in the environment `create_app` reads.
PINMAP_TEST_FRESH_APP=1 builds a new app for every test, as before (to rule the sharing out).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.config import from_env

TEST_CONFIG = {"TESTING": True, "PINMAP_TILES": "", "SECRET_KEY": "test"}

# Containers the app's setup methods (route, before_request, errorhandler, register_blueprint,
# template_filter...) add to; any change there reshapes the app.
_SETUP_STATE = (
    "view_functions",
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
    "teardown_appcontext_funcs",
    "url_value_preprocessors",
    "url_default_functions",
    "template_context_processors",
    "shell_context_processors",
    "error_handler_spec",
    "blueprints",
)
# Per-request bookkeeping Flask keeps on the app itself: it may change freely between tests.
_VOLATILE = {"_got_first_request"}


def _ids(value: Any) -> Any:
    """Identity of everything a container holds (what was registered, not what it computed).

    Empty mappings do not count: Flask's error-handler lookups fill its defaultdicts with them."""
    if isinstance(value, dict):
        found = ((repr(k), _ids(v)) for k, v in value.items())
        return tuple(sorted((k, v) for k, v in found if v != ()))
    if isinstance(value, list | tuple):
        return tuple(_ids(v) for v in value)
    return id(value)


def _shape(app: Flask) -> Any:
    env = app.jinja_env
    return (
        tuple(_ids(getattr(app, name)) for name in _SETUP_STATE),
        tuple(sorted((k, id(v)) for k, v in vars(app).items() if k not in _VOLATILE)),
        tuple(sorted((r.rule, r.endpoint, id(r)) for r in app.url_map.iter_rules())),
        _ids(app.url_map.converters),
        _ids({k: v for k, v in app.extensions.items() if k != "pinmap"}),
        # Shallow: the globals hold app.config itself, whose values tests may change.
        tuple(sorted((k, id(v)) for k, v in env.globals.items())),
        tuple(sorted((k, id(v)) for k, v in env.filters.items())),
        tuple(sorted((k, id(v)) for k, v in env.tests.items())),
        id(app.json),
        id(app.session_interface),
    )


@dataclass
class _Reusable:
    app: Flask
    env: dict[str, Any]  # what create_app read from the environment (keys not overridden)
    config: dict[str, Any]  # app.config as create_app left it
    shape: Any


# By database URL: the tests that take the portal world use a database of their own.
_reusable: dict[str, _Reusable] = {}
reuse_counts = {"built": 0, "reused": 0}


def _env_read(overrides: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_env().items() if k not in overrides}


def shared_app(config: dict[str, Any], session_factory: sessionmaker[Session]) -> Flask:
    """An app as `create_app(config, session_factory=session_factory)` returns it.

    `config` may differ from the previous call only in PINMAP_UPLOAD_DIR (anything else builds a
    new app)."""
    fixed = {k: v for k, v in config.items() if k != "PINMAP_UPLOAD_DIR"}
    env = _env_read(config)
    r = _reusable.get(str(config.get("SQLALCHEMY_URL")))
    if (
        r is not None
        and not os.environ.get("PINMAP_TEST_FRESH_APP")
        and r.env == env
        and {k: r.config.get(k) for k in fixed} == fixed
        and _shape(r.app) == r.shape
    ):
        app = r.app
        app.config.clear()
        app.config.update(copy.deepcopy(r.config))
        upload_dir = config.get("PINMAP_UPLOAD_DIR", r.config["PINMAP_UPLOAD_DIR"])
        app.config["PINMAP_UPLOAD_DIR"] = upload_dir
        app.config["PINMAP_UPLOAD_DIR_PATH"] = type(r.config["PINMAP_UPLOAD_DIR_PATH"])(
            str(upload_dir)
        )
        # What db.init_app sets: this test's transaction, and nothing a previous test started
        # (a live-stream broker) carried over.
        app.extensions["pinmap"] = {"session_factory": session_factory}
        # Tests may still add routes or hooks before their first request, as on a new app.
        app._got_first_request = False
        reuse_counts["reused"] += 1
        return app
    app = create_app(config, session_factory=session_factory)
    # Built lazily on first use: build them now so that using them does not count as a change.
    _ = app.jinja_env, app.logger, app.jinja_loader, app.name
    pristine = copy.deepcopy(dict(app.config))
    pristine["PINMAP_UPLOAD_DIR"] = config.get("PINMAP_UPLOAD_DIR", pristine["PINMAP_UPLOAD_DIR"])
    _reusable[str(config.get("SQLALCHEMY_URL"))] = _Reusable(app, env, pristine, _shape(app))
    reuse_counts["built"] += 1
    return app
