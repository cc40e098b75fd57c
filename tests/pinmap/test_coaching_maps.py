"""Server-side folium maps on the cluster and plan pages render office names inert.

folium puts tooltip HTML inside a JavaScript template literal, so HTML escaping alone would
let `${...}` run and a backtick end the literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import Office
from pinmap.public.mapview import js_safe_text

from ..support.coaching import _round
from ..support.portal import World

PAYLOAD = (
    "สพป.กระบี่${document.title=location.port}`;window.__pwned=1;`"
    "</script><script>window.__pwned=2</script>\\"
)


@pytest.fixture
def pages(c: FlaskClient, w: World, session: Session) -> Iterator[dict[str, str]]:  # noqa: F811
    """URLs of the cluster page and of a plan page whose host has the hostile name."""
    office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    office.name_th = PAYLOAD
    session.commit()
    r = c.post(
        "/api/v1/plans",
        headers=w.headers("coach"),
        json={"round_id": _round(session, 2).id, "cluster": 6, "k": 2, "host": "spp-krabi"},
    )
    assert r.status_code == 201, r.get_json()
    plan_id = r.get_json()["id"]
    r = c.put(
        f"/api/v1/plans/{plan_id}",
        headers=w.headers("coach"),
        json={"version": r.get_json()["version"], "visit_date": "2024-03-20"},
    )
    r = c.post(
        f"/api/v1/plans/{plan_id}/publish",
        headers=w.headers("coach"),
        json={"version": r.get_json()["version"]},
    )
    assert r.status_code == 200
    yield {"cluster": "/coaching/clusters/6", "plan": f"/coaching/plans/{plan_id}"}


def _tooltips(html: str) -> list[str]:
    # The body of each bindTooltip(`…`) template literal, up to the first backtick.
    return re.findall(r"bindTooltip\(\s*`(.*?)`", html, flags=re.S)


@pytest.mark.parametrize("page", ["cluster", "plan"])
def test_tooltip_text_cannot_leave_the_template_literal(
    c: FlaskClient,  # noqa: F811
    pages: dict[str, str],
    page: str,
) -> None:
    html = c.get(pages[page], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html.count("<script") == html.count("</script>")
    krabi = [t for t in _tooltips(html) if "สพป.กระบี่" in t]
    assert len(krabi) == 1
    # The whole name sits inside one literal, as entities: no `${`, backtick, tag or backslash.
    assert str(js_safe_text(PAYLOAD)) in krabi[0]
    for tooltip in _tooltips(html):
        assert "${" not in tooltip and "</script" not in tooltip and "\\" not in tooltip


@pytest.mark.browser
@pytest.mark.parametrize("page", ["cluster", "plan"])
def test_tooltip_runs_nothing_in_a_browser(
    capp: Flask,  # noqa: F811
    c: FlaskClient,  # noqa: F811
    pages: dict[str, str],
    page: str,
    browser: Browser,
) -> None:
    from playwright.sync_api import Route

    origin = "http://127.0.0.1:9"

    def serve(route: Route) -> None:
        # The page and its /static assets come from the test client; nothing reaches a network.
        parts = urlsplit(route.request.url)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            route.abort()
            return
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        with c.get(path, headers={"Accept-Language": "en"}) as r:
            status, body, kind = r.status_code, r.get_data(), r.content_type
        route.fulfill(
            status=status, body=body, headers={"Content-Type": kind or "application/octet-stream"}
        )

    errors: list[str] = []
    context = browser.new_context()  # one per test, on the session's browser
    try:
        tab = context.new_page()
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.route("**/*", serve)
        tab.goto(origin + pages[page])
        # A script broken by the name would never draw the markers.
        tab.wait_for_selector("path.leaflet-interactive", timeout=15_000)
        title = tab.title()
        pwned = tab.evaluate("window.__pwned")
        shown = tab.evaluate("""() => {
            for (const [name, layer] of Object.entries(window)) {
                if (!name.startsWith("circle_marker_") || !layer.getTooltip) continue;
                const el = document.createElement("div");
                el.innerHTML = layer.getTooltip().getContent();
                if (el.textContent.includes("สพป.กระบี่")) return el.textContent.trim();
            }
            return null;
        }""")
    finally:
        context.close()
    assert errors == []
    assert pwned is None
    assert title != "9" and "${" not in title
    assert shown is not None and shown.endswith(PAYLOAD)
