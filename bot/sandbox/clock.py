"""The sandbox's movable clock: it runs with real time from a chosen instant and can be moved forward (never
back: what the bot recorded stays in order). It is the injectable clock (``services/core/clock.py``) the bot,
the scheduler tick and the Bot API's message dates all read."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.calendar.workdays import WorkCalendar

WORKDAY_START = 9  # the hour a move lands on (inside working hours, outside the quiet hours)


class MovableClock:
    """``now()`` = the real time plus an offset; ``move_to`` changes the offset."""

    def __init__(self, tz: ZoneInfo, offset: float = 0.0, *, real: Callable[[], float] = time.time) -> None:
        self.tz = tz
        self.offset = offset
        self._real = real

    @classmethod
    def starting_at(cls, at: datetime, tz: ZoneInfo, *, real: Callable[[], float] = time.time) -> MovableClock:
        if at.tzinfo is None:
            at = at.replace(tzinfo=tz)
        return cls(tz, at.timestamp() - real(), real=real)

    def timestamp(self) -> float:
        return self._real() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), self.tz)

    def jump(self, at: datetime) -> None:
        """Set the clock to ``at``, back or forth (the demo county's history, built before anyone plays)."""
        if at.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self.offset = at.timestamp() - self._real()

    def move_to(self, at: datetime) -> None:
        """Jump to ``at`` (aware); refused when it lies in the sandbox's past."""
        if at.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        if at < self.now():
            raise ValueError("the sandbox's clock only moves forward")
        self.offset = at.timestamp() - self._real()


def _at_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, WORKDAY_START, tzinfo=tz)


def next_working_day(now: datetime, calendar: WorkCalendar) -> datetime:
    """09:00 of the next working day (调休 weekends included, holidays skipped)."""
    day = calendar.next_workday(now.date(), include=False)
    return _at_start(day, now.tzinfo)  # type: ignore[arg-type]


def next_week(now: datetime, calendar: WorkCalendar) -> datetime:
    """09:00 a week later, or of the first working day after that."""
    day = calendar.next_workday(now.date() + timedelta(days=7))
    return _at_start(day, now.tzinfo)  # type: ignore[arg-type]


def year_end(now: datetime, calendar: WorkCalendar) -> datetime:
    """17:00 of the year's last working day (the year-end assessment's time), or the next year's when the
    clock is already there."""
    year = now.year
    while True:
        day = calendar.previous_workday(date(year, 12, 31))
        at = datetime(day.year, day.month, day.day, 17, tzinfo=now.tzinfo)
        if at > now:
            return at
        year += 1
