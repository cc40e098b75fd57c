"""Thai calendar facts in one place: Buddhist Era years, Bangkok time and the fiscal year."""

from __future__ import annotations

import datetime as dt
import re

BE_OFFSET = 543

# Thailand has no daylight saving time: a fixed offset is exact, and needs no tz database.
BANGKOK = dt.timezone(dt.timedelta(hours=7), "Asia/Bangkok")


def be_year(year_ce: int) -> int:
    """The Buddhist Era year of a Common Era year (2024 → 2567)."""
    return year_ce + BE_OFFSET


def ce_year(year_be: int) -> int:
    """The Common Era year of a Buddhist Era year (2567 → 2024)."""
    return year_be - BE_OFFSET


def fiscal_year_bounds(year_be: int) -> tuple[dt.date, dt.date]:
    """Thai fiscal year `year_be` runs 1 October of the previous Gregorian year to 30 September."""
    year_ce = ce_year(year_be)
    return dt.date(year_ce - 1, 10, 1), dt.date(year_ce, 9, 30)


def fiscal_year_of(day: dt.date) -> int:
    """The Buddhist-Era fiscal year containing `day` (it starts on 1 October)."""
    return be_year(day.year) + (1 if day.month >= 10 else 0)


def to_bangkok(moment: dt.datetime) -> dt.datetime:
    """An aware moment as Bangkok wall-clock time; a naive one is taken to be Bangkok time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=BANGKOK)
    return moment.astimezone(BANGKOK)


def now_bangkok() -> dt.datetime:
    return dt.datetime.now(BANGKOK)


def today_bangkok(now: dt.datetime | None = None) -> dt.date:
    """The date in Bangkok at `now` (an aware moment; the present when omitted)."""
    return to_bangkok(now).date() if now is not None else now_bangkok().date()


def current_fiscal_year(now: dt.datetime | None = None) -> int:
    """The fiscal year Bangkok is in at `now` (the present when omitted)."""
    return fiscal_year_of(today_bangkok(now))


# Years from here on are Buddhist Era when typed: 2400 BE is 1857 CE, and no date the app keeps
# is anywhere near 2400 CE, so one number decides the era whatever the page's language.
BE_TYPED_FROM = 2400
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY_DAY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")


def parse_day(text: str) -> dt.date | None:
    """A typed date as a day, or None when it is not one.

    Takes `dd/mm/yyyy` (also with `.` or `-`), and `yyyy-mm-dd`; a year of 2400 or more is a
    Buddhist Era year (`01/09/2569` and `2569-09-01` are 1 September 2026), a smaller one Common
    Era (`2026-09-01`, what browsers, the API and older forms send); Thai digits are read too.
    """
    typed = text.strip().translate(_THAI_DIGITS)
    found = _ISO_DAY.fullmatch(typed)
    if found:
        year, month, day = (int(g) for g in found.groups())
    else:
        found = _DMY_DAY.fullmatch(typed)
        if not found:
            return None
        day, month, year = (int(g) for g in found.groups())
    if year >= BE_TYPED_FROM:
        year = ce_year(year)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def format_day_input(day: dt.date, locale: str) -> str:
    """The text a date field shows: `01/09/2569` in Thai (Buddhist Era), `01/09/2026` in English."""
    year = be_year(day.year) if locale == "th" else day.year
    return f"{day.day:02d}/{day.month:02d}/{year}"
