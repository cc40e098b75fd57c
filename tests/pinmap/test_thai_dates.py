"""Buddhist Era dates typed and shown, Bangkok times, durations and kept line breaks: the shared
pieces in pinmap.fiscal and pinmap.i18n, and forms.day() as every date field reads it."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from pinmap import forms
from pinmap.fiscal import format_day_input, parse_day
from pinmap.i18n import date_input, format_duration, format_moment_be, keep_lines
from pinmap.services.errors import ServiceError


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("01/09/2569", dt.date(2026, 9, 1)),
        ("1/9/2569", dt.date(2026, 9, 1)),
        ("2569-09-01", dt.date(2026, 9, 1)),
        ("๑/๙/๒๕๖๙", dt.date(2026, 9, 1)),
        ("01.09.2569", dt.date(2026, 9, 1)),
        ("2026-09-01", dt.date(2026, 9, 1)),
        ("01/09/2026", dt.date(2026, 9, 1)),
        (" 29/02/2567 ", dt.date(2024, 2, 29)),
    ],
)
def test_a_typed_day_is_read_in_either_era(typed: str, day: dt.date) -> None:
    assert parse_day(typed) == day


@pytest.mark.parametrize("typed", ["", "30/02/2567", "2567-13-01", "1/9/69", "tomorrow", "01/09"])
def test_what_is_not_a_day_is_none(typed: str) -> None:
    assert parse_day(typed) is None


def test_a_day_is_shown_in_the_page_era() -> None:
    assert format_day_input(dt.date(2026, 9, 1), "th") == "01/09/2569"
    assert format_day_input(dt.date(2026, 9, 1), "en") == "01/09/2026"


def test_form_days_store_iso_and_refuse_in_words(app: Flask) -> None:
    assert forms.day("01/09/2569", "opens_on") == dt.date(2026, 9, 1)
    assert forms.day("", "opens_on") is None
    with app.test_request_context("/?lang=th"), pytest.raises(ServiceError) as err:
        forms.day("31/02/2569", "opens_on")
    assert err.value.status == 400 and "01/09/2569" in err.value.msgid


def test_a_typed_moment_is_read_in_either_era() -> None:
    assert forms.moment("12/06/2567 09:00", "starts_at") == dt.datetime(2024, 6, 12, 9, 0)
    assert forms.moment("2024-06-12T09:00", "starts_at") == dt.datetime(2024, 6, 12, 9, 0)
    with pytest.raises(ServiceError):
        forms.moment("12/06/2567 25:00", "starts_at")


def test_moments_and_durations_read_as_people_say_them(app: Flask) -> None:
    utc = dt.datetime(2024, 3, 4, 17, 41, tzinfo=dt.UTC)
    with app.test_request_context("/?lang=th"):
        assert format_moment_be(utc) == "5 มี.ค. 2567 00:41"
        assert format_duration(86_400) == "1 วัน"
        assert format_duration(7_200) == "2 ชั่วโมง"
        assert format_duration(90) == "90 วินาที"
    with app.test_request_context("/?lang=en"):
        assert format_moment_be(utc) == "5 Mar 2567 BE 00:41"
        assert format_duration(86_400) == "1 day"
        assert format_duration(172_800) == "2 days"


def test_line_breaks_are_kept_and_html_is_escaped() -> None:
    shown = str(keep_lines("แรก\r\nสอง <b>x</b>"))
    assert shown == "แรก<br>\nสอง &lt;b&gt;x&lt;/b&gt;"


def test_the_date_field_shows_the_era_and_keeps_what_was_typed(app: Flask) -> None:
    with app.test_request_context("/?lang=th"):
        html = str(date_input("opens_on", dt.date(2026, 9, 1), required=True))
        assert 'value="01/09/2569"' in html and 'data-era="be"' in html and "required" in html
        assert 'value="31/02/2569&lt;"' in str(date_input("opens_on", "31/02/2569<"))
    with app.test_request_context("/?lang=en"):
        assert 'value="01/09/2026"' in str(date_input("opens_on", dt.date(2026, 9, 1)))
