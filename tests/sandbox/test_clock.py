"""The sandbox's clock: it runs with real time from the chosen instant, moves only forward when played, and its
steps land on working days of the Chinese calendar (2026: the National Day week and its 调休 weekends)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.clock import MovableClock, next_week, next_working_day, year_end
from services.calendar.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar({})  # the package's 2026 schedule


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_the_clock_runs_with_real_time_from_its_start_and_only_moves_forward() -> None:
    real = FakeTime()
    clock = MovableClock.starting_at(at(date(2026, 6, 15), 10), TZ, real=real)
    real.now += 90
    assert clock.now() == at(date(2026, 6, 15), 10, 1).replace(second=30)
    clock.move_to(at(date(2026, 6, 22)))
    assert clock.now() == at(date(2026, 6, 22))
    with pytest.raises(ValueError, match="only moves forward"):
        clock.move_to(at(date(2026, 6, 16)))
    clock.jump(at(date(2026, 5, 4)))  # the demo county's history, before anyone plays
    assert clock.now().date() == date(2026, 5, 4)


@pytest.mark.parametrize(("now", "expected"), [
    (at(date(2026, 6, 15), 16), at(date(2026, 6, 16))),  # Monday afternoon -> Tuesday 09:00
    (at(date(2026, 6, 19), 10), at(date(2026, 6, 22))),  # Friday -> Monday (端午 is on 19 June: a holiday)
    (at(date(2026, 9, 30), 10), at(date(2026, 10, 8))),  # National Day week: 1-7 October off
    (at(date(2026, 9, 19), 10), at(date(2026, 9, 20))),  # a Saturday: Sunday 20 Sept is a 调休 working day
    (at(date(2026, 9, 24), 10), at(date(2026, 9, 28))),  # 中秋 on Friday 25 Sept
])
def test_next_working_day_skips_weekends_and_holidays(now: datetime, expected: datetime) -> None:
    assert next_working_day(now, CAL) == expected


def test_next_week_and_the_years_end() -> None:
    assert next_week(at(date(2026, 6, 15), 10), CAL) == at(date(2026, 6, 22))
    assert next_week(at(date(2026, 9, 25), 10), CAL) == at(date(2026, 10, 8))  # 2-7 Oct are holidays
    assert year_end(at(date(2026, 6, 15), 10), CAL) == at(date(2026, 12, 31), 17)
    assert year_end(at(date(2026, 12, 31), 18), CAL).date().year == 2027  # already past: the next year's
