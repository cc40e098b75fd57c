"""Static files named by their content: pages add `?v=<digest>`, that URL may be kept a year,
and any other (an old digest, none) is revalidated as before. The browser side (the next page
asks for none of them again) is in tests/browser/test_map_e2e.py."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask.testing import FlaskClient

from pinmap.assets import IMMUTABLE, fingerprint

STATIC_URL = re.compile(r"""(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]{16})\"""")


def test_the_digest_follows_the_bytes_and_names_only_files_inside_the_folder(
    tmp_path: Path,
) -> None:
    known: dict[str, tuple[int, int, str]] = {}
    (tmp_path / "css").mkdir()
    style = tmp_path / "css" / "a.css"
    style.write_text("a { color: red }")
    first = fingerprint(tmp_path, "css/a.css", known)
    assert first and len(first) == 16
    assert fingerprint(tmp_path, "css/a.css", known) == first
    style.write_text("a { color: blue }")
    os.utime(style, ns=(1, 1))  # even if the clock gave both writes one time stamp
    assert fingerprint(tmp_path, "css/a.css", known) not in (None, first)
    (tmp_path.parent / "outside.txt").write_text("secret")
    for name in ("../outside.txt", "/etc/passwd", "css", "missing.css", "css/../../outside.txt"):
        assert fingerprint(tmp_path, name, known) is None, name


def test_pages_name_static_files_by_content_and_those_are_kept_a_year(
    client: FlaskClient,
) -> None:
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    named = dict(STATIC_URL.findall(html))
    assert {"/static/css/pinmap.css", "/static/js/page.js"} <= set(named)
    for path, digest in named.items():
        with client.get(f"{path}?v={digest}") as r:
            assert r.status_code == 200, path
            assert r.headers["Cache-Control"] == IMMUTABLE, path
            etag = r.headers["ETag"]
        with client.get(f"{path}?v={digest}", headers={"If-None-Match": etag}) as r:
            assert r.status_code == 304 and r.headers["Cache-Control"] == IMMUTABLE, path


def test_any_other_static_request_is_revalidated(client: FlaskClient) -> None:
    for query in ("", "?v=0000000000000000", "?v=", "?v=" + "f" * 5000):
        with client.get("/static/css/pinmap.css" + query) as r:
            assert r.status_code == 200, query
            assert r.headers["Cache-Control"] == "no-cache", query
    assert client.get("/static/css/nothing.css?v=0000000000000000").status_code == 404
    assert client.get("/static/../pyproject.toml").status_code == 404
