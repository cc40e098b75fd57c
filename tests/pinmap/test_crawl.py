"""The crawler that holds the line: every GET page of the URL map, as every role, in Thai and in
English, with sample data in every state, must answer and must speak the reader's language.

A page fails on a 5xx; on an internal identifier or a snake_case token in its visible text; in
Thai, on English words, ISO dates or Christian-era years outside machine fields; on a time shown
in UTC; on a destructive button with no `data-confirm`; on a form control without a label. Every
address built from the URL map must open (2xx/3xx) for at least one role, and no link a page
shows its reader may lead to a 4xx. The checks and the data are in tests/support/crawl.py.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from lxml import html as lxml_html
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from ..support.authz_matrix import Ctx
from ..support.crawl import (
    API_PREFIX,
    CRAWL_ROLES,
    NOT_PAGES,
    PUBLIC_ROLES,
    REFUSED_SAMPLE,
    Finding,
    PageChecks,
    addresses,
    build_world,
)
from ..support.crawl_known import KNOWN

LANGS = ("th", "en")
LINKS_PER_ENDPOINT = 1  # links followed per endpoint, role and language (addresses are crawled)


def _client(c: Ctx, who: str, lang: str) -> FlaskClient:
    client = c.page(who)
    client.set_cookie("pinmap_lang", lang)
    return client


def _endpoint(urls: MapAdapter, url: str) -> str | None:
    parts = urlsplit(url)
    try:
        endpoint, _args = urls.match(parts.path, method="GET")
    except HTTPException:
        return None
    return str(endpoint)


def test_every_page_as_every_role_in_both_languages(ctx: Ctx) -> None:
    build_world(ctx)
    pages = list(addresses(ctx.app, ctx))
    checks = PageChecks()
    findings: list[Finding] = []
    # Who opened each address (2xx/3xx), in the order the roles are crawled.
    opened: dict[str, list[str]] = {url: [] for _e, url in pages}
    spent: dict[str, float] = {}
    urls = ctx.app.url_map.bind("localhost")  # bound once: ~15,000 lookups

    def crawl(who: str, lang: str, queue: list[tuple[str, str | None]], follow: bool) -> None:
        client = _client(ctx, who, lang)
        visited: set[str] = set()
        followed: dict[str, int] = {}
        while queue:
            url, linked_from = queue.pop(0)
            if url in visited:
                continue
            visited.add(url)
            endpoint = _endpoint(urls, url) or url
            t0 = time.perf_counter()
            r = client.get(url)
            spent[endpoint] = spent.get(endpoint, 0.0) + time.perf_counter() - t0
            status = r.status_code
            if status >= 500 or (linked_from and status >= 400):
                how = f"linked from {linked_from}" if linked_from else "from the URL map"
                findings.append(Finding(url, who, lang, f"answered {status} ({how})", endpoint))
            if status < 400 and url in opened and lang == "th":
                opened[url].append(who)
            # Refusal pages are read too: they must speak the reader's language as well.
            if status >= 300 or not r.content_type.startswith("text/html"):
                continue
            body = r.get_data(as_text=True)
            findings.extend(checks.check(body, url, who, lang, endpoint))
            if not follow:
                continue
            for href in lxml_html.document_fromstring(body).xpath("//a/@href"):
                href = href.split("#")[0]
                if not href.startswith("/") or href.startswith(("//", API_PREFIX)):
                    continue
                target = _endpoint(urls, href)
                if target is None or target in NOT_PAGES or href in visited:
                    continue
                if followed.get(target, 0) >= LINKS_PER_ENDPOINT:
                    continue
                followed[target] = followed.get(target, 0) + 1
                queue.append((href, url))

    # Thai: every address as every role (public pages as PUBLIC_ROLES), and the links shown.
    for who in CRAWL_ROLES:
        queue: list[tuple[str, str | None]] = [
            (url, None)
            for endpoint, url in pages
            if who in PUBLIC_ROLES or not endpoint.startswith("public.")
        ]
        crawl(who, "th", queue, follow=True)
    # English: every address each role opened in Thai, as that role (roles see different
    # words: buttons, states, the navigation).
    for who in CRAWL_ROLES:
        mine = [(url, None) for url, whom in opened.items() if who in whom]
        crawl(who, "en", mine, follow=False)
    never = [url for url, whom in opened.items() if not whom and REFUSED_SAMPLE not in url]
    assert not never, "no role could open these addresses (bad sample data?):\n" + "\n".join(never)
    new = [f for f in findings if f.key not in KNOWN]
    gone = set(KNOWN) - {f.key for f in findings}
    slowest = sorted(spent.items(), key=lambda kv: -kv[1])[:5]
    assert not new, f"{len(new)} findings (slowest pages: {slowest}):\n" + "\n".join(
        f"{f} {f.key}" for f in new
    )
    assert not gone, "fixed, remove from tests/support/crawl_known.py:\n" + "\n".join(
        map(str, gone)
    )
