"""The generated reference endpoint: payload shapes, pagination and every fault switch."""

from __future__ import annotations

import csv
import http.client
import io
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from pinmap.config import PROJECT_ROOT
from tools.reference_endpoint import (
    DATA_ROUTES,
    DEFAULT_SEED,
    DEFAULT_UPDATED_AT,
    INVALID_ID_MARK,
    NOTICE,
    STATS_COLUMNS,
    STATUSES,
    UNKNOWN_OFFICE,
    ReferenceServer,
    load_items,
    load_offices,
    progress_records,
    serve,
)

OFFICES = 245
ITEMS = 21
PROGRESS_TOTAL = OFFICES * ITEMS

Start = Callable[..., tuple[ReferenceServer, str]]


@pytest.fixture
def start() -> Iterator[Start]:
    servers: list[ReferenceServer] = []

    def _start(**kwargs: Any) -> tuple[ReferenceServer, str]:
        server, url = serve(**kwargs)
        servers.append(server)
        return server, url

    yield _start
    for server in servers:
        server.shutdown()


def fetch(
    url: str,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection, closed whatever happens (warnings are errors)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        try:
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            resp.close()
    finally:
        conn.close()


def get_json(url: str, path: str, **kwargs: Any) -> Any:
    status, _headers, body = fetch(url, path, **kwargs)
    assert status == 200, body
    return json.loads(body)


def pages(url: str, route: str, first_query: str = "") -> list[dict[str, Any]]:
    """Every page of a paginated route, following next_cursor as pinmap does."""
    result = [get_json(url, f"{route}{first_query}")]
    while result[-1]["next_cursor"] is not None:
        result.append(get_json(url, f"{route}?cursor={quote(result[-1]['next_cursor'])}"))
    return result


def records(page_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for page in page_list for record in page["data"]]


def statuses(url: str, route: str, count: int) -> list[int]:
    return [fetch(url, route)[0] for _ in range(count)]


# --- payloads without faults ----------------------------------------------------------------


def test_catalogue_read_from_data_csvs() -> None:
    assert len(load_offices()) == OFFICES
    assert len(load_items()) == ITEMS
    assert {kind for kind, _no, _title in load_items()} == {"policy", "quick_win"}


@pytest.mark.parametrize(("seed", "rounds"), [(DEFAULT_SEED, 2), (7, 1)])
def test_generated_progress_passes_the_manual_submission_rules(seed: int, rounds: int) -> None:
    """Every generated record lands (complete, percentages 0-100, numbers as numbers)."""
    from ingest.contracts import ProgressRecord
    from ingest.jobs import _revision_values, progress_problem
    from ingest.parsers import Parsed, validate_record

    schema = ProgressRecord()
    for record in progress_records(seed, rounds, DEFAULT_UPDATED_AT):
        parsed = validate_record("progress-json", record, schema)
        assert isinstance(parsed, Parsed), parsed
        assert progress_problem(_revision_values(parsed.data)) is None, record


def test_progress_pagination_covers_every_record_exactly_once(start: Start) -> None:
    server, url = start()
    page_list = pages(url, "/progress")
    assert len(page_list) == 11  # 5,145 records at the default 500 a page
    assert all(page["_notice"] == NOTICE for page in page_list)
    assert page_list[-1]["next_cursor"] is None
    got = records(page_list)
    assert len(got) == PROGRESS_TOTAL
    expected = {
        f"{code}/{kind}-{no}/r1" for code, _name in load_offices() for kind, no, _t in load_items()
    }
    assert {record["id"] for record in got} == expected
    assert server.stats()["/progress"]["requests"] == 11


def test_progress_record_shape(start: Start) -> None:
    _server, url = start()
    got = records(pages(url, "/progress", "?page_size=5000"))
    offices = {code for code, _name in load_offices()}
    assert {record["status"] for record in got} == set(STATUSES)
    for record in got:
        assert record["updated_at"] == "2024-03-25T09:00:00+07:00"
        assert record["office_code"] in offices
        assert record["fiscal_year"] == 2567 and record["round"] == 1
        assert set(record["narrative"]) == {"what", "where", "how", "result"}
        assert all(0 < len(text) <= 5000 for text in record["narrative"].values())
        for link in record.get("evidence", []):
            assert link["url"].startswith("https://example.go.th/evidence/")
        if "indicator" in record:
            assert record["indicator"]["unit"] in ("number", "percent")
    assert any("indicator" in record for record in got)
    assert any("no_activity" in record for record in got)
    assert any("ณ โรงเรียนในสังกัด" in record["narrative"]["where"] for record in got)


def test_page_size_sticks_to_the_cursor_and_rounds_two_doubles_the_feed(start: Start) -> None:
    _server, url = start(rounds=2, page_size=4000)
    page_list = pages(url, "/progress")
    assert [len(page["data"]) for page in page_list] == [4000, 4000, 2290]
    got = records(page_list)
    assert Counter(record["round"] for record in got) == {1: PROGRESS_TOTAL, 2: PROGRESS_TOTAL}
    assert fetch(url, "/progress?cursor=not-a-cursor")[0] == 400
    assert fetch(url, "/progress?page_size=0")[0] == 400


def test_same_seed_same_feed_other_seed_other_feed(start: Start) -> None:
    _a, url_a = start(seed=7)
    _b, url_b = start(seed=7)
    _c, url_c = start(seed=8, updated_at="2024-04-01T10:00:00+07:00")
    first_a = get_json(url_a, "/progress?page_size=50")["data"]
    assert first_a == get_json(url_b, "/progress?page_size=50")["data"]
    first_c = get_json(url_c, "/progress?page_size=50")["data"]
    assert [r["id"] for r in first_a] == [r["id"] for r in first_c]
    assert [r["narrative"] for r in first_a] != [r["narrative"] for r in first_c]
    assert first_c[0]["updated_at"] == "2024-04-01T10:00:00+07:00"


def test_quarterly_two_projects_four_quarters_per_office(start: Start) -> None:
    _server, url = start()
    page_list = pages(url, "/quarterly")
    assert all(page["_notice"] == NOTICE for page in page_list)
    got = records(page_list)
    assert len(got) == OFFICES * 8
    assert len({record["id"] for record in got}) == len(got)
    per_office = Counter(record["office_code"] for record in got)
    assert set(per_office.values()) == {8}
    points = {
        "target_progress",
        "activity_progress",
        "budget_disbursement",
        "master_plan",
        "nesdp13",
        "problems_suggestions",
    }
    for record in got:
        assert record["quarter"] in (1, 2, 3, 4)
        assert set(record["points"]) == points
        assert 0 <= record["budget"]["disbursed"] <= record["budget"]["planned"]
        assert 0 < len(record["project"]) <= 500


def test_stats_csv_one_row_per_office(start: Start) -> None:
    _server, url = start()
    status, headers, body = fetch(url, "/stats.csv")
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert "GENERATED REFERENCE DATA" in headers["X-Reference-Notice"]
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert tuple(rows[0]) == STATS_COLUMNS
    assert len(rows) == OFFICES + 1
    assert {row[0] for row in rows[1:]} == {code for code, _name in load_offices()}
    for _code, as_of, schools, teachers, students, staff in rows[1:]:
        assert as_of == "2024-06-10"
        assert 50 <= int(schools) <= 400 and 500 <= int(teachers) <= 4000
        assert 8000 <= int(students) <= 80_000 and 30 <= int(staff) <= 120


# --- fault switches -------------------------------------------------------------------------


def test_http500_every_third_request(start: Start) -> None:
    server, url = start(http500_every=3)
    assert statuses(url, "/stats.csv", 9) == [200, 200, 500] * 3
    assert server.stats()["/stats.csv"]["http500"] == 3
    # Counts are per route, so another source's retries do not shift this one's failures.
    assert statuses(url, "/progress?page_size=1", 3) == [200, 200, 500]


def test_http500_first_then_success(start: Start) -> None:
    server, url = start(http500_first=2)
    assert statuses(url, "/progress?page_size=1", 4) == [500, 500, 200, 200]
    counts = server.stats()["/progress"]
    assert (counts["requests"], counts["http500"], counts["ok"]) == (4, 2, 2)


def test_fail_always(start: Start) -> None:
    _server, url = start(fail_always=True)
    for route in DATA_ROUTES:
        assert statuses(url, route, 3) == [500, 500, 500]
    assert fetch(url, "/_health")[0] == 200  # control routes are never faulted


def test_malformed_first_is_not_json(start: Start) -> None:
    _server, url = start(malformed_first=1)
    status, _headers, body = fetch(url, "/progress")
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)
    assert len(get_json(url, "/progress")["data"]) == 500
    status, _headers, body = fetch(url, "/stats.csv")
    assert status == 200 and not body.startswith(b"office_code,")


def test_truncated_first_cuts_the_body_short(start: Start) -> None:
    server, url = start(truncated_first=2)
    for _ in range(2):
        with pytest.raises(http.client.IncompleteRead):
            fetch(url, "/progress")
    assert len(get_json(url, "/progress")["data"]) == 500
    assert server.stats()["/progress"]["truncated"] == 2


def test_duplicates_repeat_last_record_of_previous_page(start: Start) -> None:
    _server, url = start(duplicates=True)
    page_list = pages(url, "/progress", "?page_size=2000")
    for previous, page in zip(page_list, page_list[1:], strict=False):
        assert page["data"][0] == previous["data"][-1]
    got = records(page_list)
    assert len(got) == PROGRESS_TOTAL + len(page_list) - 1
    assert len({record["id"] for record in got}) == PROGRESS_TOTAL


def test_out_of_order_sends_newer_version_before_older(start: Start) -> None:
    _server, url = start(out_of_order=True, page_size=2000)
    got = records(pages(url, "/progress"))
    seen: dict[str, dict[str, Any]] = {}
    twice = []
    for record in got:
        if record["id"] in seen:
            twice.append((seen[record["id"]], record))
        seen[record["id"]] = record
    assert len(seen) == PROGRESS_TOTAL
    assert len(twice) == PROGRESS_TOTAL // 50
    for newer, older in twice:
        assert newer["updated_at"] == "2024-03-26T09:00:00+07:00"
        assert older["updated_at"] == "2024-03-25T09:00:00+07:00"
        assert newer["narrative"] != older["narrative"]
    quarterly = records(pages(url, "/quarterly"))
    assert len(quarterly) - len({r["id"] for r in quarterly}) == OFFICES * 8 // 50


def test_unknown_refs_inject_records_to_quarantine(start: Start) -> None:
    _server, url = start(unknown_refs=True, page_size=1000)
    got = records(pages(url, "/progress"))
    assert len(got) == len({record["id"] for record in got})  # injected ids are distinct
    assert sum(record["office_code"] == UNKNOWN_OFFICE for record in got) >= 3
    assert sum(record["item"] == {"kind": "policy", "no": 42} for record in got) >= 3
    invalid = {r["id"].rsplit(INVALID_ID_MARK, 1)[1]: r for r in got if INVALID_ID_MARK in r["id"]}
    assert invalid["round"]["round"] == "one"
    assert invalid["fiscal_year"]["fiscal_year"] == "2567"
    assert "status" not in invalid["status"]
    # Spread over the feed, not bunched on one page.
    positions = [i for i, r in enumerate(got) if r["office_code"] == UNKNOWN_OFFICE]
    assert positions[-1] - positions[0] > 1000

    quarterly = records(pages(url, "/quarterly"))
    assert any(record["office_code"] == UNKNOWN_OFFICE for record in quarterly)
    assert any(record.get("quarter") == "Q4" for record in quarterly)

    rows = list(csv.reader(io.StringIO(fetch(url, "/stats.csv")[2].decode("utf-8"))))
    assert len(rows) > OFFICES + 1
    assert any(row[0] == UNKNOWN_OFFICE for row in rows)
    assert any("many" in row for row in rows)


def test_latency_is_measurable(start: Start) -> None:
    _server, url = start(latency_ms=150)
    began = time.monotonic()
    assert fetch(url, "/stats.csv")[0] == 200
    assert time.monotonic() - began >= 0.15
    began = time.monotonic()
    assert fetch(url, "/_health")[0] == 200
    assert time.monotonic() - began < 0.15


def test_timeout_first_hangs_until_the_client_gives_up(start: Start) -> None:
    server, url = start(timeout_first=1, timeout_sleep_s=0.6)
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        fetch(url, "/progress?page_size=1", timeout=0.2)
    assert time.monotonic() - began < 0.5
    status, _headers, _body = fetch(url, "/progress?page_size=1", timeout=0.4)
    assert status == 200
    assert server.stats()["/progress"]["timeouts"] == 1


def test_timeout_first_answers_after_the_sleep(start: Start) -> None:
    _server, url = start(timeout_first=1, timeout_sleep_s=0.3)
    began = time.monotonic()
    assert fetch(url, "/stats.csv")[0] == 200
    assert time.monotonic() - began >= 0.3


def test_token_required_on_data_routes(start: Start) -> None:
    server, url = start(token="s3cret", http500_first=1)
    status, headers, _body = fetch(url, "/progress")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert fetch(url, "/progress", headers={"Authorization": "Bearer wrong"})[0] == 401
    good = {"Authorization": "Bearer s3cret"}
    # Rejected requests do not use up "first N" faults: the first authorised one still fails.
    assert fetch(url, "/progress?page_size=1", headers=good)[0] == 500
    assert fetch(url, "/progress?page_size=1", headers=good)[0] == 200
    assert fetch(url, "/_health")[0] == 200
    counts = server.stats()["/progress"]
    assert (counts["requests"], counts["unauthorized"]) == (4, 2)


def test_fault_control_routes(start: Start) -> None:
    _server, url = start()
    assert get_json(url, "/_faults")["http500_every"] == 0
    body = json.dumps({"http500_first": 1, "duplicates": True}).encode()
    changed = get_json(url, "/_faults", method="POST", body=body)
    assert changed["http500_first"] == 1 and changed["duplicates"] is True
    assert get_json(url, "/_faults") == changed
    assert statuses(url, "/stats.csv", 2) == [500, 200]
    assert get_json(url, "/_stats")["/stats.csv"]["requests"] == 2
    for bad in ({"nope": 1}, {"http500_first": -1}, {"duplicates": 1}, {"latency_ms": True}):
        status, _h, _b = fetch(url, "/_faults", method="POST", body=json.dumps(bad).encode())
        assert status == 400, bad
    assert get_json(url, "/_faults") == changed  # a rejected change changes nothing
    cleared = get_json(url, "/_reset", method="POST", body=b"")
    assert cleared["http500_first"] == 0 and cleared["duplicates"] is False
    assert get_json(url, "/_stats")["/stats.csv"]["requests"] == 0
    assert fetch(url, "/stats.csv")[0] == 200


def test_shutdown_closes_the_port() -> None:
    server, url = serve()
    assert fetch(url, "/_health")[0] == 200
    server.shutdown()
    with pytest.raises(ConnectionRefusedError):
        fetch(url, "/_health", timeout=1)


def test_command_line_prints_url_and_applies_fault_flags() -> None:
    command = [sys.executable, "-m", "tools.reference_endpoint", "--port", "0", "--quiet"]
    command += ["--http500-first", "1", "--page-size", "100"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("reference endpoint on http://127.0.0.1:")
            url = line.rsplit(" ", 1)[1]
            assert fetch(url, "/progress")[0] == 500
            page = get_json(url, "/progress")
            assert len(page["data"]) == 100 and page["_notice"] == NOTICE
        finally:
            proc.terminate()
            proc.wait(timeout=5)
