"""The one light function and the working hours of 签收, on 2026 dates the chinese-calendar package knows.

The calendar around National Day 2026 (from the package): Fri 25 September is Mid-Autumn (a holiday);
Thu 1 – Wed 7 October are holidays; Thu 8, Fri 9 and Sat 10 October are working days (Saturday the 10th by
调休); Sun 11 October is not; office hours are 09:00–17:00.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.calendar.workdays import WorkCalendar
from services.items.lights import Light, light, sign_due, worst

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar({})


def at(m: int, d: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(date(2026, m, d), time(hour, minute), tzinfo=TZ)


@pytest.mark.parametrize(("start", "hours", "due"), [
    # Wed 30 Sep 16:00: 1 hour that day, then the holidays, then 7 hours from Thu 8 Oct 09:00 -> 16:00.
    (at(9, 30, 16), 8, at(10, 8, 16)),
    # Fri 25 Sep (Mid-Autumn) 10:00: nothing counts until Mon 28 Sep 09:00; 8 hours -> 17:00 that day.
    (at(9, 25, 10), 8, at(9, 28, 17)),
    # Sat 10 Oct (a working Saturday) 08:00: from 09:00, 8 hours -> 17:00 the same Saturday.
    (at(10, 10, 8), 8, at(10, 10, 17)),
    # Thu 24 Sep 18:00 (after hours), 4 hours: Fri 25 is a holiday, 26–27 a weekend -> Mon 28 Sep 13:00.
    (at(9, 24, 18), 4, at(9, 28, 13)),
    # Fri 9 Oct 15:30, 16 hours: 1.5 hours on Fri, 8 on the working Saturday, 6.5 from Mon 12 Oct -> 15:30.
    (at(10, 9, 15, 30), 16, at(10, 12, 15, 30)),
])
def test_sign_due_counts_office_hours_of_working_days(start, hours, due) -> None:
    assert sign_due(start, hours, CAL) == due


@pytest.mark.parametrize(("now", "state", "sign_due_at", "expected"), [
    # Deadline Fri 9 Oct. On Mon 28 Sep four working days remain (29, 30 Sep, 8, 9 Oct): green.
    (at(9, 28), "signed", None, Light.GREEN),
    # On Tue 29 Sep three remain (30 Sep, 8, 9 Oct), though ten calendar days do: yellow.
    (at(9, 29), "signed", None, Light.YELLOW),
    # During the holidays (Sat 3 Oct) two remain: yellow; on the day itself: yellow.
    (at(10, 3), "signed", None, Light.YELLOW),
    (at(10, 9, 16), "signed", None, Light.YELLOW),
    # The day after the deadline (the working Saturday 10 Oct): red, signed or not.
    (at(10, 10, 9), "signed", None, Light.RED),
    (at(10, 10, 9), "assigned", at(10, 10, 17), Light.RED),
    # Green by date but not signed for in time (due 09:00 Mon 28 Sep, now 10:00): yellow.
    (at(9, 28, 10), "assigned", at(9, 28, 9), Light.YELLOW),
    (at(9, 28, 8), "assigned", at(9, 28, 9), Light.GREEN),
    # Reported, awaiting verification: no colour, even when late; closed and rejected parts.
    (at(10, 12), "reported", None, Light.WAITING),
    (at(10, 12), "closed", None, Light.DONE),
    (at(10, 12), "rejected", None, Light.REJECTED),
])
def test_the_light_of_a_part(now, state, sign_due_at, expected) -> None:
    assert light(state=state, deadline=date(2026, 10, 9), sign_due_at=sign_due_at, now=now, cal=CAL) == expected


def test_an_items_light_is_its_worst_parts() -> None:
    assert worst([Light.GREEN, Light.RED, Light.YELLOW]) == Light.RED
    assert worst([Light.WAITING, Light.YELLOW]) == Light.YELLOW
    assert worst([Light.DONE, Light.REJECTED]) == Light.REJECTED
    assert worst([Light.DONE, Light.WAITING]) == Light.WAITING
    assert worst([]) == Light.DONE
