"""``duban calendar load FILE``: a year's official holiday schedule, validated, then stored (audited).

The file is TOML with exactly three keys::

    year = 2027
    holidays = [2027-02-06, 2027-02-07, "2027-02-08"]   # TOML dates or "YYYY-MM-DD" strings
    workdays = [2027-01-31, 2027-02-20]                 # 调休 working Saturdays / Sundays

The schedule is the whole year's: once loaded it replaces the chinese-calendar package's data for
that year (a date listed in neither list follows the plain week). Every problem is listed, and
nothing is stored unless there are none. The CLI may pass the file's bytes (UTF-8, BOM allowed).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from config.i18n import normalise_language, t
from models.calendar import CalendarYear
from models.db import UnitOfWork
from services.core import audit
from services.core.clock import Clock

__all__ = [
    "KEYS",
    "LoadResult",
    "Problem",
    "Schedule",
    "load_schedule",
    "parse_schedule",
    "render_problems",
    "render_result",
]

KEYS = ("year", "holidays", "workdays")
LISTS = ("holidays", "workdays")
MIN_YEAR, MAX_YEAR = 2000, 2100
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
VALUE_LIMIT = 40


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a schedule file: a message id (``calendar.*``) and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Schedule:
    year: int
    holidays: tuple[date, ...]  # sorted, distinct
    workdays: tuple[date, ...]  # sorted, distinct, all Saturdays or Sundays

    def stored(self) -> dict[str, list[str]]:
        return {"holidays": [d.isoformat() for d in self.holidays],
                "workdays": [d.isoformat() for d in self.workdays]}


Status = Literal["created", "replaced", "unchanged", "invalid"]


@dataclass
class LoadResult:
    status: Status
    year: int | None = None
    holidays: int = 0
    workdays: int = 0
    previous: tuple[int, int] | None = None  # (holidays, workdays) of the row replaced
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changed(self) -> bool:
        return self.status in ("created", "replaced")


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def _to_date(value: object) -> date | None:
    """A TOML local date or a "YYYY-MM-DD" string; None for anything else (datetimes included)."""
    if isinstance(value, datetime | time):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and DATE_RE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _year(data: dict[str, Any], problems: list[Problem]) -> int | None:
    if "year" not in data:
        return None
    value = data["year"]
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_YEAR <= value <= MAX_YEAR:
        problems.append(Problem("calendar.bad_year", {"value": _short(value), "min": MIN_YEAR, "max": MAX_YEAR}))
        return None
    return value


def _dates(name: str, data: dict[str, Any], year: int | None, problems: list[Problem]) -> list[date] | None:
    """The distinct dates of one list, in file order; problems for bad, duplicate or foreign dates."""
    if name not in data:
        return None
    values = data[name]
    if not isinstance(values, list):
        problems.append(Problem("calendar.not_a_list", {"key": name}))
        return None
    seen: list[date] = []
    duplicates: set[date] = set()
    for value in values:
        day = _to_date(value)
        if day is None:
            problems.append(Problem("calendar.bad_date", {"key": name, "value": _short(value)}))
        elif day in seen:
            if day not in duplicates:
                duplicates.add(day)
                problems.append(Problem("calendar.duplicate", {"key": name, "date": day.isoformat()}))
        else:
            seen.append(day)
            if year is not None and day.year != year:
                problems.append(Problem("calendar.outside_year",
                                        {"key": name, "date": day.isoformat(), "year": year}))
    return seen


def parse_schedule(text: str | bytes) -> Schedule | list[Problem]:
    """The schedule in a TOML text (or a file's bytes, UTF-8), or every problem found in it."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [Problem("calendar.not_utf8", {"line": text[: exc.start].count(b"\n") + 1})]
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        return [Problem("calendar.not_toml", {"error": str(exc)})]
    problems: list[Problem] = []
    problems += [Problem("calendar.missing_key", {"key": k}) for k in KEYS if k not in data]
    problems += [Problem("calendar.unknown_key", {"key": _short(k)}) for k in data if k not in KEYS]
    year = _year(data, problems)
    holidays = _dates("holidays", data, year, problems)
    workdays = _dates("workdays", data, year, problems)
    if workdays is not None:
        problems += [Problem("calendar.workday_not_weekend", {"date": d.isoformat()})
                     for d in workdays if d.weekday() < 5]
    if holidays is not None and workdays is not None:
        both = set(holidays) & set(workdays)
        problems += [Problem("calendar.in_both", {"date": d.isoformat()}) for d in sorted(both)]
    if problems:
        return problems
    assert year is not None and holidays is not None and workdays is not None
    return Schedule(year, tuple(sorted(holidays)), tuple(sorted(workdays)))


async def _store(schedule: Schedule, *, actor: str, uow: UnitOfWork, clock: Clock) -> LoadResult:
    wanted = schedule.stored()
    counts = {"year": schedule.year, "holidays": len(schedule.holidays), "workdays": len(schedule.workdays)}
    async with uow:
        s = uow.session
        row = (await s.exec(
            select(CalendarYear).where(CalendarYear.year == schedule.year).with_for_update()
        )).first()
        if row is None:
            s.add(CalendarYear(year=schedule.year, loaded_at=clock.now(), loaded_by=actor[:64], **wanted))
            audit.record(s, clock, actor=actor, action="calendar.create", entity="calendar_year",
                         key=str(schedule.year), after=wanted)
            await uow.commit()
            return LoadResult("created", **counts)
        before = {"holidays": sorted(row.holidays), "workdays": sorted(row.workdays)}
        if before == wanted:
            return LoadResult("unchanged", previous=(len(row.holidays), len(row.workdays)), **counts)
        row.holidays, row.workdays = wanted["holidays"], wanted["workdays"]
        row.loaded_at, row.loaded_by = clock.now(), actor[:64]
        s.add(row)
        audit.record(s, clock, actor=actor, action="calendar.replace", entity="calendar_year",
                     key=str(schedule.year), before=before, after=wanted)
        await uow.commit()
        return LoadResult("replaced", previous=(len(before["holidays"]), len(before["workdays"])), **counts)


async def load_schedule(text: str | bytes, *, actor: str, uow: UnitOfWork, clock: Clock) -> LoadResult:
    """Validate a schedule file and store its year (created, replaced, or unchanged when identical)."""
    parsed = parse_schedule(text)
    if isinstance(parsed, list):
        return LoadResult("invalid", problems=parsed)
    try:
        return await _store(parsed, actor=actor, uow=uow, clock=clock)
    except IntegrityError:
        # Another load of the same year inserted the row between our read and our write: once more.
        return await _store(parsed, actor=actor, uow=uow, clock=clock)


def render_problems(problems: list[Problem], lang: str | None) -> str:
    """Every problem, one a line, under a heading (plain text, for the CLI)."""
    lang = normalise_language(lang)
    lines = [t("calendar.problems", lang, count=len(problems))]
    lines += [t("calendar.problem_line", lang, message=t(p.key, lang, **p.params)) for p in problems]
    return "\n".join(lines)


def render_result(result: LoadResult, lang: str | None) -> str:
    """What a load did (plain text, for the CLI); the problems when it refused the file."""
    lang = normalise_language(lang)
    if result.problems:
        return render_problems(result.problems, lang)
    counts = {"year": result.year, "holidays": result.holidays, "workdays": result.workdays}
    if result.status == "replaced" and result.previous is not None:
        return t("calendar.result.replaced", lang, **counts,
                 old_holidays=result.previous[0], old_workdays=result.previous[1])
    if result.status == "unchanged":
        return t("calendar.result.unchanged", lang, **counts)
    return t("calendar.result.created", lang, **counts)
