"""The progress contract names an item by its set's code and its framework number, sub-items
included ("4.1"), as the framework stores them."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select

from ingest.jobs import run_source
from ingest.parsers import Parsed, Refused, parse_page
from pinmap.models import PolicyItem, WorkflowReport

from ..support.ingest import IngestDB, Routes, page, progress_record


def _parsed(item: object) -> Parsed | Refused:
    body = json.dumps({"data": [progress_record(item=item)], "next_cursor": None}).encode()
    (result,), _cursor = parse_page("progress-json", body)
    assert isinstance(result, Parsed | Refused)
    return result


def test_item_numbers_whole_or_sub_item_and_any_set_code() -> None:
    for no, text in ((4, "4"), ("4", "4"), ("4.1", "4.1"), ("12.3.1", "12.3.1")):
        got = _parsed({"kind": "policy", "no": no})
        assert isinstance(got, Parsed) and got.data["item"]["no"] == text
    assert isinstance(_parsed({"kind": "action_plan", "no": 2}), Parsed)
    for bad in (0, "4.", "4.0", "x", 1.5, True, None, "1" * 5):
        got = _parsed({"kind": "policy", "no": bad})
        assert isinstance(got, Refused) and got.field.startswith("item"), (bad, got)
    assert isinstance(_parsed({"kind": "Policy!", "no": 1}), Refused)


def test_a_record_on_a_sub_item_lands_on_it(
    rollback_db: IngestDB, fixed_feed: Callable[[Routes], str]
) -> None:
    with rollback_db.factory.begin() as s:
        parent = s.scalars(
            select(PolicyItem).filter_by(fiscal_year=2567, kind="policy", no="1")
        ).one()
        sub = PolicyItem(
            fiscal_year=2567,
            set_id=parent.set_id,
            parent_id=parent.id,
            kind="policy",
            no="1.1",
            title_th="ข้อย่อย",
            title_en="Sub-item",
            verified=False,
        )
        s.add(sub)
        s.flush()
        sub_id = sub.id
    record = progress_record("krabi/policy-1.1/r1", item={"kind": "policy", "no": "1.1"})
    missing = progress_record("krabi/policy-1.9/r1", item={"kind": "policy", "no": "1.9"})
    url = fixed_feed({"/p": page(record, missing)})
    rollback_db.add_source("demo-p", url=f"{url}/p")
    result = run_source(rollback_db.factory, "demo-p")
    assert result.counts["inserted"] == 1 and result.counts["quarantined"] == 1, result
    with rollback_db.factory() as s:
        entry = s.scalars(select(WorkflowReport).where(WorkflowReport.kind == "progress")).one()
        assert entry.subject_id == sub_id
