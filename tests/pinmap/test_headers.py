"""Security headers: a script policy without 'unsafe-inline', a fresh nonce on every page, and
nothing framing our pages. The browser side (no violation on any page) is in
tests/browser/test_csp_e2e.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.headers import tile_source

from ..support.app import TEST_CONFIG

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER_ATTR = re.compile(r"""<[a-z][^>]*\s(on[a-z]+)\s*=""", re.I)
PAGES = [
    "/",
    "/offices/spp-krabi",
    "/offices",
    "/coaching/clusters/1",
    "/best-practices",
    "/coaching/plans",
    "/coaching/rounds",
    "/portal/login",
    "/offices/nope",
]


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0] not in out, f"{words[0]} twice in {header}"
            out[words[0]] = words[1:]
    return out


def nonce_of(header: str) -> str:
    found = [s for s in directives(header)["script-src"] if s.startswith("'nonce-")]
    assert len(found) == 1, header
    return found[0][len("'nonce-") : -1]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_the_policy_and_its_companions(client: FlaskClient, path: str) -> None:
    r = client.get(path)
    assert r.mimetype == "text/html"
    csp = directives(r.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert "'self'" in csp["script-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'"]  # no tiles configured: nothing from outside at all
    assert not [s for d in csp.values() for s in d if "//" in s or s in ("*", "https:", "http:")]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP, PINMAP_SECURE_COOKIES off


@pytest.mark.parametrize("path", ["/", "/offices/spp-krabi", "/coaching/clusters/3"])
def test_every_inline_script_carries_this_responses_nonce(client: FlaskClient, path: str) -> None:
    seen = set()
    for _ in range(2):
        r = client.get(path)
        nonce = nonce_of(r.headers["Content-Security-Policy"])
        assert len(nonce) >= 22  # at least 128 bits
        seen.add(nonce)
        html = r.get_data(as_text=True)
        tags = SCRIPT_TAG.findall(html)
        inline = [attrs for attrs in tags if "src=" not in attrs]
        assert inline, "a map page has folium's inline scripts"
        for attrs in inline:
            assert f'nonce="{nonce}"' in attrs, attrs
    assert len(seen) == 2, "a nonce is never reused"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_event_handlers_or_javascript_urls(
    client: FlaskClient, path: str
) -> None:
    html = client.get(path).get_data(as_text=True)
    assert not HANDLER_ATTR.search(html), HANDLER_ATTR.search(html)
    assert "javascript:" not in html.lower()


def test_json_and_files_get_the_generic_headers_but_no_page_policy(client: FlaskClient) -> None:
    # A page policy on a file would break the browser's own viewers (Chrome's PDF viewer
    # refuses to load under object-src 'none').
    for path in ("/api/v1/clusters", "/static/js/pinmap.js", "/exports/offices.csv"):
        with client.get(path) as r:
            assert r.status_code == 200, path
            assert "Content-Security-Policy" not in r.headers, path
            assert "X-Frame-Options" not in r.headers, path
            assert r.headers["X-Content-Type-Options"] == "nosniff", path
            assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path


def _app(session_factory: sessionmaker[Session], tmp_path: Path, **config: object) -> Flask:
    return create_app(
        {**TEST_CONFIG, "PINMAP_UPLOAD_DIR": str(tmp_path), **config},
        session_factory=session_factory,
    )


def test_a_configured_tile_host_may_serve_images_and_nothing_else(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    tiles = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    app = _app(session_factory, tmp_path, PINMAP_TILES=tiles)
    r = app.test_client().get("/")
    csp = directives(r.headers["Content-Security-Policy"])
    assert csp["img-src"] == ["'self'", "https://*.tile.example.org", "data:"]
    others = {k: v for k, v in csp.items() if k != "img-src"}
    assert not [s for v in others.values() for s in v if "example.org" in s]
    assert "tile.example.org" in r.get_data(as_text=True)


def test_hsts_only_when_the_deployment_says_it_is_behind_https(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    app = _app(session_factory, tmp_path, SESSION_COOKIE_SECURE=True)
    r = app.test_client().get("/", base_url="https://pinmap.example.go.th")
    assert r.headers["Strict-Transport-Security"] == "max-age=31556926"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    plain = _app(session_factory, tmp_path)
    r = plain.test_client().get("/", base_url="https://pinmap.example.go.th")
    assert "Strict-Transport-Security" not in r.headers
    assert plain.config["SESSION_COOKIE_SECURE"] is False  # headers leave cookie flags alone
    assert plain.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        ("https://tiles.example.go.th:8443/{z}/{x}/{y}.png", "https://tiles.example.go.th:8443"),
        ("http://tiles{s}.example.org/{z}/{x}/{y}.png", "http://*.example.org"),
        ("https://Tiles.Example.org/{z}/{x}/{y}{r}.png", "https://tiles.example.org"),
        ("/tiles/{z}/{x}/{y}.png", None),
    ],
)
def test_tile_source(template: str, source: str | None) -> None:
    assert tile_source(template) == source


@pytest.mark.parametrize(
    "template",
    [
        "javascript:alert(1)",
        "https://a.example.org;script-src *",
        "https://user:pw@tiles.example.org/{z}/{x}/{y}.png",
        "https://{s}/{z}/{x}/{y}.png",
        "https://tiles example.org/{z}.png",
        "data:image/png;base64,AAAA",
    ],
)
def test_tile_source_refuses_what_it_cannot_name_safely(template: str) -> None:
    with pytest.raises(ValueError):
        tile_source(template)


def test_a_views_own_security_headers_win(app: Flask) -> None:
    # A file view may lock its response down harder (a sandbox for downloads); a page view may
    # send its own referrer policy. Neither may be overwritten or dropped.
    sandbox = "default-src 'none'; sandbox"

    @app.get("/_test/file")
    def _file() -> tuple[bytes, int, dict[str, str]]:
        return (
            b"%PDF-1.7",
            200,
            {"Content-Type": "application/pdf", "Content-Security-Policy": sandbox},
        )

    @app.get("/_test/page")
    def _page() -> tuple[str, int, dict[str, str]]:
        return "<p>x</p>", 200, {"Referrer-Policy": "no-referrer", "X-Frame-Options": "SAMEORIGIN"}

    client = app.test_client()
    r = client.get("/_test/file")
    assert r.headers["Content-Security-Policy"] == sandbox
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = client.get("/_test/page")
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "'nonce-" in r.headers["Content-Security-Policy"]  # the page still gets our policy
