"""Parsers on recorded payloads: pure, no network, no database."""

from pathlib import Path

import pytest

from ingest.parsers import PageError, Parsed, Refused, parse_page, parse_stats_csv

from ..support.ingest import page, progress_record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"


def test_progress_page_validates_each_record_alone() -> None:
    results, cursor = parse_page("progress-json", (FIXTURES / "progress_page.json").read_bytes())
    assert cursor == "b2Zmc2V0PTc="
    good = [r for r in results if isinstance(r, Parsed)]
    assert [g.record_id for g in good] == ["spp-krabi/policy-1/r1"]
    assert "surprise" not in good[0].data
    refused = {r.record_id: (r.field, r.reason) for r in results if isinstance(r, Refused)}
    assert refused["bad-round"][0] == "round"
    assert refused["bad-status"][0] == "status"
    assert refused["naive-time"][0] == "updated_at"
    assert refused["long"][0] == "narrative.what"
    assert refused["bad-link"][0].startswith("evidence")
    assert refused[""] == ("", "a record must be a JSON object")


def test_same_content_has_the_same_digest_whatever_the_key_order() -> None:
    a = b'{"data": [{"id": "x", "updated_at": "2024-03-25T09:00:00+07:00", "office_code": "o", "fiscal_year": 2567, "item": {"kind": "policy", "no": 1}, "round": 1, "status": "on_plan", "narrative": {}}], "next_cursor": null}'
    b = b'{"next_cursor": null, "data": [{"narrative": {}, "status": "on_plan", "round": 1, "item": {"no": 1, "kind": "policy"}, "fiscal_year": 2567, "office_code": "o", "updated_at": "2024-03-25T09:00:00+07:00", "id": "x"}]}'
    (ra,), _ = parse_page("progress-json", a)
    (rb,), _ = parse_page("progress-json", b)
    assert isinstance(ra, Parsed) and isinstance(rb, Parsed)
    assert ra.payload_sha256 == rb.payload_sha256


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [',
        b"<html>502</html>",
        b'{"items": []}',
        b'{"data": [], "next_cursor": 5}',
        b"\xff\xfe",
    ],
)
def test_unusable_pages_raise(body: bytes) -> None:
    with pytest.raises(PageError):
        parse_page("progress-json", body)


def test_quarterly_page() -> None:
    results, cursor = parse_page("quarterly-json", (FIXTURES / "quarterly_page.json").read_bytes())
    assert cursor is None
    assert isinstance(results[0], Parsed) and results[0].data["points"]["nesdp13"] == "หมุดหมายที่ 12"
    assert isinstance(results[1], Refused) and results[1].field == "quarter"


def test_stats_csv_names_line_and_column() -> None:
    results = parse_stats_csv((FIXTURES / "stats.csv").read_bytes())
    assert isinstance(results[0], Parsed) and results[0].data["students"] == 25011
    assert isinstance(results[1], Parsed) and results[1].data["schools"] is None  # empty = unknown
    assert isinstance(results[2], Refused)
    assert (results[2].field, results[2].reason) == ("schools", "line 4: Not a valid integer.")
    assert isinstance(results[3], Refused) and results[3].field == "as_of"


def test_stats_csv_missing_column() -> None:
    with pytest.raises(PageError, match="students"):
        parse_stats_csv(b"office_code,as_of,schools,teachers,staff\n")


def _one(record: dict[str, object]) -> Parsed | Refused:
    (result,), _ = parse_page("progress-json", page(record))
    return result


def test_deep_nesting_fails_the_page_not_the_process() -> None:
    with pytest.raises(PageError, match="nested too deeply"):
        parse_page("progress-json", b'{"data": [' + b"[" * 100_000 + b"]}")


def test_a_deeply_nested_unknown_field_quarantines_its_record() -> None:
    deep: object = "bottom"
    for _ in range(500):
        deep = [deep]
    refused = _one(progress_record(surprise=deep))
    assert isinstance(refused, Refused) and refused.field == "surprise"
    assert "nested" in refused.reason


def test_a_number_too_long_to_convert_fails_the_page() -> None:
    with pytest.raises(PageError):
        parse_page("progress-json", b'{"data": [' + b"1" * 5000 + b"]}")


def test_a_csv_field_over_the_limit_fails_the_page() -> None:
    body = b"office_code,as_of,schools,teachers,students,staff\n" + b"x" * 200_000 + b",1\n"
    with pytest.raises(PageError, match="field larger than field limit"):
        parse_stats_csv(body)


@pytest.mark.parametrize(
    ("indicator", "field"),
    [
        ({"value": "12", "target": 20}, "indicator.value"),
        ({"value": 12, "target": "20"}, "indicator.target"),
        ({"value": True, "target": 20}, "indicator.value"),
    ],
)
def test_indicator_numbers_are_json_numbers(indicator: dict[str, object], field: str) -> None:
    refused = _one(progress_record(indicator=indicator))
    assert isinstance(refused, Refused) and refused.field == field


def test_quarterly_budget_numbers_are_json_numbers() -> None:
    body = (
        (FIXTURES / "quarterly_page.json")
        .read_bytes()
        .replace(b'"planned": 250000', b'"planned": "250000"')
    )
    results, _ = parse_page("quarterly-json", body)
    assert isinstance(results[0], Refused) and results[0].field == "budget.planned"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "a\x00b"}, "id"),
        ({"office_code": "spp-\x00krabi"}, "office_code"),
        ({"narrative": {"what": "\x00"}}, "narrative.what"),
        ({"no_activity": {"reason": "x\x00", "when": "y"}}, "no_activity.reason"),
        ({"evidence": [{"url": "https://e.go.th/\x00"}]}, "evidence.0.url"),
    ],
)
def test_nul_characters_quarantine_the_record_with_the_field(
    change: dict[str, object], field: str
) -> None:
    refused = _one(progress_record(**change))
    assert isinstance(refused, Refused) and refused.field == field
    assert "NUL" in refused.reason


def test_nul_in_a_csv_row_quarantines_the_row() -> None:
    body = b"office_code,as_of,schools,teachers,students,staff\nspp-\x00krabi,2024-06-10,1,2,3,4\n"
    (refused,) = parse_stats_csv(body)
    assert isinstance(refused, Refused) and refused.field == "office_code"
