"""Pure parsers: raw payload bytes → validated records, or the reason a record is refused."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from .contracts import SCHEMAS, STATS_COLUMNS, StatsRow


class PageError(ValueError):
    """A whole response is unusable (not JSON, cut short, wrong shape): the page is retried."""


@dataclass(frozen=True)
class Parsed:
    """A record that passed its schema: `data` is the loaded dict, `raw` the JSON it came from."""

    record_id: str
    data: dict[str, Any]
    payload_sha256: str


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
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def validate_record(kind: str, raw: Any, schema: Schema | None = None) -> Parsed | Refused:
    record_id = str(raw.get("id", ""))[:200] if isinstance(raw, dict) else ""
    text = json.dumps(raw, ensure_ascii=False, default=str)[:4000]
    if not isinstance(raw, dict):
        return Refused(record_id, "", "a record must be a JSON object", text)
    try:
        data = (schema or SCHEMAS[kind]()).load(raw)
    except ValidationError as exc:
        field, reason = _first_error(exc.messages)
        return Refused(record_id, field, reason, text)
    return Parsed(data["id"], data, digest(data))


def parse_page(kind: str, body: bytes) -> tuple[list[Parsed | Refused], str | None]:
    """A JSON envelope page → (records, next cursor). Raises PageError for an unusable page."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PageError(f"response is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise PageError("response has no 'data' list")
    cursor = doc.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise PageError("'next_cursor' must be a string or null")
    schema = SCHEMAS[kind]()
    return [validate_record(kind, raw, schema) for raw in doc["data"]], cursor


def parse_stats_csv(body: bytes) -> list[Parsed | Refused]:
    """stats-csv → one result per data row; a bad row is refused with its line and column."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PageError(f"CSV is not UTF-8: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in STATS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise PageError(f"CSV is missing column(s): {', '.join(missing)}")
    schema = StatsRow()
    out: list[Parsed | Refused] = []
    for row in reader:
        line = reader.line_num
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
