"""The working-day calendar: 调休 rules from chinese-calendar (2026), loaded schedules that win,
plain weekends for unknown years (and the admins told once), and `duban calendar load`'s checks."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from sqlmodel import col, func, select

from config.i18n import LANGUAGES
from models.calendar import CalendarYear
from models.core import AuditLog, OutboxMessage
from models.enums import Role
from models.people import Person
from services.calendar.schedule import (
    LoadResult,
    Problem,
    Schedule,
    load_schedule,
    parse_schedule,
    render_problems,
    render_result,
)
from services.calendar.workdays import WorkCalendar, load_calendar, warn_unknown_years
from tests.support.factories import add_person, add_unit

D = date.fromisoformat
NATIONAL_DAY_2026 = [date(2026, 10, d) for d in range(1, 8)]
SCHEDULE_2027 = """
year = 2027
# Spring Festival 2027 (made up for the test: the package knows no 2027)
holidays = [2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12,
            "2027-02-13", "2027-02-14"]
workdays = [2027-01-31, "2027-02-20"]  # a Sunday and a Saturday
"""
HOLIDAYS_2027 = frozenset(D("2027-02-06") + timedelta(days=i) for i in range(9))
WORKDAYS_2027 = frozenset({D("2027-01-31"), D("2027-02-20")})


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def naive_between(cal: WorkCalendar, start: date, end: date) -> int:
    return sum(1 for d in days(start + timedelta(days=1), end) if cal.is_workday(d)) if end > start else 0


# --- 2026 from the package ---------------------------------------------------------------------------

def test_the_package_knows_the_2026_national_day_schedule() -> None:
    for day in NATIONAL_DAY_2026:
        assert chinese_calendar.get_holiday_detail(day) == (True, chinese_calendar.Holiday.national_day.value)
    # The 调休 working weekends around it: Sunday 20 September and Saturday 10 October.
    for day in (D("2026-09-20"), D("2026-10-10")):
        assert day.weekday() >= 5 and chinese_calendar.is_workday(day)
        assert chinese_calendar.get_holiday_detail(day)[1] == chinese_calendar.Holiday.national_day.value
    assert chinese_calendar.is_workday(D("2026-10-08"))  # Thursday after the week: back to work
    assert not chinese_calendar.is_workday(D("2026-09-25"))  # Mid-Autumn Festival (a Friday)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D("2027-01-04"))


def test_our_2026_matches_the_package_day_by_day() -> None:
    cal = WorkCalendar({})
    for day in days(D("2026-01-01"), D("2026-12-31")):
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
    assert not any(cal.is_workday(d) for d in NATIONAL_DAY_2026)
    assert cal.is_workday(D("2026-09-20")) and cal.is_workday(D("2026-10-10"))
    assert not cal.is_workday(D("2026-10-11"))  # the Sunday after is an ordinary Sunday
    assert cal.known(2026) and cal.source(2026) == "package"
    assert cal.unknown_years_used() == set()


def test_workdays_between_across_the_national_day_week() -> None:
    cal = WorkCalendar({})
    assert cal.workdays_between(D("2026-09-30"), D("2026-10-07")) == 0
    assert cal.workdays_between(D("2026-09-30"), D("2026-10-09")) == 2  # 8th and 9th
    assert cal.workdays_between(D("2026-09-30"), D("2026-10-10")) == 3  # and the working Saturday
    # Fri 18 Sep .. Mon 12 Oct: Sun 20, Mon–Thu 21–24, (Fri 25 Mid-Autumn), Mon–Wed 28–30, Thu–Sat 8–10, Mon 12.
    assert cal.workdays_between(D("2026-09-18"), D("2026-10-12")) == 1 + 4 + 3 + 3 + 1
    assert cal.workdays_between(D("2026-10-12"), D("2026-09-18")) == 0
    assert cal.workdays_between(D("2026-10-08"), D("2026-10-08")) == 0


def test_add_workdays_jumps_over_the_holiday_week() -> None:
    cal = WorkCalendar({})
    assert cal.add_workdays(D("2026-09-30"), 1) == D("2026-10-08")
    assert cal.add_workdays(D("2026-09-30"), 3) == D("2026-10-10")  # the working Saturday counts
    assert cal.add_workdays(D("2026-09-30"), 4) == D("2026-10-12")
    assert cal.add_workdays(D("2026-10-08"), -1) == D("2026-09-30")
    assert cal.add_workdays(D("2026-10-03"), 0) == D("2026-10-03")
    assert cal.add_workdays(D("2026-09-19"), 1) == D("2026-09-20")  # the working Sunday
    assert cal.next_workday(D("2026-10-01")) == D("2026-10-08")
    assert cal.next_workday(D("2026-10-10")) == D("2026-10-10")
    assert cal.next_workday(D("2026-10-10"), include=False) == D("2026-10-12")
    assert cal.previous_workday(D("2026-10-07")) == D("2026-09-30")
    for n in range(0, 30):
        assert cal.workdays_between(D("2026-09-15"), cal.add_workdays(D("2026-09-15"), n)) == n


def test_counting_agrees_with_day_by_day_checks_across_years() -> None:
    cal = WorkCalendar({2027: (HOLIDAYS_2027, WORKDAYS_2027)})
    for start, end in [("2025-12-20", "2026-01-10"), ("2026-02-10", "2026-03-02"), ("2026-12-25", "2027-02-28"),
                       ("2026-01-01", "2026-12-31"), ("2027-12-30", "2028-01-10"), ("2026-10-03", "2026-10-04")]:
        assert cal.workdays_between(D(start), D(end)) == naive_between(cal, D(start), D(end)), (start, end)


# --- years nobody knows, loaded years ------------------------------------------------------------------

def test_2027_unknown_falls_back_to_plain_weekends_and_is_recorded() -> None:
    cal = WorkCalendar({})
    assert not cal.known(2027) and cal.source(2027) == "weekends"
    assert cal.unknown_years_used() == set()  # asking is not using
    assert cal.is_workday(D("2027-02-08"))  # a Monday; would be Spring Festival
    assert not cal.is_workday(D("2027-02-06")) and not cal.is_workday(D("2027-02-07"))
    assert cal.workdays_between(D("2027-02-05"), D("2027-02-12")) == 5
    assert cal.add_workdays(D("2026-12-31"), 1) == D("2027-01-01")  # New Year's Day 2027 unknown as well
    assert cal.unknown_years_used() == {2027}
    cal.is_workday(D("2026-10-01"))
    assert cal.unknown_years_used() == {2027}
    assert WorkCalendar({}).unknown_years_used() == set()  # per object


def test_a_loaded_2027_schedule_wins() -> None:
    cal = WorkCalendar({2027: (HOLIDAYS_2027, WORKDAYS_2027)})
    assert cal.known(2027) and cal.source(2027) == "loaded"
    assert not any(cal.is_workday(d) for d in HOLIDAYS_2027)
    assert cal.is_workday(D("2027-01-31")) and cal.is_workday(D("2027-02-20"))
    assert cal.is_workday(D("2027-02-15")) and not cal.is_workday(D("2027-02-21"))
    assert cal.add_workdays(D("2027-02-05"), 1) == D("2027-02-15")
    assert cal.workdays_between(D("2027-02-05"), D("2027-02-20")) == 6  # Mon 15 – Fri 19, Sat 20
    assert cal.unknown_years_used() == set()


def test_a_loaded_2026_schedule_replaces_the_package_for_that_year() -> None:
    # An office correction: National Day to the 8th, no working Saturday on the 10th.
    holidays = frozenset(date(2026, 10, d) for d in range(1, 9))
    cal = WorkCalendar({2026: (holidays, frozenset({D("2026-09-20")}))})
    assert chinese_calendar.is_workday(D("2026-10-08")) and not cal.is_workday(D("2026-10-08"))
    assert chinese_calendar.is_workday(D("2026-10-10")) and not cal.is_workday(D("2026-10-10"))
    assert cal.is_workday(D("2026-09-20"))
    # The whole year is the loaded one: the package's Spring Festival is not merged in.
    assert not chinese_calendar.is_workday(D("2026-02-16")) and cal.is_workday(D("2026-02-16"))
    assert cal.add_workdays(D("2026-09-30"), 1) == D("2026-10-09")
    assert cal.source(2026) == "loaded" and cal.source(2025) == "package"


# --- the schedule file ---------------------------------------------------------------------------------

def test_parse_a_good_schedule_with_toml_dates_and_strings() -> None:
    schedule = parse_schedule(SCHEDULE_2027)
    assert isinstance(schedule, Schedule)
    assert schedule.year == 2027
    assert schedule.holidays == tuple(sorted(HOLIDAYS_2027))
    assert schedule.workdays == tuple(sorted(WORKDAYS_2027))
    # A holiday on a weekend is allowed (it changes nothing); empty lists too; a BOM is tolerated.
    assert isinstance(parse_schedule("\ufeffyear = 2028\nholidays = [2028-01-01]\nworkdays = []\n"), Schedule)


PROBLEMS = {
    "calendar.not_toml": "year = \nholidays = []",
    "calendar.missing_key": "year = 2027\nholidays = []",
    "calendar.unknown_key": "year = 2027\nholidays = []\nworkdays = []\nnote = 'draft'",
    "calendar.bad_year": "year = 1999\nholidays = []\nworkdays = []",
    "calendar.not_a_list": "year = 2027\nholidays = 2027-02-08\nworkdays = []",
    "calendar.bad_date": "year = 2027\nholidays = ['2027-02-30']\nworkdays = []",
    "calendar.outside_year": "year = 2027\nholidays = [2026-12-31]\nworkdays = []",
    "calendar.duplicate": "year = 2027\nholidays = [2027-02-08, '2027-02-08']\nworkdays = []",
    "calendar.in_both": "year = 2027\nholidays = [2027-02-07]\nworkdays = [2027-02-07]",
    "calendar.workday_not_weekend": "year = 2027\nholidays = []\nworkdays = [2027-02-08]",
}


@pytest.mark.parametrize("key", sorted(PROBLEMS))
def test_each_problem_is_reported(key: str) -> None:
    problems = parse_schedule(PROBLEMS[key])
    assert isinstance(problems, list)
    assert [p.key for p in problems] == [key]
    for lang in LANGUAGES:
        text = render_problems(problems, lang)
        assert len(text.splitlines()) == 2
        for value in problems[0].params.values():
            assert str(value) in text


def test_file_bytes_must_be_utf8() -> None:
    text = "# 2027 年放假安排\nyear = 2027\nholidays = [2027-02-08]\nworkdays = []\n"
    assert isinstance(parse_schedule(text.encode("utf-8-sig")), Schedule)
    problems = parse_schedule(text.encode("gbk"))
    assert problems == [Problem("calendar.not_utf8", {"line": 1})]
    assert "UTF-8" in render_problems(problems, "zh")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [
    "year = '2027'\nholidays = []\nworkdays = []",  # a string
    "year = true\nholidays = []\nworkdays = []",
    "year = 2101\nholidays = []\nworkdays = []",
])
def test_a_year_must_be_a_number_in_range(text: str) -> None:
    assert [p.key for p in parse_schedule(text)] == ["calendar.bad_year"]  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["2027-02-08T09:00:00", "09:00:00", "5", "'8 Feb 2027'", "'20270208'", "[]"])
def test_only_dates_are_dates(value: str) -> None:
    problems = parse_schedule(f"year = 2027\nholidays = [{value}]\nworkdays = []")
    assert [p.key for p in problems] == ["calendar.bad_date"]  # type: ignore[union-attr]


def test_several_problems_are_all_listed() -> None:
    text = """
year = 2027
holidays = [2027-02-08, 2027-02-08, 2028-01-01, "soon", 2027-02-13]
workdays = [2027-02-09, 2027-02-13]
comment = "x"
"""
    problems = parse_schedule(text)
    assert isinstance(problems, list)
    assert [(p.key, p.params.get("date") or p.params.get("key")) for p in problems] == [
        ("calendar.unknown_key", "comment"),
        ("calendar.duplicate", "2027-02-08"),
        ("calendar.outside_year", "2028-01-01"),
        ("calendar.bad_date", "holidays"),
        ("calendar.workday_not_weekend", "2027-02-09"),
        ("calendar.in_both", "2027-02-13"),
    ]
    text = render_problems(problems, "en")
    assert text.startswith("The calendar file has 6 problem(s)")
    assert len(render_problems(problems, "zh").splitlines()) == 7
    result = LoadResult("invalid", problems=problems)
    assert render_result(result, "zh") == render_problems(problems, "zh")
    assert [p.key for p in parse_schedule("x = 1")] == [  # type: ignore[union-attr]
        "calendar.missing_key", "calendar.missing_key", "calendar.missing_key", "calendar.unknown_key"]


# --- storing and reading ------------------------------------------------------------------------------

async def _audit(database) -> list[AuditLog]:
    async with database.uow() as uow:
        return list((await uow.session.exec(
            select(AuditLog).where(AuditLog.entity == "calendar_year").order_by(col(AuditLog.id)))).all())


async def test_load_schedule_is_audited_and_idempotent(database, clock) -> None:
    result = await load_schedule(SCHEDULE_2027, actor="cli", uow=database.uow(), clock=clock)
    assert (result.status, result.year, result.holidays, result.workdays) == ("created", 2027, 9, 2)
    assert render_result(result, "en") == "Loaded the 2027 calendar: 9 holidays, 2 working weekend days."
    entries = await _audit(database)
    assert [(e.action, e.entity_key, e.actor) for e in entries] == [("calendar.create", "2027", "cli")]
    assert entries[0].after == {"holidays": sorted(d.isoformat() for d in HOLIDAYS_2027),
                                "workdays": ["2027-01-31", "2027-02-20"]}

    # The same dates written differently (strings, another order): nothing to do.
    same = ("year = 2027\nworkdays = ['2027-02-20', '2027-01-31']\nholidays = ["
            + ", ".join(f"'{d.isoformat()}'" for d in sorted(HOLIDAYS_2027, reverse=True)) + "]\n")
    for text in (SCHEDULE_2027, same):
        again = await load_schedule(text, actor="cli", uow=database.uow(), clock=clock)
        assert again.status == "unchanged" and not again.changed
        assert "2027" in render_result(again, "zh")
    assert len(await _audit(database)) == 1

    cal = await load_calendar(uow=database.uow())
    assert cal.loaded_years == {2027}
    assert not cal.is_workday(D("2027-02-08")) and cal.is_workday(D("2027-01-31"))

    clock.advance(timedelta(days=1))
    shorter = "year = 2027\nholidays = [2027-02-08, 2027-02-09]\nworkdays = []\n"
    replaced = await load_schedule(shorter, actor="person:A1", uow=database.uow(), clock=clock)
    assert (replaced.status, replaced.holidays, replaced.workdays, replaced.previous) == ("replaced", 2, 0, (9, 2))
    assert "was 9 holidays, 2 working weekend days" in render_result(replaced, "en")
    last = (await _audit(database))[-1]
    assert (last.action, last.actor) == ("calendar.replace", "person:A1")
    assert last.before is not None and len(last.before["holidays"]) == 9
    assert last.after == {"holidays": ["2027-02-08", "2027-02-09"], "workdays": []}
    async with database.uow() as uow:
        row = await uow.session.get(CalendarYear, 2027)
        assert row is not None and row.loaded_by == "person:A1" and row.loaded_at == clock.now()
        # load_calendar also reads inside an entered unit of work
        cal = await load_calendar(uow=uow)
    assert cal.is_workday(D("2027-02-10")) and not cal.is_workday(D("2027-01-31"))


async def test_a_refused_file_stores_nothing(database, clock) -> None:
    result = await load_schedule(PROBLEMS["calendar.in_both"], actor="cli", uow=database.uow(), clock=clock)
    assert not result.ok and result.status == "invalid"
    assert result.problems == [Problem("calendar.in_both", {"date": "2027-02-07"})]
    assert await _audit(database) == []
    assert (await load_calendar(uow=database.uow())).loaded_years == set()


async def test_a_loaded_2026_overrides_the_package_through_the_database(database, clock) -> None:
    text = "year = 2026\nholidays = [" + ", ".join(f"2026-10-0{d}" for d in range(1, 9)) + "]\nworkdays = [2026-09-20]"
    assert (await load_schedule(text, actor="cli", uow=database.uow(), clock=clock)).status == "created"
    cal = await load_calendar(uow=database.uow())
    assert not cal.is_workday(D("2026-10-08")) and not cal.is_workday(D("2026-10-10"))
    assert cal.add_workdays(D("2026-09-30"), 1) == D("2026-10-09")


async def test_admins_are_told_once_per_unknown_year(database, clock) -> None:
    unit = await add_unit(database, clock)
    zh_admin = await add_person(database, clock, name="王主任", roles=(Role.ADMIN,), telegram_user_id=101)
    en_admin = await add_person(database, clock, name="Li", roles=(Role.ADMIN, Role.LEADER),
                                telegram_user_id=102, language="en")
    await add_person(database, clock, name="未加入", roles=(Role.ADMIN,))  # never joined
    gone = await add_person(database, clock, name="已停用", roles=(Role.ADMIN,), telegram_user_id=103)
    await add_person(database, clock, name="干部", unit=unit, telegram_user_id=104)
    async with database.uow() as uow:
        person = await uow.session.get(Person, gone.id)
        assert person is not None
        person.active = False
        uow.session.add(person)
        await uow.commit()

    cal = WorkCalendar({})
    cal.is_workday(D("2027-03-22"))
    async with database.uow() as uow:
        assert await warn_unknown_years(cal.unknown_years_used(), session=uow.session, clock=clock) == 2
        assert await warn_unknown_years({2027}, session=uow.session, clock=clock) == 0  # same transaction
        await uow.commit()
    async with database.uow() as uow:
        assert await warn_unknown_years({2027, 2028}, session=uow.session, clock=clock) == 2  # only 2028 is new
        assert await warn_unknown_years(set(), session=uow.session, clock=clock) == 0
        await uow.commit()
    await load_schedule("year = 2029\nholidays = []\nworkdays = []", actor="cli", uow=database.uow(), clock=clock)
    async with database.uow() as uow:
        assert await warn_unknown_years({2029}, session=uow.session, clock=clock) == 0  # loaded meanwhile
        rows = (await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
        count = (await uow.session.exec(select(func.count()).select_from(OutboxMessage))).one()
    assert count == 4
    assert sorted((r.chat_id, r.dedup_key) for r in rows) == [
        (101, "calendar:unknown:2027"), (101, "calendar:unknown:2028"),
        (102, "calendar:unknown:2027"), (102, "calendar:unknown:2028")]
    by_chat = {(r.chat_id, r.dedup_key): r for r in rows}
    zh_text = by_chat[(101, "calendar:unknown:2027")]
    en_text = by_chat[(102, "calendar:unknown:2027")]
    assert "2027" in zh_text.text and "官方节假日" in zh_text.text and zh_text.parse_mode == "HTML"
    assert "no official holiday schedule for 2027" in en_text.text
    assert "<code>duban calendar load" in en_text.text
    assert {r.person_id for r in rows} == {zh_admin.id, en_admin.id}
