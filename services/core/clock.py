"""The one source of "now": injectable, so tests and the CLI can run at any instant."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: ZoneInfo

    def now(self) -> datetime:
        """An aware datetime in the county's time zone."""
        ...


class SystemClock:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock that stands still until told to move (tests, `--at` on the CLI)."""

    def __init__(self, at: datetime, tz: ZoneInfo | None = None) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self._at = at.astimezone(self.tz)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(self.tz)

    def advance(self, delta: timedelta) -> None:
        self._at = self._at + delta


def today(clock: Clock) -> date:
    return clock.now().date()
