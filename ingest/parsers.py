"""Pure parsers: raw payload bytes → validated records, or the reason a record is refused."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from .contracts import SCHEMAS, STATS_COLUMNS, StatsRow

# A record's own shape is three levels deep; unknown fields may add a little, never hundreds
# (deeper input would only make the recursive code that reads it blow the stack).
MAX_RECORD_DEPTH = 16


class PageError(ValueError):
    """A whole response is unusable (not JSON, cut short, wrong shape): the page is retried."""


@dataclass(frozen=True)
class Parsed:
    """A record that passed its schema: `data` is the loaded dict, `raw` the JSON it came from."""

    record_id: str
    data: dict[str, Any]
    payload_sha256: str


@dataclass(frozen=True)
class Unchanged:
    """A record byte-for-byte (key order aside) the version already taken: not validated again."""

    record_id: str


@dataclass(frozen=True)
class Refused:
    """A record that failed its schema: quarantined with the first field at fault."""

    record_id: str
    field: str
    reason: str
    raw: str


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """('narrative.what', 'Longer than maximum length 5000.') from marshmallow's nested dict."""
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        return _first_error(messages[key], f"{prefix}.{key}" if prefix else str(key))
    if isinstance(messages, list) and messages:
        return (
            _first_error(messages[0], prefix)
            if not isinstance(messages[0], str)
            else (prefix, messages[0])
        )
    return prefix, str(messages)


def digest(obj: Any) -> str:
    # surrogatepass: a lone surrogate from JSON ("\\ud800") is refused later, not here.
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode(
            "utf-8", "surrogatepass"
        )
    ).hexdigest()


def _too_deep(value: Any, limit: int) -> bool:
    """Whether `value` nests containers deeper than `limit` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def validate_record(
    kind: str,
    raw: Any,
    schema: Schema | None = None,
    known: Mapping[str, str] | None = None,
) -> Parsed | Refused | Unchanged:
    """Validate one JSON record. Its digest is of the record as sent (keys sorted), so a record
    sent again unchanged is recognised (`known`: id → digest already taken) before the schema,
    which costs most of a no-change sync, runs again."""
    record_id = str(raw.get("id", ""))[:200] if isinstance(raw, dict) else ""
    if isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, dict | list) and _too_deep(value, MAX_RECORD_DEPTH - 1):
                reason = f"nested more than {MAX_RECORD_DEPTH} levels deep"
                return Refused(record_id, str(key)[:100], reason, "")
    elif isinstance(raw, list) and _too_deep(raw, MAX_RECORD_DEPTH):
        return Refused(record_id, "", f"nested more than {MAX_RECORD_DEPTH} levels deep", "")
    if not isinstance(raw, dict):
        return Refused(record_id, "", "a record must be a JSON object", _raw_text(raw))
    sha = digest(raw)
    if known is not None and known.get(record_id) == sha and raw.get("id") == record_id:
        return Unchanged(record_id)
    try:
        data = (schema or SCHEMAS[kind]()).load(raw)
    except ValidationError as exc:
        field, reason = _first_error(exc.messages)
        return Refused(record_id, field, reason, _raw_text(raw))
    except Exception as exc:  # noqa: BLE001 (untrusted input: one odd record never sinks a page)
        return Refused(
            record_id, "", f"could not be validated: {type(exc).__name__}", _raw_text(raw)
        )
    return Parsed(data["id"], data, sha)


def _raw_text(raw: Any) -> str:
    return json.dumps(raw, ensure_ascii=False, default=str)[:4000]


def parse_page(
    kind: str, body: bytes, known: Mapping[str, str] | None = None
) -> tuple[list[Parsed | Refused | Unchanged], str | None]:
    """A JSON envelope page → (records, next cursor). Raises PageError for an unusable page.

    `known` (record id → digest already taken) lets a record sent again unchanged skip the schema.
    """
    try:
        doc = json.loads(body)
    except RecursionError as exc:
        raise PageError("response is nested too deeply to be a page") from exc
    except ValueError as exc:  # not JSON, not UTF-8, or a number too long to convert
        raise PageError(f"response is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise PageError("response has no 'data' list")
    cursor = doc.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise PageError("'next_cursor' must be a string or null")
    schema = SCHEMAS[kind]()
    return [validate_record(kind, raw, schema, known) for raw in doc["data"]], cursor


def parse_stats_csv(body: bytes) -> list[Parsed | Refused]:
    """stats-csv → one result per data row; a bad row is refused with its line and column."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PageError(f"CSV is not UTF-8: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise PageError(f"CSV header: {exc}") from exc
    missing = [c for c in STATS_COLUMNS if c not in header]
    if missing:
        raise PageError(f"CSV is missing column(s): {', '.join(missing)}")
    schema = StatsRow()
    out: list[Parsed | Refused] = []
    try:
        rows = [(row, reader.line_num) for row in reader]
    except csv.Error as exc:  # a field over the csv module's size limit, for one
        raise PageError(f"CSV near line {reader.line_num + 1}: {exc}") from exc
    for row, line in rows:
        clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
        clean = {k: (None if v == "" and k != "office_code" else v) for k, v in clean.items()}
        record_id = f"{clean.get('office_code') or '?'}@{clean.get('as_of') or '?'}"
        try:
            data = schema.load(clean)
        except ValidationError as exc:
            field, reason = _first_error(exc.messages)
            out.append(Refused(record_id, field, f"line {line}: {reason}", json.dumps(row)))
            continue
        data["id"] = f"{data['office_code']}@{data['as_of'].isoformat()}"
        out.append(Parsed(data["id"], data, digest(data)))
    return out
