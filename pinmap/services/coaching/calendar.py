"""iCalendar (RFC 5545) writing, by the icalendar library: cluster sessions and visits."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from icalendar import Calendar, Event, vText
from icalendar.parser import Contentline

# --- iCalendar (RFC 5545) --------------------------------------------------------------------


def ics_escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11), by the icalendar library."""
    return vText(_ics_text(text)).to_ical().decode("utf-8")


def ics_fold(line: str) -> str:
    """A content line folded at 75 octets without splitting a character (RFC 5545 §3.1)."""
    return Contentline(line).to_ical().decode("utf-8")


# Control characters have no place in iCalendar TEXT (RFC 5545 §3.3.11) and some clients
# end a line at a lone CR: line breaks become one "\n" (escaped by icalendar), the rest go.
_ICS_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A URL property is a URI, which icalendar writes as it is: only a plain web address goes
# there (the link stays in the description and location, escaped, whatever it is).
_ICS_URL = re.compile(r"https?://[\x21-\x7e]+")


def _ics_text(text: str) -> str:
    return _ICS_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def ics_calendar(events: Iterable[dict[str, Any]], name: str, now: dt.datetime) -> str:
    """VCALENDAR text written by the icalendar library (escaping, folding, CRLF line ends);
    each event has uid, summary, and start (datetime) or date, optional
    end/duration_minutes, description, location, url."""
    cal = Calendar()
    cal.add("prodid", "-//OBEC//pinmap coaching//TH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # X- properties have no known type, so icalendar would write a plain str unescaped.
    cal.add("x-wr-calname", vText(_ics_text(name)))
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    for ev in events:
        event = Event()
        event.add("uid", vText(_ics_text(ev["uid"])))
        event.add("dtstamp", stamp)
        if "date" in ev:
            day: dt.date = ev["date"]
            event.add("dtstart", day)
            event.add("dtend", day + dt.timedelta(days=1))
        else:
            start = ev["start"].astimezone(dt.UTC).replace(microsecond=0)
            event.add("dtstart", start)
            event.add("dtend", start + dt.timedelta(minutes=ev.get("duration_minutes", 180)))
        event.add("summary", vText(_ics_text(ev["summary"])))
        for key in ("description", "location"):
            if ev.get(key):
                event.add(key, vText(_ics_text(ev[key])))
        if ev.get("url") and _ICS_URL.fullmatch(ev["url"]):
            event.add("url", ev["url"])
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")
