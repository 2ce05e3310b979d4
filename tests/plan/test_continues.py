"""Continuous targets that continue last year's (连续考核, issue #15 §3): the targets sheet's ``continues`` column,
checked on import (the chain and the units); the baseline and the cumulative value carry over, in the views
(/mytargets shows the carried total) and in the score alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlmodel import select

from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport
from services.plan.importer import import_plan
from services.progress.standings import standings
from tests.support.factories import add_person
from tests.support.plan_factory import write_plan_xlsx
from tests.support.scoringrig import TZ, at, by_code, rules

UNITS = [{"code": "V1", "name": "青山村", "kind": "village", "class": "村"},
         {"code": "V2", "name": "绿水村", "kind": "village", "class": "村"}]


def target(code: str, year: int, continues: str | None = None, mode: str = "continuous", measure: str = "亩") -> dict:
    return {"code": code, "year": year, "title": "高标准农田建设", "category": "industry", "measure": measure,
            "mode": mode, "deadline": date(year, 12, 31), "continues": continues}


def assignment(code: str, unit: str, planned: int, baseline: int | None = None) -> dict:
    return {"target_code": code, "unit_code": unit, "planned_value": Decimal(planned), "weight": Decimal(1),
            "baseline_value": None if baseline is None else Decimal(baseline)}


def plan(targets: list[dict], assignments: list[dict]) -> dict:
    return {"units": UNITS, "targets": targets, "assignments": assignments, "people": [], "groups": [], "links": []}


async def load(database, clock, tmp_path: Path, targets, assignments, name: str = "plan.xlsx"):
    path = write_plan_xlsx(tmp_path / name, plan(targets, assignments))
    return await import_plan(path, db_uow=database.uow(), clock=clock, actor="cli")


async def test_a_target_continues_last_years_and_carries_its_baseline(database, clock, tmp_path) -> None:
    """2026's N26 (V1: baseline 100, plan 300); 2027's N27 continues it (V1, multi-year plan 500, baseline cell
    empty → 100 carried)."""
    first = await load(database, clock, tmp_path, [target("N26", 2026)], [assignment("N26", "V1", 300, 100)])
    assert first.ok
    done = await load(database, clock, tmp_path, [target("N27", 2027, continues="N26")],
                      [assignment("N27", "V1", 500)], name="2027.xlsx")
    assert done.ok, done.problems
    async with database.read_uow() as uow:
        new = (await uow.session.exec(select(Target).where(Target.code == "N27"))).one()
        old = (await uow.session.exec(select(Target).where(Target.code == "N26"))).one()
        a = (await uow.session.exec(select(Assignment).where(Assignment.target_id == new.id))).one()
    assert new.continues_id == old.id and (a.baseline_value, a.planned_value) == (Decimal(100), Decimal(500))


async def test_import_checks_the_chain_and_the_units(database, clock, tmp_path) -> None:
    """Refused: an unknown code; a target of two years before; a zero-base target; another measure; V2, which had
    no assignment of last year's target; two targets continuing the same one."""
    assert (await load(database, clock, tmp_path, [target("N25", 2025), target("N26", 2026)],
                       [assignment("N25", "V1", 100), assignment("N26", "V1", 300)])).ok
    report = await load(database, clock, tmp_path, [
        target("A27", 2027, continues="NOPE"), target("B27", 2027, continues="N25"),
        target("C27", 2027, continues="N26", mode="zero_base"), target("D27", 2027, continues="N26", measure="个"),
        target("E27", 2027, continues="N26")],
        [assignment("E27", "V1", 500), assignment("E27", "V2", 500)], name="bad.xlsx")
    found = {(p.sheet, p.column, p.key, p.value) for p in report.problems}
    assert ("targets", "continues", "plan.ref.unknown_target", "NOPE") in found
    assert ("targets", "continues", "plan.continues.year", "N25") in found
    assert ("targets", "continues", "plan.continues.mode", "N26") in found
    assert ("targets", "continues", "plan.continues.measure", "N26") in found
    assert ("targets", "continues", "plan.continues.twice", "N26") in found
    assert ("assignments", "unit_code", "plan.continues.unit", "V2") in found
    async with database.read_uow() as uow:
        assert (await uow.session.exec(select(Target).where(Target.year == 2027))).all() == []


async def test_the_cumulative_value_carries_into_the_views_and_the_score(database, clock, tmp_path) -> None:
    """N26 (plan 300 from baseline 100): V1 reached 260 by December 2026. N27 continues it (plan 500, baseline
    100). Nothing reported in 2027 yet: the effective value is the carried 260, in /mytargets' standing and in
    the score: ratio (260 − 100) / (500 − 100) = 0.4. Then 2027's report of 420 (cumulative) counts: 0.8."""
    await load(database, clock, tmp_path, [target("N26", 2026)], [assignment("N26", "V1", 300, 100)])
    await load(database, clock, tmp_path, [target("N27", 2027, continues="N26")], [assignment("N27", "V1", 500)],
               name="2027.xlsx")
    cadre = await add_person(database, clock, name="张三", telegram_user_id=200)
    async with database.uow() as uow:
        old, new = [(await uow.session.exec(select(Assignment).join(Target).where(Target.code == c))).one()
                    for c in ("N26", "N27")]
        uow.session.add(ProgressReport(assignment_id=old.id, reporter_person_id=cadre.id, value=Decimal(260),
                                       confirmed_at=at("2026-12-10 10:00")))
        await uow.commit()

    async def both() -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        async with database.read_uow() as uow:
            (s,) = await standings(uow.session, as_of=date(2027, 3, 22), tz=TZ, assignment_ids=[new.id])
        from services.scoring.formula import compute_county
        result = await compute_county(2027, uow=database.read_uow(), rules=rules(), cutoff=date(2027, 12, 31), tz=TZ)
        return s.effective, s.carried, by_code(result)["V1"].lines[0].ratio

    assert await both() == (Decimal(260), Decimal(260), Decimal("0.4"))
    async with database.uow() as uow:
        uow.session.add(ProgressReport(assignment_id=new.id, reporter_person_id=cadre.id, value=Decimal(420),
                                       confirmed_at=at("2027-03-01 10:00")))
        await uow.commit()
    assert await both() == (Decimal(420), Decimal(260), Decimal("0.8"))


async def test_mytargets_shows_the_carried_total(bot, tmp_path) -> None:
    """张三 of 青山村 reads N27 (plan 500 亩): 260 亩 carried from N26, shown as such."""
    await load(bot.db, bot.clock, tmp_path, [target("N26", 2026)], [assignment("N26", "V1", 300, 100)])
    await load(bot.db, bot.clock, tmp_path, [target("N27", 2027, continues="N26")], [assignment("N27", "V1", 500)],
               name="2027.xlsx")
    async with bot.db.uow() as uow:
        unit = (await uow.session.exec(select(Unit).where(Unit.code == "V1"))).one()
        old = (await uow.session.exec(select(Assignment).join(Target).where(Target.code == "N26"))).one()
    cadre = await add_person(bot.db, bot.clock, name="张三", unit=unit, telegram_user_id=200)
    async with bot.db.uow() as uow:
        uow.session.add(ProgressReport(assignment_id=old.id, reporter_person_id=cadre.id, value=Decimal(260),
                                       confirmed_at=at("2026-12-10 10:00")))
        await uow.commit()
    user = bot.fake.user(200, "张三")
    await user.send_text("/mytargets")
    text = (await user.wait_reply()).text
    assert "N27" in text and "计划 500 亩；完成 260 亩（连续考核：含上年结转 260 亩）（40%）" in text
