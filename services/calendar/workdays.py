"""The working-day calendar: which dates are working days in China.

A year's rules come from, in order: the schedule the office loaded (table ``calendar_years``,
``duban calendar load``), which replaces the package's data for that whole year; else the
``chinese-calendar`` package (official holidays and 调休 working weekends, 2004–2026 in 1.11.0);
else plain weekends (Monday to Friday work), and the year is remembered in
``unknown_years_used`` so that the admins can be told once per year (``warn_unknown_years``).

A year's rules are two sets: weekday holidays and weekend working days (a holiday on a weekend
changes nothing). Counting working days is arithmetic on those sets, not a walk over the days.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import cache

import chinese_calendar
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.calendar import CalendarYear
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from services.core import outbox
from services.core.clock import Clock

__all__ = [
    "WorkCalendar",
    "load_calendar",
    "package_rules",
    "read_calendar",
    "warn_unknown_years",
]

log = logging.getLogger(__name__)

ONE_DAY = timedelta(days=1)
Rules = tuple[frozenset[date], frozenset[date]]  # (holidays, working days)


def _weekend(day: date) -> bool:
    return day.weekday() >= 5


def _as_date(day: date) -> date:
    # A datetime never equals a date, so it would miss every set lookup.
    return day.date() if isinstance(day, datetime) else day


@cache
def package_rules(year: int) -> Rules | None:
    """The package's rules for a year as (weekday holidays, weekend working days), None if it does not
    know the year. Derived from ``chinese_calendar.is_workday`` day by day, once per process."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    holidays: set[date] = set()
    workdays: set[date] = set()
    first = date(year, 1, 1).toordinal()
    for ordinal in range(first, date(year, 12, 31).toordinal() + 1):
        day = date.fromordinal(ordinal)
        works = chinese_calendar.is_workday(day)
        if works and _weekend(day):
            workdays.add(day)
        elif not works and not _weekend(day):
            holidays.add(day)
    return frozenset(holidays), frozenset(workdays)


def _weekdays_in(lo: date, hi: date) -> int:
    """How many Mondays–Fridays lie in [lo, hi] (0 when hi < lo)."""
    days = hi.toordinal() - lo.toordinal() + 1
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    start = lo.weekday()
    return weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)


class WorkCalendar:
    """Working days for any date; never raises for a year nobody knows (plain weekends instead)."""

    def __init__(self, loaded: Mapping[int, tuple[frozenset[date], frozenset[date]]]) -> None:
        self._loaded: dict[int, tuple[frozenset[date], frozenset[date]]] = {
            int(year): (frozenset(h), frozenset(w)) for year, (h, w) in loaded.items()
        }
        self._unknown: set[int] = set()

    # --- rules per year ---------------------------------------------------------------------------

    def _rules(self, year: int) -> tuple[frozenset[date], frozenset[date]] | None:
        rules = self._loaded.get(year) or package_rules(year)
        if rules is None:
            self._unknown.add(year)
        return rules

    def known(self, year: int) -> bool:
        """Whether the year has an official schedule (loaded, or known to the package)."""
        return year in self._loaded or package_rules(year) is not None

    def source(self, year: int) -> str:
        """Where the year's rules come from: ``loaded``, ``package`` or ``weekends``."""
        if year in self._loaded:
            return "loaded"
        return "package" if package_rules(year) is not None else "weekends"

    def unknown_years_used(self) -> set[int]:
        """Years for which a date was answered with plain weekends during this object's life."""
        return set(self._unknown)

    @property
    def loaded_years(self) -> set[int]:
        return set(self._loaded)

    # --- single days ------------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        day = _as_date(day)
        rules = self._rules(day.year)
        if rules is None:
            return not _weekend(day)
        holidays, workdays = rules
        if day in workdays:
            return True
        return not _weekend(day) and day not in holidays

    def next_workday(self, day: date, *, include: bool = True) -> date:
        """The first working day on or after ``day`` (strictly after it with ``include=False``)."""
        current = _as_date(day) if include else _as_date(day) + ONE_DAY
        while not self.is_workday(current):
            current += ONE_DAY
        return current

    def previous_workday(self, day: date, *, include: bool = True) -> date:
        """The last working day on or before ``day`` (strictly before it with ``include=False``)."""
        current = _as_date(day) if include else _as_date(day) - ONE_DAY
        while not self.is_workday(current):
            current -= ONE_DAY
        return current

    # --- spans ------------------------------------------------------------------------------------

    def workdays_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (0 when end <= start)."""
        start, end = _as_date(start), _as_date(end)
        if end <= start:
            return 0
        first = start + ONE_DAY
        total = 0
        for year in range(first.year, end.year + 1):
            lo, hi = max(first, date(year, 1, 1)), min(end, date(year, 12, 31))
            count = _weekdays_in(lo, hi)
            rules = self._rules(year)
            if rules is not None:
                holidays, workdays = rules
                count -= sum(1 for d in holidays if lo <= d <= hi and not _weekend(d) and d not in workdays)
                count += sum(1 for d in workdays if lo <= d <= hi and _weekend(d))
            total += count
        return total

    def add_workdays(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (before it when n < 0; ``day`` itself when n == 0)."""
        current = _as_date(day)
        for _ in range(abs(n)):
            current = (self.next_workday if n > 0 else self.previous_workday)(current, include=False)
        return current


def _parse_dates(values: Iterable[str], year: int, what: str) -> frozenset[date]:
    days = set()
    for value in values:
        try:
            days.add(date.fromisoformat(str(value)))
        except ValueError:
            log.warning("calendar_years %s: ignoring bad %s entry %r", year, what, value)
    return frozenset(days)


def calendar_from_rows(rows: Iterable[CalendarYear]) -> WorkCalendar:
    return WorkCalendar({
        row.year: (_parse_dates(row.holidays, row.year, "holiday"), _parse_dates(row.workdays, row.year, "workday"))
        for row in rows
    })


async def read_calendar(session: AsyncSession) -> WorkCalendar:
    """The calendar with every loaded year, read in the caller's transaction."""
    rows = (await session.exec(select(CalendarYear).order_by(col(CalendarYear.year)))).all()
    return calendar_from_rows(rows)


async def load_calendar(*, uow: UnitOfWork) -> WorkCalendar:
    """The calendar with every loaded year (``uow`` may be entered already or not)."""
    try:
        session = uow.session
    except RuntimeError:
        async with uow:
            return await read_calendar(uow.session)
    return await read_calendar(session)


async def _active_admins(session: AsyncSession) -> list[Person]:
    return list((await session.exec(
        select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.ADMIN.value, Person.active == True,  # noqa: E712
               col(Person.joined_at).is_not(None), col(Person.telegram_user_id).is_not(None))
        .order_by(col(Person.id)).distinct()
    )).all())


async def warn_unknown_years(years: Iterable[int], *, session: AsyncSession, clock: Clock) -> int:
    """Queue "no official calendar for YEAR" to every active joined admin, once per year per admin
    (outbox dedup key ``calendar:unknown:YEAR``), in the caller's transaction. Years loaded meanwhile
    are skipped. Returns how many messages were queued."""
    wanted = sorted(set(years))
    if not wanted:
        return 0
    loaded = set((await session.exec(
        select(CalendarYear.year).where(col(CalendarYear.year).in_(wanted))
    )).all())
    wanted = [y for y in wanted if y not in loaded]
    if not wanted:
        return 0
    queued = 0
    for admin in await _active_admins(session):
        for year in wanted:
            row = await outbox.enqueue_to_person(
                session, clock, admin, text=th("calendar.unknown_year", admin.language, year=year),
                kind="calendar.unknown", dedup_key=f"calendar:unknown:{year}", parse_mode="HTML",
            )
            if row is not None:
                queued += 1
    if queued:
        await session.flush()  # the session does not autoflush: a second call must see these rows
    return queued
