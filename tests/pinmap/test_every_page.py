"""Every GET route of the app (pages, exports, API) with out-of-range numbers, NUL bytes and junk
query arguments, anonymously and signed in: never a 5xx."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ..support.portal import World

# Query arguments the views read, each with a value the database could not take as it is.
BAD_QUERY = (
    "fiscal_year=99999999999&cluster=40000&round=2147483648&round_no=-99999999999"
    "&q=%25_%00&item=abc&item_id=99999999999&page=-1&limit=99999999999&since=%00"
    "&state=%00&kind=x&office=%00&source=%00&lat=nan&lon=inf&radius_km=nan&k=40000"
    "&dimension=%00&item_kind=x&item_no=40000&host=%00&year=99999999999"
)
SMALL = {"no", "fiscal_year", "round_no", "cluster_no", "index"}
SKIP = {"static", "live.stream"}  # files; an endless event stream (test_live.py)


def _url(rule: str, real: dict[str, str], bad: bool) -> str:
    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "", match.group(2)
        if converter.startswith("any("):
            return converter[4:-1].split(",")[0].strip()
        if not bad:
            return real.get(name, "1")
        if converter.startswith("int"):
            return "40000" if name in SMALL else "2147483647"
        return quote("x\x00<'\">")

    return re.sub(r"<(?:([^:>]+):)?([^>]+)>", value, rule)


@pytest.mark.parametrize("who", ["anonymous", "admin", "own_director"])
def test_no_get_route_answers_5xx(app: Flask, client: FlaskClient, world: World, who: str) -> None:
    real = {
        "code": world.own.code,
        "fiscal_year": str(world.fy),
        "kind": world.item.kind,
        "locale": "en",
        "fmt": "csv",
    }
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP or "GET" not in (rule.methods or ()):
            continue
        for url in (
            _url(rule.rule, real, bad=False) + "?" + BAD_QUERY,
            _url(rule.rule, real, bad=True),
        ):
            try:
                status = client.get(url, headers=world.headers(who)).status_code
            except Exception as exc:  # TESTING propagates what would have been a 500
                status = f"500 ({type(exc).__name__})"
            if str(status) >= "500":
                failures.append(f"{status} {url}")
    assert not failures, "\n".join(failures)
