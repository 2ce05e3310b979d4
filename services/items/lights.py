"""The traffic light of a supervision item's part, and of an item: the one function every list, push, card,
export and the criticism notice ask (``light``), and when a unit's 签收 is late (``sign_due``).

A part that is still the unit's to do (assigned, or signed and being worked on):
- red: past its deadline (the day after the deadline onwards);
- yellow: due within ``SOON`` working days (the deadline is today, or at most 3 working days after today),
  or not signed for in time (assigned and past its ``sign_due_at``);
- green: otherwise.
A part whose completion the unit has reported waits for the verifier (``waiting``, no colour: the unit has
done its part until told otherwise); a closed part is ``done`` (销号) or ``rejected`` (不予销号).
An item's light is the worst of its parts' (red, yellow, green, waiting, rejected, done in that order).

Working hours (for 签收): ``OFFICE_START``–``OFFICE_END`` on working days (services/calendar/workdays.py),
so 8 working hours are one working day whenever they start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from services.calendar.workdays import WorkCalendar

SOON = 3  # working days: yellow when the deadline is this close
OFFICE_START, OFFICE_END = time(9, 0), time(17, 0)


class Light(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    WAITING = "waiting"
    REJECTED = "rejected"
    DONE = "done"


ICON = {Light.RED: "🔴", Light.YELLOW: "🟡", Light.GREEN: "🟢", Light.WAITING: "🔵", Light.REJECTED: "⛔",
        Light.DONE: "✅"}
RANK = {light: n for n, light in enumerate(Light)}  # worst first
OPEN_STATES = ("assigned", "signed")  # still the unit's to do


def light(*, state: str, deadline: date, sign_due_at: datetime | None, now: datetime,
          cal: WorkCalendar) -> Light:
    """The light of a part in ``state`` with ``deadline`` (a date) at ``now`` (aware, in the county's zone)."""
    if state == "closed":
        return Light.DONE
    if state == "rejected":
        return Light.REJECTED
    if state not in OPEN_STATES:
        return Light.WAITING
    today = now.date()
    if today > deadline:
        return Light.RED
    if state == "assigned" and sign_due_at is not None and now >= sign_due_at:
        return Light.YELLOW
    if cal.workdays_between(today, deadline) <= SOON:
        return Light.YELLOW
    return Light.GREEN


def worst(lights: Iterable[Light]) -> Light:
    """An item's light: the worst of its parts' (done when it has none)."""
    return min(lights, key=RANK.__getitem__, default=Light.DONE)


def _office(day: datetime, at: time) -> datetime:
    return day.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)


def sign_due(start: datetime, hours: int, cal: WorkCalendar) -> datetime:
    """The instant ``hours`` working hours after ``start`` (aware, in the county's zone): time counts only within
    office hours of working days; assigned outside them, the count starts at the next working day's opening."""
    left = timedelta(hours=hours)
    cursor = start
    while True:
        closed = cursor.timetz().replace(tzinfo=None) >= OFFICE_END
        if closed or not cal.is_workday(cursor.date()):
            nxt = cal.next_workday(cursor.date(), include=False)
            cursor = _office(cursor.replace(year=nxt.year, month=nxt.month, day=nxt.day), OFFICE_START)
            continue
        cursor = max(cursor, _office(cursor, OFFICE_START))
        room = _office(cursor, OFFICE_END) - cursor
        if left <= room:
            return cursor + left
        left -= room
        cursor = _office(cursor, OFFICE_END)
