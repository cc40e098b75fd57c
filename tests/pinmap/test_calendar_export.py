"""iCalendar exports are written by the icalendar library: no text can start a line of its own."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy.orm import Session

from pinmap.services import coaching as svc

from ..signin import sign_in
from ..support.coaching import _round
from ..support.portal import World

NOW = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)
INJECTED = (
    "\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:ATTACK\r\nATTENDEE:mailto:x@evil.example"
)
BAD_LINK = "https://zoom.us/j/1" + INJECTED


def _lines(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.removesuffix("\r\n").split("\r\n")


def _unfolded(text: str) -> list[str]:
    return [line for line in text.replace("\r\n ", "").split("\r\n") if line]


def test_text_with_line_breaks_commas_and_semicolons_stays_one_value() -> None:
    summary = "ติดตาม; รอบ 3, Cluster 13" + INJECTED
    location = "ห้อง 1, อาคาร 2; ชั้น 3\\ฝั่งซ้าย" + INJECTED
    description = "บรรทัดหนึ่ง\nบรรทัดสอง\r\nบรรทัดสาม\rบรรทัดสี่\x07" + INJECTED
    text = svc.ics_calendar(
        [
            {
                "uid": "cluster-session-1-13@pinmap.test",
                "summary": summary,
                "location": location,
                "description": description,
                "url": BAD_LINK,
                "start": NOW,
            }
        ],
        "ปฏิทิน; ทดสอบ,\r\nX-INJECTED:1",
        NOW,
    )
    for line in _lines(text):
        assert len(line.encode()) <= 75
    unfolded = _unfolded(text)
    names = [line.split(":", 1)[0].split(";", 1)[0] for line in unfolded]
    assert names.count("BEGIN") == names.count("END") == 2  # the calendar and one event
    assert "ATTENDEE" not in names and "X-INJECTED" not in names and names.count("UID") == 1
    assert "URL" not in names  # a link with a line break is no web address
    (event,) = Calendar.from_ical(text).walk("VEVENT")
    # icalendar reads back exactly the text that went in, line breaks as "\n".
    assert str(event["summary"]) == summary.replace("\r\n", "\n")
    assert str(event["location"]) == location.replace("\r\n", "\n")
    assert str(event["description"]) == (
        description.replace("\r\n", "\n").replace("\r", "\n").replace("\x07", "")
    )
    assert str(event["uid"]) == "cluster-session-1-13@pinmap.test"
    assert event.decoded("dtstart") == NOW
    # An X- property has no known type, so the parser leaves it escaped: one line, escaped.
    assert "X-WR-CALNAME:ปฏิทิน\\; ทดสอบ\\,\\nX-INJECTED:1" in unfolded


def test_a_plain_link_is_the_url_property() -> None:
    text = svc.ics_calendar(
        [{"uid": "u@h", "summary": "s", "start": NOW, "url": "https://zoom.us/j/1?pwd=a,b;c"}],
        "n",
        NOW,
    )
    (event,) = Calendar.from_ical(text).walk("VEVENT")
    assert str(event["url"]) == "https://zoom.us/j/1?pwd=a,b;c"


def test_session_link_with_a_line_break_cannot_add_events(
    c: FlaskClient, w: World, session: Session
) -> None:
    rnd = _round(session, 3)
    r = c.put(
        f"/api/v1/rounds/{rnd.id}/sessions/13",
        headers=w.headers("admin"),
        json={"starts_at": "2024-06-12T09:00:00+07:00", "link": BAD_LINK},
    )
    assert r.status_code in (200, 400), r.get_json()
    sign_in(c, w.users["reviewer"])
    text = c.get(f"/coaching/rounds/{rnd.id}/sessions.ics").get_data(as_text=True)
    names = [line.split(":", 1)[0] for line in _unfolded(text)]
    assert "ATTENDEE" not in names and "URL" not in names
    assert names.count("BEGIN") == names.count("END") == 1 + names.count("UID")
    events = Calendar.from_ical(text).walk("VEVENT")
    assert all(str(e["uid"]) != "evil" and str(e["summary"]) != "ATTACK" for e in events)
    if r.status_code == 200:  # the link was kept: it is in the calendar as text
        (event,) = events
        assert str(event["location"]) == BAD_LINK.replace("\r\n", "\n")
