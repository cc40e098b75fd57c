"""WSGI entry point for gunicorn: `gunicorn pinmap.wsgi:app`."""

from . import create_app

app = create_app()
