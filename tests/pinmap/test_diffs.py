"""services/diffs.py: the pin move, school rows and fields a review desk shows (pure)."""

from __future__ import annotations

import pytest

from pinmap.services import diffs


def _school(code: str, name: str = "โรงเรียน", **kw: object) -> dict[str, object]:
    return {
        "code": code,
        "name_th": name,
        "amphoe_th": "เมือง",
        "level": "ประถม",
        "lon": 98.9,
        "lat": 8.05,
        **kw,
    }


def test_pin_change_measures_the_move() -> None:
    change = diffs.pin_change((98.9, 8.0), (98.9, 8.1))
    assert change.moved
    assert change.distance_m == pytest.approx(11_120, rel=0.01)
    same = diffs.pin_change((98.9000001, 8.0), (98.9, 8.0))
    assert not same.moved and same.distance_m == 0


@pytest.mark.parametrize("bad", [None, "x", (1,), (float("nan"), 1.0), ("a", "b")])
def test_pin_change_takes_nothing_odd_as_a_position(bad: object) -> None:
    change = diffs.pin_change(bad, (100.5, 13.7))
    assert change.old is None and change.new == (100.5, 13.7) and change.distance_m is None


def test_school_rows_lists_added_removed_and_changed_by_code() -> None:
    old = [_school("1"), _school("2"), _school("3", lat=8.0)]
    new = [_school("3", lat=8.2, name="ใหม่"), _school("1"), _school("4")]
    d = diffs.school_rows(old, new)
    assert [r["code"] for r in d.added] == ["4"]
    assert [r["code"] for r in d.removed] == ["2"]
    assert [(c.code, c.fields) for c in d.changed] == [("3", ("name_th", "lat"))]
    assert d.changed[0].before["lat"] == 8.0 and d.changed[0].after["lat"] == 8.2
    assert d.unchanged == 1 and not d.empty


def test_school_rows_reads_none_as_empty_and_rounds_coordinates() -> None:
    old = [_school("1", level=None, lon=98.90000001)]
    new = [_school("1", level="", lon=98.9)]
    d = diffs.school_rows(old, new)
    assert d.empty and d.unchanged == 1


def test_school_rows_are_bounded() -> None:
    d = diffs.school_rows([], [_school(f"{i:05}") for i in range(25)], limit=10)
    assert len(d.added) == 10 and d.more["added"] == 15
    assert [r["code"] for r in d.added][:2] == ["00000", "00001"]


def test_rows_without_a_code_are_skipped() -> None:
    assert diffs.school_rows([{"name_th": "x"}], [{"code": ""}]).empty


def test_field_changes() -> None:
    old = {"address": "1 ถนน", "phone": None, "staff_count": 12}
    new = {"address": "2 ถนน", "phone": "", "staff_count": 12, "email": "a@b.th"}
    changes = diffs.field_changes(old, new, ["address", "phone", "email", "staff_count"])
    assert [(c.key, c.before, c.after) for c in changes] == [
        ("address", "1 ถนน", "2 ถนน"),
        ("email", None, "a@b.th"),
    ]
    assert diffs.field_changes(None, None, ["address"]) == []
