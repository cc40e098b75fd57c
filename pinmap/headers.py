"""Security headers: a Content-Security-Policy with per-request script nonces, and its companions.

flask-talisman does the work: it makes a fresh nonce before each request (`csp_nonce()` in
templates, `request.csp_nonce` in Python), adds it to `script-src`, and sets Referrer-Policy,
X-Content-Type-Options, Permissions-Policy and (over HTTPS) HSTS on every response, the policy
and X-Frame-Options on pages. Inline scripts (folium's map code) run only with the nonce; event
handler attributes and `javascript:` URLs never run, so pages keep such behaviour in static/js.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, has_request_context, request
from flask_talisman import Talisman

_HOST_LABEL = re.compile(r"[a-z0-9-]+")


def csp_nonce() -> str:
    """This request's script nonce ("" outside a request, or before Talisman made one)."""
    return str(getattr(request, "csp_nonce", "")) if has_request_context() else ""


def tile_source(template: str) -> str | None:
    """The CSP source expression that lets Leaflet load tiles from a PINMAP_TILES template.

    `https://{s}.tile.example.org/{z}/{x}/{y}.png` becomes `https://*.tile.example.org`: the
    subdomain placeholder is a wildcard, and CSP allows one only as the leftmost label, so a
    placeholder anywhere in the host widens to everything left of it. A relative template is
    our own origin (None: 'self' covers it). Anything that is not a plain host name is refused
    rather than pasted into the header.
    """
    parts = urlsplit(template.strip())
    if not parts.scheme and not parts.netloc:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise ValueError(f"PINMAP_TILES must be an http(s) URL template, not {template!r}")
    host, _, port = parts.netloc.lower().partition(":")
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label or "}" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1 :]]
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(x) for x in labels if x != "*"):
        raise ValueError(f"PINMAP_TILES has a host CSP cannot name: {template!r}")
    if port and not port.isdigit():
        raise ValueError(f"PINMAP_TILES has a bad port: {template!r}")
    return f"{parts.scheme}://{'.'.join(labels)}{':' + port if port else ''}"


def content_security_policy(tiles: str = "") -> dict[str, str]:
    """The policy for our pages. Everything is served from our own origin (static/vendor)."""
    img_src = ["'self'"]
    tile_host = tile_source(tiles) if tiles else None
    if tile_host:
        # Leaflet cancels a tile by pointing its <img> at a data: GIF, so tiles need data: too.
        img_src += [tile_host, "data:"]
    return {
        "default-src": "'self'",
        # Talisman appends this request's 'nonce-…'; no 'unsafe-inline', no 'unsafe-eval'.
        "script-src": "'self'",
        # Styles keep 'unsafe-inline': Leaflet and markercluster write style attributes into the
        # markup they build (popups, icons), folium's header carries <style> blocks, and some
        # templates and the SVG charts use style attributes. A nonce here would switch that off.
        "style-src": "'self' 'unsafe-inline'",
        "img-src": " ".join(img_src),
        "font-src": "'self'",
        # fetch() to our JSON API and the EventSource live stream.
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        # Nothing of ours frames a page: no one may (X-Frame-Options DENY for old browsers).
        "frame-ancestors": "'none'",
    }


# Headers that describe how a *page* may behave. On a file the browser shows in its own viewer
# (an evidence PDF, a photo, an export) ours would do harm: Chrome's PDF viewer refuses to load
# the document under `object-src 'none'`, and its image and PDF pages use inline styles.
PAGE_ONLY_HEADERS = ("Content-Security-Policy", "X-Frame-Options")
# Every header Talisman writes. Talisman overwrites them all; a view that sent its own (a file
# download's sandbox policy, say) knows better, so its value is put back.
TALISMAN_HEADERS = (
    *PAGE_ONLY_HEADERS,
    "Content-Security-Policy-Report-Only",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Permissions-Policy",
    "Document-Policy",
    "Feature-Policy",
    "Strict-Transport-Security",
    "X-XSS-Protection",
    "X-Download-Options",
)


def _remember_own(response: Response) -> Response:
    # Carried on the response itself to _settle, the last after_request hook, for this response.
    response.pinmap_own_headers = {  # type: ignore[attr-defined]
        name: response.headers.getlist(name)
        for name in TALISMAN_HEADERS
        if name in response.headers
    }
    return response


def _settle(response: Response) -> Response:
    own: dict[str, list[str]] = getattr(response, "pinmap_own_headers", {})
    if response.mimetype != "text/html":
        for name in PAGE_ONLY_HEADERS:
            response.headers.pop(name, None)
    for name, values in own.items():
        response.headers.setlist(name, values)
    return response


def init_app(app: Flask) -> None:
    # after_request hooks run in reverse order of registration: _remember_own (registered after
    # Talisman) sees what the view sent, Talisman then sets ours, and _settle (registered
    # first) runs last.
    app.after_request(_settle)
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    # One Talisman per app: it keeps its settings on itself (tests build many apps).
    app.extensions["talisman"] = Talisman(
        app,
        content_security_policy=content_security_policy(str(app.config.get("PINMAP_TILES", ""))),
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        x_content_type_options=True,
        permissions_policy={
            "browsing-topics": "()",
            "camera": "()",
            "geolocation": "()",
            "microphone": "()",
        },
        # HTTPS is the proxy's business (PINMAP_SECURE_COOKIES says it is there): no redirect
        # here, and HSTS only then, for this host alone (sibling hosts may still be HTTP-only).
        force_https=False,
        strict_transport_security=secure,
        strict_transport_security_include_subdomains=False,
        # Cookie flags stay where config.py and security.py set them.
        session_cookie_secure=False,
        session_cookie_http_only=False,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
    app.after_request(_remember_own)
