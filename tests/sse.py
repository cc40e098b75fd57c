"""A minimal Server-Sent Events client for tests and benchmarks (http.client, loopback only)."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Event:
    id: int | None
    event: str
    data: Any
    received: float


class SSEClient:
    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.served_by = self.response.getheader("X-Served-By")

    def next_event(self, timeout: float = 5) -> Event | None:
        """The next `event:` block (comments and retry lines skipped), or None on timeout."""
        deadline = time.monotonic() + timeout
        fields: dict[str, str] = {}
        sock = self.response.fp.raw._sock  # type: ignore[attr-defined]
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                raw = self.response.fp.readline()
            except TimeoutError:
                return None
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if line == "":
                if "event" in fields or "data" in fields:
                    return Event(
                        int(fields["id"]) if "id" in fields else None,
                        fields.get("event", "message"),
                        json.loads(fields.get("data", "null")),
                        time.monotonic(),
                    )
                fields = {}
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            key, _, value = line.partition(":")
            fields[key] = value.lstrip(" ")
        return None

    def close(self) -> None:
        # The response holds its own reference to the socket: without closing it the server
        # never sees the client leave.
        self.response.close()
        self.conn.close()
