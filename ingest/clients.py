"""HTTP fetching for ingestion: timeouts, bounded sizes, retries with backoff and jitter.

No Flask here. Every request gets at most the time left in the run, so a run never hangs past
its timeout however the upstream behaves.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class FetchError(RuntimeError):
    """The request failed for good (retries exhausted, a 4xx, or the run's deadline passed)."""


class RetryableError(RuntimeError):
    """A failure worth another try: timeout, connection trouble, HTTP 5xx, a broken body."""


# Credentials come from variables with these prefixes only, so a source can never be pointed at
# the app's own secrets (DATABASE_URL, SECRET_KEY, PINMAP_* settings) and have them sent upstream.
CREDENTIAL_PREFIXES = ("PINMAP_SOURCE_", "INGEST_")
_CREDENTIAL_NAME = re.compile(r"(?:PINMAP_SOURCE_|INGEST_)[A-Z0-9_]+")
# A query string or user:password@ often carries a token: never keep one in stored error text.
_QUERY = re.compile(r"""((?:\b[a-zA-Z][a-zA-Z0-9+.-]*://)?[^\s?#'"<>]*)\?[^\s#'"<>]+""")
_USERINFO = re.compile(r"(://)[^/\s@'\"<>]*@")
MAX_ERROR_CHARS = 2000
# Seconds: the first retry waits up to twice this, each later one up to twice the one before
# (capped by `max_delay`); a source may set its own (options.retry_delay, ingest/sources.py).
DEFAULT_RETRY_DELAY = 0.2


def credential_name_ok(env_name: str) -> bool:
    return bool(_CREDENTIAL_NAME.fullmatch(env_name))


def redact(text: str) -> str:
    """Error text safe to store and show: no query strings, no userinfo, no NUL, bounded."""
    text = _USERINFO.sub(r"\1…@", text.replace("\x00", ""))
    return _QUERY.sub(r"\1?…", text)[:MAX_ERROR_CHARS]


@dataclass
class Deadline:
    at: float  # time.monotonic() value

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def left(self) -> float:
        return self.at - time.monotonic()


def credential(env_name: str) -> str | None:
    """The secret a source names by environment variable (never stored in the database)."""
    if not env_name:
        return None
    if not credential_name_ok(env_name):
        # Sources saved before the rule existed are refused here too, before any request.
        raise FetchError(
            f"credential variable {env_name} is not allowed: the name must start with "
            f"{' or '.join(CREDENTIAL_PREFIXES)}"
        )
    value = os.environ.get(env_name)
    if not value:
        raise FetchError(f"environment variable {env_name} is not set")
    return value


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


class _CredentialSafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never hand the source's credential to anyone else.

    urllib copies every request header onto the redirected request, `Authorization` included,
    whatever host the `Location` names: a source (or whoever controls its host) could send our
    token to a server of its choosing, or down from https to plain http. The credential goes
    only to the scheme, host and port it was configured for.
    """

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            # urllib would follow ftp:// too; a source is HTTP(S) only, wherever it redirects.
            raise FetchError(f"redirect to an unsupported URL scheme: {redact(newurl)}")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            for name in [k for k in new.headers if k.lower() in _CREDENTIAL_HEADERS]:
                del new.headers[name]
            for name in [k for k in new.unredirected_hdrs if k.lower() in _CREDENTIAL_HEADERS]:
                del new.unredirected_hdrs[name]
        return new


_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_OPENER = urllib.request.build_opener(_CredentialSafeRedirects)


def get_once(url: str, token: str | None, timeout: float, max_bytes: int) -> bytes:
    headers = {"Accept": "application/json, text/csv", "User-Agent": "pinmap-ingest/1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme in {redact(url)}")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code >= 500 or exc.code == 429:
            raise RetryableError(f"HTTP {exc.code}") from exc
        raise FetchError(f"HTTP {exc.code} from {redact(url)}") from exc
    except TimeoutError as exc:
        raise RetryableError("timed out") from exc
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException, OSError) as exc:
        # IncompleteRead (a body cut short) is an HTTPException: the next try may be whole.
        raise RetryableError(redact(f"{type(exc).__name__}: {exc}")) from exc
    if len(body) > max_bytes:
        raise FetchError(f"response larger than {max_bytes} bytes")
    return body


def fetch(
    url: str,
    *,
    token: str | None,
    deadline: Deadline,
    max_bytes: int,
    check: Callable[[bytes], T] | None = None,
    request_timeout: float = 30.0,
    base_delay: float = DEFAULT_RETRY_DELAY,
    max_delay: float = 5.0,
    on_retry: Callable[[str], None] | None = None,
) -> tuple[bytes, T | None]:
    """GET `url`, retrying retryable failures with full-jitter exponential backoff.

    `check` parses the body; a body it rejects (malformed, cut short) is retried like a 5xx.
    Returns the body and what `check` made of it.
    """
    attempt = 0
    last = ""
    while True:
        left = deadline.left()
        if left <= 0:
            # Keep the cause: "timeout" alone would hide a page that can never be read.
            raise FetchError(f"run timeout reached{f' (last error: {last})' if last else ''}")
        try:
            body = get_once(url, token, timeout=min(left, request_timeout), max_bytes=max_bytes)
            return body, (check(body) if check is not None else None)
        except (RetryableError, ValueError) as exc:
            attempt += 1
            last = str(exc)
            delay = random.uniform(0, min(max_delay, base_delay * 2**attempt))  # noqa: S311
            if deadline.left() <= delay:
                raise FetchError(f"gave up after {attempt} attempt(s): {exc}") from exc
            if on_retry is not None:
                on_retry(str(exc))
            time.sleep(delay)
