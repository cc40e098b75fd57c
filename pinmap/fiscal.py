"""Thai calendar facts in one place: Buddhist Era years, Bangkok time and the fiscal year."""

from __future__ import annotations

import datetime as dt

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
