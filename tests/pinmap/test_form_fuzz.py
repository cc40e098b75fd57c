"""A fuzzer for every HTML form: hostile values never get a 5xx, and a refusal changes nothing.

The routes come from the URL map: every rule taking POST/PUT/PATCH/DELETE outside /api/. The
authorization matrix (tests/support/authz_matrix.py) already has a row for each, and its completeness check
fails CI for a new write route without one; each row knows who may use the form, how to build
the state it acts on (a draft, a submitted report...) and a valid request. The fuzzer replays
that request as a permitted user with a real CSRF token, after replacing some of its fields with
hostile values. Field names are those of the valid request, the inputs of the page that holds
the form (found by GETting it and parsing its forms), and the names the view's source reads.

Each request runs in a savepoint that is rolled back. A 5xx (or an exception) fails, and so
does a 4xx that left a change behind (audit records, row counts, versions, stored files), or a
refusal page that lost what the user typed in the fields it did not touch.

Hypothesis drives it, derandomized (the same examples on every run, no example database), with
a bounded number of examples per form.

The world the forms act on (the matrix's `ctx`) is built once per module (tests/support/
module_ctx.py); each form runs in a savepoint of that transaction, rolled back after it.
"""

from __future__ import annotations

import functools
import html
import inspect
import os
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException
from werkzeug.test import Cookie

from .. import signin
from ..support import authz_matrix as matrix
from ..support.module_ctx import build_module_ctx, per_test_ctx
from ..support.portal import WorldRows

EXAMPLES_PER_FORM = 16
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Who uses a form, in this order of preference, among the users the matrix allows.
PREFERENCE = ("own_director", "own_editor", "admin", "reviewer", "coach")
# Fields the fuzzer leaves to the framework: the page's own token and the button pressed.
NOT_FUZZED = {"csrf_token"}
# Values never shown back on a refusal page, whatever was typed.
NEVER_ECHOED = {"password", "old", "new", "repeat", "csrf_token", "version", "action", "decision"}
# A refused request that changes something by design, with the reason.
CHANGES_ON_REFUSAL = {
    ("POST", "/portal/login"): "a failed sign-in is recorded: it feeds the throttle",
}
# Sign-in and sign-out need no rights: fuzzed anonymously, from their own pages.
ANONYMOUS_FORMS = {rule: "anonymous" for rule in matrix.NO_AUTHZ_NEEDED}


# --- hostile values --------------------------------------------------------------------------

HUGE_INTS = [
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "99999999999999999999999",
    "1" * 400,
    "-1",
    "-0",
    "0",
    "1e309",
    "4294967296",
]
NOT_FINITE = ["NaN", "nan", "inf", "-Infinity", "1e999", "Infinity"]
NUL = ["\x00", "a\x00b", "ก\x00"]
CRLF = ["line1\r\nline2", "\r\n\r\n", "x\rSet-Cookie: a=b", "\n"]
ODD_NUMBERS = [
    "１２３",
    "²",
    "٣",
    " 12 ",
    "0x10",
    "1_000",
    "12,5",
    "3.5",
    "-3.5",
    "1e2",
    "+5",
    "0.0000001",
    "2567.0",
]
ODD_DATES = [
    "0001-01-01",
    "9999-12-31",
    "2024-02-30",
    "2024-13-01",
    "10000-01-01",
    "2024-06-12T25:00",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00",
    "2024-06-12T09:00+99:00",
    "-2024-01-01",
]
WRONG_TYPES = [
    "[]",
    "{}",
    "true",
    "null",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%n",
    "{{7*7}}",
    "../../etc/passwd",
    "javascript:alert(1)",
    "http://",
    "https://" + "a" * 3000,
    "มี\u200bช่องว่าง",
    "\ufeff",
    "\u202e",
]
LONG = ["x" * 100_000, "ก" * 34_000, "a " * 50_000]
TEXT_VALUES = (
    HUGE_INTS + NOT_FINITE + NUL + CRLF + ODD_NUMBERS + ODD_DATES + WRONG_TYPES + LONG + [""]
)
# Bytes that are not UTF-8: a lone surrogate as CESU-8/WTF-8 would send it, and junk.
RAW_VALUES = [b"\xed\xa0\x80", b"a\xed\xb0\x80b", b"\xff\xfe", b"\xc0\x80", b"\x80"]

FILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "a\x00.png",
    "/abs/evil.pdf",
    "CON",
    "x" * 1000 + ".png",
    "ก" * 200 + ".pdf",
    "",
    ".png",
    "a\r\nb.png",
    'q"uote.png',
    "%00.pdf",
    "schools.csv",
    "photo.jpg",
]
FILE_BODIES = [
    b"",
    b"\x00" * 64,
    b"%PDF-1.4\n%garbage",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"GIF89a\x01\x00",
    b"code,name_th\n\x00,\xff",
    b"office_code,fiscal_year\nspp-krabi,99999999999999999999",
    "code,name_th,amphoe_th,level,lat,lon\n1,ก,ก,ก,NaN,inf\n".encode(),
    b"PK\x03\x04" + b"\x00" * 60,
    b"<svg onload=alert(1)>",
]

PATH_VALUES = [
    "2147483648",
    "99999999999999999999",
    "9223372036854775808",
    "0",
    "%00",
    "a%00b",
    "..",
    "%C0%80",
    "-1",
]


@dataclass(frozen=True)
class Upload:
    filename: str
    body: bytes
    content_type: str = "application/octet-stream"


Value = str | bytes | Upload | list[str]


@functools.cache
def values_for(is_file: bool) -> st.SearchStrategy[Value]:
    """Hostile values for a field (a file input or any other). Built once per kind: a new
    strategy per draw made Hypothesis validate and analyse it again on every example."""
    texts: st.SearchStrategy[Value] = st.sampled_from(TEXT_VALUES)
    raw: st.SearchStrategy[Value] = st.sampled_from(RAW_VALUES)
    files: st.SearchStrategy[Value] = st.builds(
        Upload,
        st.sampled_from(FILE_NAMES),
        st.sampled_from(FILE_BODIES),
        st.sampled_from(["application/octet-stream", "image/png", "text/csv", "application/pdf"]),
    )
    lists: st.SearchStrategy[Value] = st.lists(
        st.sampled_from(TEXT_VALUES[:20]), min_size=2, max_size=3
    )
    if is_file:
        return st.one_of(files, files, texts)
    return st.one_of(texts, texts, texts, raw, files, lists)


# --- request bodies, built byte by byte (the test client cannot send invalid UTF-8) ------------


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def urlencoded(fields: list[tuple[str, str | bytes]]) -> bytes:
    return b"&".join(
        quote_from_bytes(_bytes(k), safe="").encode()
        + b"="
        + quote_from_bytes(_bytes(v), safe="").encode()
        for k, v in fields
    )


BOUNDARY = "pinmapfuzzBoundary7MA4YWxkTrZu0gW"


def multipart(fields: list[tuple[str, str | bytes | Upload]]) -> bytes:
    out = []
    for name, value in fields:
        out.append(f"--{BOUNDARY}\r\n".encode())
        if isinstance(value, Upload):
            # As browsers do: quote, CR and LF in a file name are percent-encoded; NUL is sent.
            fname = value.filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
            out.append(
                f'Content-Disposition: form-data; name="{name}"; filename="{fname}"\r\n'
                f"Content-Type: {value.content_type}\r\n\r\n".encode()
            )
            out.append(value.body)
        else:
            out.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            out.append(_bytes(value))
        out.append(b"\r\n")
    out.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(out)


# --- the valid request of a matrix row, captured instead of sent --------------------------------


@dataclass
class Captured:
    method: str
    url: str
    fields: list[tuple[str, str | Upload]]
    multipart: bool


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Captured] = []

    def open(
        self, method: str, url: str, data: Any = None, content_type: str | None = None, **_kw: Any
    ) -> Any:
        fields: list[tuple[str, str | Upload]] = []
        for key, value in (data or {}).items():
            for one in value if isinstance(value, list) else [value]:
                if isinstance(one, tuple):
                    stream, filename = one[0], one[1]
                    fields.append((key, Upload(filename, stream.read())))
                elif isinstance(one, FileStorage):
                    fields.append((key, Upload(one.filename or "", one.read())))
                else:
                    fields.append((key, str(one)))
        is_multipart = bool(content_type and "multipart" in content_type) or any(
            isinstance(v, Upload) for _k, v in fields
        )
        self.calls.append(Captured(method, url, fields, is_multipart))
        return _NoResponse()

    def post(self, url: str, **kw: Any) -> Any:
        return self.open("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.open("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.open("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.open("DELETE", url, **kw)


class _NoResponse:
    status_code = 200

    def get_json(self) -> dict[str, Any]:
        return {}


class CaptureCtx(matrix.Ctx):
    recorder: Recorder

    def page(self, who: str) -> Any:
        return self.recorder


def capture(c: matrix.Ctx, row: matrix.Row, who: str, prepared: Any) -> Captured:
    cap = CaptureCtx(c.app, c.w, c.conn, c.epochs, c.lonlat)
    cap.recorder = Recorder()
    row.act(cap, who, prepared)
    assert len(cap.recorder.calls) == 1, f"{row.name}: expected one request"
    return cap.recorder.calls[0]


# --- the page holding the form, and its fields ----------------------------------------------------


@dataclass
class FormField:
    name: str
    kind: str  # input type, "textarea" or "select"
    value: str


@dataclass
class PageForm:
    action: str
    fields: list[FormField] = field(default_factory=list)


class FormParser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._textarea: FormField | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            action = a.get("action") or self.base
            self._form = PageForm(urlsplit(action).path or self.base)
            self.forms.append(self._form)
        elif self._form is not None and a.get("name"):
            if tag in ("input", "button"):
                kind = a.get("type", "text" if tag == "input" else "submit").lower()
                self._form.fields.append(FormField(a["name"], kind, a.get("value", "")))
            elif tag == "select":
                self._form.fields.append(FormField(a["name"], "select", ""))
            elif tag == "textarea":
                self._textarea = FormField(a["name"], "textarea", "")
                self._form.fields.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None


def page_forms(client: FlaskClient, url: str) -> tuple[str, list[PageForm]]:
    """The forms posting to `url` on the nearest page that answers a GET: the URL itself or
    one of its parents (/admin/users/5/password is a form on /admin/users)."""
    path = urlsplit(url).path
    candidates = [url]
    parts = path.rstrip("/").split("/")
    candidates += ["/".join(parts[:n]) or "/" for n in range(len(parts) - 1, 1, -1)]
    urls = client.application.url_map.bind("localhost")
    for candidate in candidates:
        try:
            urls.match(urlsplit(candidate).path, method="GET")
        except HTTPException:
            # No GET route (a POST-only address: 405), none at all (404) or a redirect: never
            # the 200 page looked for, so not requested (its error page cost a full render).
            continue
        r = client.get(candidate)
        body = r.get_data(as_text=True)
        r.close()
        if r.status_code != 200 or "text/html" not in r.content_type:
            continue
        parser = FormParser(urlsplit(candidate).path)
        parser.feed(body)
        forms = [f for f in parser.forms if f.action == path]
        if forms:
            return body, forms
    return "", []


_READS = re.compile(
    r"""(?:request\.(?:form|files|args)|form|source|typed)\s*\.\s*(?:get|getlist)\(\s*f?["']([A-Za-z_][\w]*)["']""",
    re.VERBOSE,
)
_CALLS = re.compile(r"\b(_[a-z]\w*)\(")


def names_the_view_reads(app: Flask, endpoint: str) -> set[str]:
    """Field names in the view's source and in the module's helpers it calls (one level)."""
    view = app.view_functions[endpoint]
    view = inspect.unwrap(view)
    module = inspect.getmodule(view)
    source = textwrap.dedent(inspect.getsource(view))
    sources = [source]
    for helper in set(_CALLS.findall(source)):
        fn = getattr(module, helper, None)
        if inspect.isfunction(fn):
            sources.append(inspect.getsource(fn))
    return {name for s in sources for name in _READS.findall(s)}


# --- what a refused request must leave alone ------------------------------------------------------


def fingerprint_sql(conn: Connection) -> str:
    tables = (
        conn.execute(
            text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_type = 'BASE TABLE' AND table_name NOT IN ('spatial_ref_sys', "
                "'alembic_version') ORDER BY table_name"
            )
        )
        .scalars()
        .all()
    )
    columns = {
        (t, c)
        for t, c in conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name IN ('version', 'updated_at')"
            )
        )
    }
    parts = []
    for t in tables:
        expr = ["count(*)::text"]
        if (t, "version") in columns:
            expr.append("coalesce(sum(version), 0)::text")
        if (t, "updated_at") in columns:
            expr.append("coalesce(max(updated_at)::text, '')")
        # Table and column names come from information_schema, not from input.
        parts.append(
            f"(SELECT '{t}:' || concat_ws('/', {', '.join(expr)}) "  # noqa: S608
            f'FROM "{t}")'
        )
    return "SELECT concat_ws(' ', " + ", ".join(parts) + ")"


def stored_files(app: Flask) -> int:
    root = Path(app.config["PINMAP_UPLOAD_DIR_PATH"])
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


# --- one form ----------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    method: str
    rule: str
    who: str
    prepare: Any
    act: Any  # (ctx, who, prepared) -> request, captured
    changes_on_refusal: bool = False


def targets(app: Flask) -> list[Target]:
    """A target per matrix row of each HTML write rule; sign-in and sign-out by themselves."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            rows = [r for r in matrix.ROWS if (r.method, r.rule) == (method, rule.rule)]
            if (method, rule.rule) in ANONYMOUS_FORMS:
                out.append(
                    Target(
                        f"{method} {rule.rule}",
                        method,
                        rule.rule,
                        "anonymous",
                        matrix._nothing,
                        _plain_post(method, rule.rule),
                        (method, rule.rule) in CHANGES_ON_REFUSAL,
                    )
                )
            for r in rows:
                who = next((w for w in PREFERENCE if w in r.allowed), None)
                assert who, f"{r.name}: nobody the fuzzer can sign in as may use it"
                out.append(Target(r.name, method, rule.rule, who, r.prepare, r.act))
            assert rows or (method, rule.rule) in ANONYMOUS_FORMS, (
                f"{method} {rule.rule} has no authorization row to fuzz it with"
            )
    return out


def _plain_post(method: str, rule: str) -> Any:
    return lambda c, who, _p: c.page(who).open(method, rule, data={})


@dataclass
class Plan:
    target: Target
    url: str
    base: list[tuple[str, str | Upload]]
    multipart: bool
    fields: dict[str, bool]  # name -> is a file input
    queries: list[str]
    path_args: list[str]
    echoed: dict[str, str]  # baseline text values a refusal page must show again
    hidden: set[str] = field(default_factory=set)  # set by the page, never typed


def make_plan(
    c: matrix.Ctx, client: FlaskClient, target: Target, prepared: Any
) -> tuple[Plan, str]:
    cap = capture(c, _row_like(target), target.who, prepared)
    body, forms = page_forms(client, cap.url)
    fields: dict[str, bool] = {}
    page_values: dict[str, str] = {}
    for form in forms:
        for f in form.fields:
            fields[f.name] = fields.get(f.name, False) or f.kind == "file"
            page_values.setdefault(f.name, f.value)
    endpoint = c.app.url_map.bind("localhost").match(urlsplit(cap.url).path, method=cap.method)[0]
    read = names_the_view_reads(c.app, endpoint)
    for name, value in cap.fields:
        fields[name] = fields.get(name, False) or isinstance(value, Upload)
    for name in read:
        fields.setdefault(name, False)
    for name in NOT_FUZZED:
        fields.pop(name, None)
    rule = next(r for r in c.app.url_map.iter_rules() if r.rule == target.rule)
    texts = {k: v for k, v in cap.fields if isinstance(v, str)}
    echoed = {
        k: v
        for k, v in texts.items()
        if k not in NEVER_ECHOED
        and len(v) >= 2
        and not v.isdigit()
        and k
        in {
            f.name
            for form in forms
            for f in form.fields
            if f.kind
            in (
                "text",
                "textarea",
                "email",
                "url",
                "search",
                "tel",
                "date",
                "datetime-local",
                "number",
            )
        }
    }
    hidden = {f.name for form in forms for f in form.fields if f.kind == "hidden"}
    plan = Plan(
        target,
        cap.url,
        list(cap.fields),
        cap.multipart,
        fields,
        sorted(n for n in read if n in _QUERY_NAMES),
        sorted(rule.arguments - set(rule.defaults or {})),
        echoed,
        hidden,
    )
    return plan, body


# Query arguments views read beside the form (a hostile one must not crash the page either).
_QUERY_NAMES = {"fiscal_year", "cluster", "item", "state", "next", "page"}


def _row_like(target: Target) -> Any:
    return matrix.Row(
        target.name, target.method, target.rule, frozenset({target.who}), target.act, target.prepare
    )


def sign_in(client: FlaskClient, c: matrix.Ctx, who: str, csrf_secret: str | None) -> None:
    """(Re)establish the session: a request may have signed it out or changed its epoch."""
    with client.session_transaction() as s:
        s.clear()
    if who != "anonymous":
        signin.sign_in(client, c.epochs[who][0])
    if csrf_secret:
        with client.session_transaction() as s:
            s["csrf_token"] = csrf_secret


def csrf_of(client: FlaskClient, body: str) -> tuple[str, str]:
    """The page's CSRF token and the session's secret behind it."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', body)
    if match is None:  # a form that is on no page of its own: any page's token will do
        r = client.get("/portal/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True))
        r.close()
    assert match, "no CSRF token found"
    with client.session_transaction() as s:
        return match.group(1), s["csrf_token"]


def _path_with(rule: str, url: str, name: str, value: str) -> str:
    """`url` (built from `rule`) with one path argument replaced by a raw, pre-quoted value."""
    pattern = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"(?P<{m.group(1)}>[^/]+)", rule)
    match = re.fullmatch(pattern, urlsplit(url).path)
    assert match, (rule, url)
    start, end = match.span(name)
    path = urlsplit(url).path
    return path[:start] + value + path[end:]


@dataclass
class Mutation:
    fields: dict[str, Value]
    path: tuple[str, str] | None
    query: tuple[str, str] | None


def mutations(plan: Plan) -> st.SearchStrategy[Mutation]:
    # The strategies a draw picks from are built here, once per form, and looked up by name
    # (the same strategies, in the same order, as when each draw built its own).
    names = sorted(plan.fields)
    per_field = {n: st.tuples(st.just(n), values_for(plan.fields[n])) for n in names}
    one = st.sampled_from(names).flatmap(per_field.__getitem__) if names else st.nothing()
    fields = st.lists(one, min_size=1, max_size=3).map(dict) if names else st.just({})
    path_values = st.sampled_from(PATH_VALUES)
    per_path = {n: st.tuples(st.just(n), path_values) for n in plan.path_args}
    path = (
        st.sampled_from(plan.path_args).flatmap(per_path.__getitem__)
        if plan.path_args
        else st.nothing()
    )
    query_values = st.sampled_from(HUGE_INTS + NUL + NOT_FINITE)
    per_query = {n: st.tuples(st.just(n), query_values) for n in plan.queries}
    query = (
        st.sampled_from(plan.queries).flatmap(per_query.__getitem__)
        if plan.queries
        else st.nothing()
    )
    return st.builds(
        Mutation,
        fields,
        st.one_of(st.none(), st.none(), st.none(), path),
        st.one_of(st.none(), st.none(), st.none(), query),
    )


def send(client: FlaskClient, plan: Plan, m: Mutation, token: str) -> Any:
    fields: list[tuple[str, Any]] = [(k, v) for k, v in plan.base if k not in m.fields]
    for name, value in m.fields.items():
        for one in value if isinstance(value, list) else [value]:
            fields.append((name, one))
    if "csrf_token" not in m.fields:
        fields.append(("csrf_token", token))
    url = plan.url
    if m.path:
        url = _path_with(plan.target.rule, url, m.path[0], m.path[1])
    if m.query:
        url += ("&" if "?" in url else "?") + f"{m.query[0]}={quote(m.query[1], safe='')}"
    as_multipart = plan.multipart or any(isinstance(v, Upload) for _k, v in fields)
    if as_multipart:
        return client.open(
            url,
            method=plan.target.method,
            data=multipart(fields),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )
    plain = [(k, v if not isinstance(v, Upload) else v.filename) for k, v in fields]
    return client.open(
        url,
        method=plan.target.method,
        data=urlencoded(plain),
        content_type="application/x-www-form-urlencoded",
    )


def describe(m: Mutation) -> str:
    def short(v: Any) -> str:
        r = repr(v)
        return r if len(r) < 80 else r[:60] + f"...({len(r)} chars)"

    return ", ".join(
        [f"{k}={short(v)}" for k, v in m.fields.items()]
        + ([f"path {m.path}"] if m.path else [])
        + ([f"query {m.query}"] if m.query else [])
    )


def _has_nul(m: Mutation) -> bool:
    """A NUL character cannot be typed into a browser's form; the app-wide guard
    (pinmap/inputs.py) refuses it before any view runs, with an error page of its own."""
    values = [
        v for value in m.fields.values() for v in (value if isinstance(value, list) else [value])
    ]
    extra = [m.query[1]] if m.query else []
    return any(
        "\x00" in (v.filename if isinstance(v, Upload) else str(v)) for v in [*values, *extra]
    )


def typed_text_survives(body: str, plan: Plan, m: Mutation) -> list[str]:
    """Baseline values the user typed (and the fuzzer left alone) that the refusal lost.

    A request whose hidden fields or address were forged did not come from the form as shown:
    there may be no form to show it in again (a row for cluster 2147483648).
    """
    if m.path or set(m.fields) & plan.hidden or _has_nul(m):
        return []
    lost = []
    for name, value in plan.echoed.items():
        if name in m.fields:
            continue
        if (
            value not in body
            and html.escape(value) not in body
            and str(__import__("markupsafe").escape(value)) not in body
        ):
            lost.append(name)
    return lost


@dataclass
class Runner:
    c: matrix.Ctx
    target: Target
    plan: Plan
    client: FlaskClient
    token: str
    secret: str
    fp_sql: str
    failures: list[str] = field(default_factory=list)
    # The session cookie every request starts from, and the database's fingerprint under it.
    cookie: Cookie | None = None
    start: str = ""

    def fingerprint(self) -> tuple[str, int]:
        return self._db_fingerprint(), stored_files(self.c.app)

    def _db_fingerprint(self) -> str:
        return self.c.conn.execute(text(self.fp_sql)).scalar() or ""

    def sign_in_once(self) -> None:
        """Sign in (a server-side session row, the CSRF secret in the cookie) in the form's
        state, outside the requests' savepoints, and keep the cookie that says so.

        Each request then starts from this cookie again: a request that signed the session out
        or changed its epoch did so in its savepoint, which is rolled back, so the session row
        is back as it was, exactly as a fresh sign-in per request left it (a row per request).
        Likewise the database is the same at the start of every request: its fingerprint is
        taken once here (files are not rolled back, so they are still counted per request)."""
        sign_in(self.client, self.c, self.target.who, self.secret)
        self.cookie = self.client.get_cookie(_session_cookie(self.client))
        self.start = self._db_fingerprint()

    def restore_session(self) -> None:
        name = _session_cookie(self.client)
        if self.cookie is None:
            self.client.delete_cookie(name)
            return
        self.client.set_cookie(
            name,
            self.cookie.decoded_value,
            domain=self.cookie.domain,
            origin_only=self.cookie.origin_only,
            path=self.cookie.path,
            secure=self.cookie.secure,
            httponly=self.cookie.http_only,
            samesite=self.cookie.same_site,
        )

    def baseline(self) -> None:
        savepoint = self.c.conn.begin_nested()
        try:
            self.restore_session()
            r = send(self.client, self.plan, Mutation({}, None, None), self.token)
            if not 200 <= r.status_code < 400:
                self.failures.append(
                    f"the valid request answered {r.status_code}: "
                    f"{r.get_data(as_text=True)[:300]!r}"
                )
            r.close()
        finally:
            savepoint.rollback()

    def one(self, m: Mutation) -> None:
        savepoint = self.c.conn.begin_nested()
        try:
            self.restore_session()
            before = self.start, stored_files(self.c.app)
            try:
                r = send(self.client, self.plan, m, self.token)
            except Exception as exc:  # TESTING propagates a view's exception: that is a 500
                self.failures.append(
                    f"500 ({type(exc).__name__}: {str(exc)[:200]}) with {describe(m)}"
                )
                raise
            status, body = r.status_code, r.get_data(as_text=True)
            r.close()
            if status >= 500:
                self.failures.append(f"{status} with {describe(m)}")
            elif status >= 400 and not self.target.changes_on_refusal:
                after = self.fingerprint()
                if after != before:
                    self.failures.append(
                        f"{status} left a change behind with {describe(m)}: {_diff(before, after)}"
                    )
                if status in (400, 409, 422) and "text/html" in r.content_type:
                    lost = typed_text_survives(body, self.plan, m)
                    if lost:
                        self.failures.append(
                            f"{status} refusal lost typed {lost} with {describe(m)}"
                        )
        finally:
            savepoint.rollback()

    def check_rolled_back(self) -> None:
        """What lets `start` stand for every request: the savepoints undid everything."""
        end = self._db_fingerprint()
        if end != self.start:
            self.failures.append(
                f"the requests' savepoints left the database changed: {_diff((self.start, 0), (end, 0))}"
            )


def _session_cookie(client: FlaskClient) -> str:
    return str(client.application.config["SESSION_COOKIE_NAME"])


def _diff(before: tuple[str, int], after: tuple[str, int]) -> str:
    a, b = before[0].split(), after[0].split()
    changed = [f"{x} -> {y}" for x, y in zip(a, b, strict=False) if x != y]
    if before[1] != after[1]:
        changed.append(f"stored files {before[1]} -> {after[1]}")
    return "; ".join(changed)


def _url_map_app() -> Flask:
    from pinmap import create_app

    # For its URL map only: a session factory bound to nothing, never used.
    return create_app({"TESTING": True, "SECRET_KEY": "x"}, session_factory=sessionmaker())


# One app for the targets and for the check that they cover its URL map (an app takes ~0.5 s).
URL_MAP_APP = _url_map_app()
TARGETS = targets(URL_MAP_APP)


def sweep(plan: Plan) -> list[Mutation]:
    """A fixed pass besides Hypothesis's draws: each path argument with a huge integer and a
    NUL, and each field once, the kinds of hostile value taken in turn."""
    kinds = [
        ["9223372036854775808", "2147483648"],
        ["a\x00b"],
        ["NaN", "inf"],
        ["x" * 100_000],
        ["²", "-1"],
        ["9999-12-31", "0001-01-01"],
        [b"\xed\xa0\x80"],
    ]
    out = [
        Mutation({}, (name, value), None)
        for name in plan.path_args
        for value in ("9223372036854775808", "%00")
    ]
    for n, name in enumerate(sorted(plan.fields)):
        if plan.fields[name]:
            out.append(Mutation({name: Upload("../a\x00.png", b"\x00" * 16)}, None, None))
            continue
        kind = kinds[n % len(kinds)]
        out.append(Mutation({name: kind[(n // len(kinds)) % len(kind)]}, None, None))
    return out


def start(c: matrix.Ctx, target: Target, fp_sql: str) -> Runner:
    """The form's state, its plan (from its page) and a runner signed in to send requests."""
    prepared = target.prepare(c)
    c.app.config["WTF_CSRF_ENABLED"] = True  # from here on, as a browser would send it
    client = c.app.test_client()
    sign_in(client, c, target.who, None)
    plan, body = make_plan(c, client, target, prepared)
    token, secret = csrf_of(client, body)
    runner = Runner(c, target, plan, client, token, secret, fp_sql)
    runner.sign_in_once()
    return runner


def fuzz_one(c: matrix.Ctx, target: Target, fp_sql: str, examples: int) -> list[str]:
    """Every failure of one form, as lines naming the hostile values."""
    # The state the form acts on is built once; each request runs in a savepoint inside it.
    state = c.conn.begin_nested()
    try:
        runner = start(c, target, fp_sql)
        plan = runner.plan

        def run(m: Mutation) -> None:
            known = len(runner.failures)
            try:
                runner.one(m)
            except Exception as exc:  # recorded; the next request runs: one report per form
                if len(runner.failures) == known:
                    runner.failures.append(f"{type(exc).__name__}: {exc} with {describe(m)}")

        if (target.method, target.rule) not in ANONYMOUS_FORMS:
            # The valid request, as the form sends it, must still work: checks too strict
            # (a CSRF token over a length limit) would pass every hostile case.
            runner.baseline()
        for m in sweep(plan):
            run(m)
        settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(mutations(plan))(run))()
        runner.check_rolled_back()
    finally:
        c.app.config["WTF_CSRF_ENABLED"] = False
        state.rollback()
    return [
        f"{target.name} ({target.method} {target.rule}): {line}"
        for line in sorted(set(runner.failures))
    ]


@pytest.fixture(scope="module")
def module_ctx(
    world_engine: Engine, world_database: WorldRows, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[matrix.Ctx, sessionmaker[Session]]]:
    yield from build_module_ctx(
        world_engine, world_database, tmp_path_factory.mktemp("form-fuzz") / "uploads"
    )


@pytest.fixture
def ctx(
    module_ctx: tuple[matrix.Ctx, sessionmaker[Session]],
    world_database: WorldRows,
    tmp_path: Path,
) -> Iterator[matrix.Ctx]:
    yield from per_test_ctx(module_ctx, world_database, tmp_path / "uploads")


@pytest.fixture(scope="module")
def fp_sql(module_ctx: tuple[matrix.Ctx, sessionmaker[Session]]) -> str:
    """The fingerprint query (the tables and columns of the schema, which no form changes)."""
    return fingerprint_sql(module_ctx[0].conn)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_form_refuses_hostile_input(ctx: matrix.Ctx, target: Target, fp_sql: str) -> None:
    """One form a test, so the forms spread over the workers (`-k` picks forms by row name); the
    form's state and requests are rolled back after it. PINMAP_FUZZ_EXAMPLES deepens the run."""
    examples = int(os.environ.get("PINMAP_FUZZ_EXAMPLES", EXAMPLES_PER_FORM))
    failures = fuzz_one(ctx, target, fp_sql, examples)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)


def test_every_write_form_is_fuzzed() -> None:
    """Each HTML write rule of the URL map has at least one target (the matrix's rows)."""
    app = URL_MAP_APP
    wanted = {
        (m, r.rule)
        for r in app.url_map.iter_rules()
        if not r.rule.startswith("/api/")
        for m in (r.methods or set()) & WRITE_METHODS
    }
    assert wanted == {(t.method, t.rule) for t in TARGETS}


# What a refusal may leave behind, planted after the request: each must be reported.
PLANTED = {
    "a row added": (
        "INSERT INTO user_sessions (user_id, key_sha256) SELECT min(id), 'planted' FROM users"
    ),
    "a version bumped": "UPDATE offices SET version = version + 1 WHERE code = :own",
    "a row touched": (
        "UPDATE offices SET updated_at = updated_at + interval '1 second' WHERE code = :own"
    ),
    "a file stored": "",
}


@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_a_refusal_that_changed_something_is_caught(
    ctx: matrix.Ctx, planted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fingerprint of the start is taken once per form (the savepoints make every request
    start from the same database): a change a refused request leaves is still caught, and the
    session every request starts from is the one signed in."""
    import sys

    target = next(t for t in TARGETS if (t.method, t.rule) == ("POST", "/portal/logout"))
    sent = send

    def send_and_plant(client: FlaskClient, plan: Plan, m: Mutation, token: str) -> Any:
        assert client.get_cookie(_session_cookie(client)) == runner.cookie
        r = sent(client, plan, m, token)
        if PLANTED[planted]:
            ctx.conn.execute(text(PLANTED[planted]), {"own": matrix.OWN})
        else:
            folder = Path(ctx.app.config["PINMAP_UPLOAD_DIR_PATH"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "left-behind.png").write_bytes(b"x")
        return r

    state = ctx.conn.begin_nested()
    try:
        runner = start(ctx, target, fingerprint_sql(ctx.conn))
        monkeypatch.setattr(sys.modules[__name__], "send", send_and_plant)
        runner.one(Mutation({"csrf_token": "forged"}, None, None))
        runner.check_rolled_back()
    finally:
        ctx.app.config["WTF_CSRF_ENABLED"] = False
        state.rollback()
    assert len(runner.failures) == 1, runner.failures
    assert runner.failures[0].startswith("400 left a change behind"), runner.failures
