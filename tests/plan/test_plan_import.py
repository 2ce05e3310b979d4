"""Importing a realistic county plan: counts, exact values, audit, idempotency, dry run, prune."""

from __future__ import annotations

import copy
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from models.core import AuditLog
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit
from models.progress import ProgressReport
from services.plan.importer import ImportReport, import_plan, render_report
from tests.support.plan_factory import build_county_plan, write_plan_xlsx

ACTOR = "cli"
SHEET_KEYS = ("units", "targets", "assignments", "people", "groups", "links")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    plan = build_county_plan(seed=1)
    path = write_plan_xlsx(tmp_path_factory.mktemp("plan") / "county.xlsx", plan)
    return plan, path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    plan = build_county_plan(seed=2, townships=2, villages=2)
    path = write_plan_xlsx(tmp_path_factory.mktemp("plan") / "small.xlsx", plan)
    return plan, path


async def _count(database, model) -> int:
    async with database.uow() as uow:
        return (await uow.session.exec(select(func.count()).select_from(model))).one()


async def _import(database, clock, source, **kw) -> ImportReport:
    return await import_plan(source, db_uow=database.uow(), clock=clock, actor=ACTOR, **kw)


async def test_importing_the_county_plan_writes_every_row_exactly(database, clock, county) -> None:
    plan, path = county
    started = time.perf_counter()
    report = await _import(database, clock, path)
    elapsed = time.perf_counter() - started
    assert report.ok, render_report(report, "en")
    print(f"\nimport of {len(plan['assignments'])} assignments on {database.engine.dialect.name}: {elapsed:.2f}s")
    assert elapsed < 10
    for sheet in SHEET_KEYS:
        assert report.counts[sheet] == {"created": len(plan[sheet]), "updated": 0, "unchanged": 0, "pruned": 0}
    assert report.changed and not report.missing
    assert len(plan["units"]) >= 80 and len(plan["targets"]) >= 50 and len(plan["assignments"]) >= 1000
    for model, sheet in ((Unit, "units"), (Target, "targets"), (Assignment, "assignments"), (Person, "people"),
                         (LeadingGroup, "groups"), (LeaderLink, "links")):
        assert await _count(database, model) == len(plan[sheet])
    assert await _count(database, AuditLog) == sum(len(plan[s]) for s in SHEET_KEYS)

    async with database.uow() as uow:
        s = uow.session
        units = {u.code: u for u in (await s.exec(select(Unit))).all()}
        village = next(u for u in plan["units"] if u["kind"] == "village")
        got = units[village["code"]]
        assert (got.name, got.kind, got.unit_class, got.latitude, got.radius_m) == (
            village["name"], "village", "村", village["latitude"], 500)
        assert got.parent_id == units[village["parent_code"]].id and units["XC00"].parent_id is None

        targets = {t.code: t for t in (await s.exec(select(Target))).all()}
        lower = next(t for t in plan["targets"] if t["direction"] == "lower")
        got_t = targets[lower["code"]]
        assert (got_t.title, got_t.measure, got_t.direction, got_t.mode, got_t.deadline, got_t.year) == (
            lower["title"], lower["measure"], "lower", lower["mode"], lower["deadline"], 2027)
        groups = {g.id: g.code for g in (await s.exec(select(LeadingGroup))).all()}
        assert groups[got_t.leading_group_id] == lower["leading_group_code"]

        rows = (await s.exec(select(Assignment))).all()
        by_key = {(a.target_id, a.unit_id): a for a in rows}
        for expected in [*plan["assignments"][::97], next(a for a in plan["assignments"] if a["milestones"])]:
            a = by_key[(targets[expected["target_code"]].id, units[expected["unit_code"]].id)]
            assert a.planned_value == expected["planned_value"]
            assert str(a.planned_value.normalize()) == str(expected["planned_value"].normalize())
            assert (a.baseline_value, a.weight, a.deadline) == (
                expected["baseline_value"], expected["weight"], expected["deadline"])
            if expected["milestones"]:
                assert a.milestones == [p.split(":") for p in expected["milestones"].split("; ")]
            else:
                assert a.milestones is None
        odd = next(a for a in plan["assignments"] if a["planned_value"] != a["planned_value"].to_integral_value())
        assert by_key[(targets[odd["target_code"]].id, units[odd["unit_code"]].id)].planned_value == odd[
            "planned_value"]
        sited = next(a for a in plan["assignments"] if a["site_latitude"])
        got_a = by_key[(targets[sited["target_code"]].id, units[sited["unit_code"]].id)]
        assert (got_a.site_latitude, got_a.site_longitude, got_a.site_radius_m) == (
            sited["site_latitude"], sited["site_longitude"], sited["site_radius_m"])

        people = {p.code: p for p in (await s.exec(select(Person))).all()}
        members = (await s.exec(select(RoleMembership))).all()
        roles = {(m.person_id, m.role): m for m in members}
        dual = next(p for p in plan["people"] if p["role"] == "leader;inspector")
        pid = people[dual["code"]].id
        assert {r for (p, r) in roles if p == pid} == {"leader", "inspector"}
        assert roles[(pid, "inspector")].scope == "乡镇" and roles[(pid, "leader")].scope == ""
        assert roles[(pid, "leader")].unit_id == units["XC00"].id
        scoped = next(p for p in plan["people"] if p["scope"] == "XZ01;XZ02")
        assert roles[(people[scoped["code"]].id, "inspector")].scope == "XZ01;XZ02"
        assert len(members) == len(plan["people"]) + 1
        assert {p.telegram_user_id for p in people.values()} == {None}
        log = (await s.exec(select(AuditLog).where(AuditLog.entity == "assignment"))).first()
        assert log is not None and log.actor == ACTOR and log.action == "assignment.create"
        assert log.at == clock.now()


async def test_importing_the_same_file_twice_changes_nothing_then_one_edit_is_one_update(
    database, clock, county, tmp_path
) -> None:
    plan, path = county
    assert (await _import(database, clock, path)).ok
    audits = await _count(database, AuditLog)

    again = await _import(database, clock, path)
    assert again.ok and not again.changed
    for sheet in SHEET_KEYS:
        assert again.counts[sheet] == {"created": 0, "updated": 0, "unchanged": len(plan[sheet]), "pruned": 0}
    assert await _count(database, AuditLog) == audits
    assert render_report(again, "en").startswith("Nothing changed")
    assert render_report(again, "zh").startswith("没有任何更改")

    edited = copy.deepcopy(plan)
    row = edited["assignments"][10]
    old = row["planned_value"]
    row["planned_value"] = old + Decimal("0.5")
    report = await _import(database, clock, write_plan_xlsx(tmp_path / "edited.xlsx", edited))
    assert report.ok and report.changed
    assert report.counts["assignments"] == {"created": 0, "updated": 1, "unchanged": len(plan["assignments"]) - 1,
                                            "pruned": 0}
    assert all(report.counts[s]["updated"] == 0 for s in SHEET_KEYS if s != "assignments")
    async with database.uow() as uow:
        logs = (await uow.session.exec(select(AuditLog).where(AuditLog.id > audits))).all()
    assert len(logs) == 1
    assert logs[0].action == "assignment.update"
    assert logs[0].entity_key == f"{row['target_code']}/{row['unit_code']}"
    assert logs[0].before == {"planned_value": str(old.normalize())}
    assert logs[0].after == {"planned_value": str(row["planned_value"].normalize())}
    assert "1 updated" in render_report(report, "en")


async def test_a_dry_run_reports_the_counts_and_writes_nothing(database, clock, small) -> None:
    plan, path = small
    report = await _import(database, clock, path, dry_run=True)
    assert report.ok and report.dry_run and report.changed
    assert report.counts["assignments"]["created"] == len(plan["assignments"])
    for model in (Unit, Target, Assignment, Person, RoleMembership, LeadingGroup, LeaderLink, AuditLog):
        assert await _count(database, model) == 0
    assert "Dry run" in render_report(report, "en") and "试运行" in render_report(report, "zh")


async def test_an_entered_unit_of_work_is_used_and_committed(database, clock, small) -> None:
    plan, path = small
    async with database.uow() as uow:
        report = await import_plan(path.read_bytes(), db_uow=uow, clock=clock, actor=ACTOR)
    assert report.ok
    assert await _count(database, Unit) == len(plan["units"])


async def _record_progress(database, clock, target_code: str, unit_code: str) -> None:
    """A confirmed progress report on one assignment."""
    async with database.uow() as uow:
        s = uow.session
        assignment = (await s.exec(select(Assignment).join(Target).where(Target.code == target_code)
                                   .join(Unit, Unit.id == Assignment.unit_id).where(Unit.code == unit_code))).one()
        reporter = (await s.exec(select(Person))).first()
        s.add(ProgressReport(assignment_id=assignment.id, reporter_person_id=reporter.id, value=Decimal(1),
                             confirmed_at=clock.now()))
        await uow.commit()


def _without(plan: dict, **drop: set) -> dict:
    result = copy.deepcopy(plan)
    result["assignments"] = [a for a in result["assignments"]
                             if (a["target_code"], a["unit_code"]) not in drop.get("assignments", set())
                             and a["target_code"] not in drop.get("targets", set())]
    result["targets"] = [t for t in result["targets"] if t["code"] not in drop.get("targets", set())]
    result["people"] = [p for p in result["people"] if p["code"] not in drop.get("people", set())]
    result["units"] = [u for u in result["units"] if u["code"] not in drop.get("units", set())]
    result["groups"] = [g for g in result["groups"] if g["code"] not in drop.get("groups", set())]
    result["links"] = [x for x in result["links"] if x.get("target_code") not in drop.get("targets", set())]
    return result


async def test_rows_missing_from_the_file_are_listed_and_kept_unless_pruned(database, clock, small, tmp_path) -> None:
    plan, path = small
    assert (await _import(database, clock, path)).ok
    first, second = plan["assignments"][0], plan["assignments"][1]
    progressed = plan["assignments"][2]
    lone_target = next(t["code"] for t in plan["targets"]
                       if t["code"] not in {x.get("target_code") for x in plan["links"]})
    assessor = next(p["code"] for p in plan["people"] if p["role"] == "assessor")
    department = next(u["code"] for u in plan["units"] if u["kind"] == "department"
                   and u["code"] not in {x.get("unit_code") for x in plan["links"] + plan["people"]})
    department_assignments = {(a["target_code"], a["unit_code"]) for a in plan["assignments"]
                              if a["unit_code"] == department}
    dropped = {(first["target_code"], first["unit_code"]), (second["target_code"], second["unit_code"]),
               (progressed["target_code"], progressed["unit_code"])} | department_assignments
    smaller = _without(plan, assignments=dropped, targets={lone_target}, people={assessor}, units={department})
    smaller_path = write_plan_xlsx(tmp_path / "smaller.xlsx", smaller)

    audits = await _count(database, AuditLog)
    kept = await _import(database, clock, smaller_path)
    assert kept.ok and not kept.changed
    assert f"{first['target_code']}/{first['unit_code']}" in kept.missing["assignments"]
    assert kept.missing["targets"] == [lone_target]
    assert kept.missing["people"] == [assessor] and kept.missing["units"] == [department]
    assert await _count(database, AuditLog) == audits
    assert await _count(database, Assignment) == len(plan["assignments"])
    text_en = render_report(kept, "en")
    assert lone_target in text_en and "--prune" in text_en

    await _record_progress(database, clock, progressed["target_code"], progressed["unit_code"])
    pruned = await _import(database, clock, smaller_path, prune=True)
    assert pruned.ok and pruned.changed
    lone_count = sum(1 for a in plan["assignments"] if a["target_code"] == lone_target)
    assert pruned.counts["targets"]["pruned"] == 1
    assert pruned.counts["assignments"]["pruned"] == len(dropped - {
        (progressed["target_code"], progressed["unit_code"])}) + lone_count - len(
        {k for k in dropped if k[0] == lone_target})
    assert pruned.counts["people"]["pruned"] == 1 and pruned.counts["units"]["pruned"] == 1
    assert pruned.protected == [f"assignments:{progressed['target_code']}/{progressed['unit_code']}"]
    async with database.uow() as uow:
        s = uow.session
        person = (await s.exec(select(Person).where(Person.code == assessor))).one()
        unit = (await s.exec(select(Unit).where(Unit.code == department))).one()
        assert person.active is False and unit.active is False
        assert (await s.exec(select(Target).where(Target.code == lone_target))).first() is None
        remaining = (await s.exec(select(func.count()).select_from(Assignment))).one()
        assert remaining == len(smaller["assignments"]) + 1
        actions = {a for (a,) in (await s.exec(text("SELECT DISTINCT action FROM audit_log WHERE id > :n"),
                                                  params={"n": audits})).all()}
    assert actions == {"assignment.delete", "target.delete", "person.deactivate", "unit.deactivate"}

    again = await _import(database, clock, smaller_path, prune=True)
    assert again.ok and not again.changed and again.protected == pruned.protected

    restored = await _import(database, clock, path)
    assert restored.counts["people"]["updated"] == 1 and restored.counts["units"]["updated"] == 1
    assert restored.counts["targets"]["created"] == 1


async def test_a_file_with_only_units_leaves_the_other_sheets_alone(database, clock, small, tmp_path) -> None:
    plan, path = small
    assert (await _import(database, clock, path)).ok
    only_units = write_plan_xlsx(tmp_path / "units.xlsx", plan, sheets=["units"])
    report = await _import(database, clock, only_units, prune=True)
    assert report.ok and not report.changed and set(report.counts) == {"units"}
    assert not report.missing
    assert await _count(database, Assignment) == len(plan["assignments"])
    # Sheets that hold only their header (as in the template) say nothing either.
    headers_only = write_plan_xlsx(tmp_path / "headers.xlsx", {**plan, "people": [], "links": []},
                                   sheets=["units", "people", "links"])
    report = await _import(database, clock, headers_only, prune=True)
    assert report.ok and not report.changed and set(report.counts) == {"units"} and not report.missing
    assert await _count(database, LeaderLink) == len(plan["links"])


async def test_people_change_units_and_roles(database, clock, small, tmp_path) -> None:
    plan, path = small
    assert (await _import(database, clock, path)).ok
    edited = copy.deepcopy(plan)
    cadre = next(p for p in edited["people"] if p["role"] == "cadre")
    dual = next(p for p in edited["people"] if p["role"] == "leader;inspector")
    cadre["unit_code"] = "BM05"
    dual["role"] = "leader"
    dual["scope"] = ""
    report = await _import(database, clock, write_plan_xlsx(tmp_path / "moved.xlsx", edited))
    assert report.ok and report.counts["people"]["updated"] == 1
    assert report.missing["memberships"] == [f"{dual['code']}:inspector"]
    async with database.uow() as uow:
        s = uow.session
        moved = (await s.exec(select(Person).where(Person.code == cadre["code"]))).one()
        unit = (await s.exec(select(Unit).where(Unit.code == "BM05"))).one()
        membership = (await s.exec(select(RoleMembership).where(RoleMembership.person_id == moved.id))).one()
        assert moved.unit_id == unit.id and membership.unit_id == unit.id

    pruned = await _import(database, clock, write_plan_xlsx(tmp_path / "moved.xlsx", edited), prune=True)
    assert pruned.counts["people"]["updated"] == 1
    async with database.uow() as uow:
        s = uow.session
        person = (await s.exec(select(Person).where(Person.code == dual["code"]))).one()
        roles = (await s.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))).all()
    assert roles == ["leader"]
    assert (await _import(database, clock, write_plan_xlsx(tmp_path / "moved.xlsx", edited))).changed is False


def test_the_factory_plan_is_a_realistic_county() -> None:
    plan = build_county_plan(seed=1)
    kinds = {u["kind"] for u in plan["units"]}
    assert kinds == {"county", "township", "village", "department", "enterprise"}
    assert {t["category"] for t in plan["targets"]} == {
        "industry", "project_acquisition", "project_delivery", "investment", "other"}
    assert {t["measure"] for t in plan["targets"]} >= {"万元", "个", "亩", "头", "起"}
    assert {t["mode"] for t in plan["targets"]} == {"zero_base", "continuous"}
    assert {t["direction"] for t in plan["targets"]} == {"higher", "lower"}
    roles = {r for p in plan["people"] for r in p["role"].split(";")}
    assert roles == {"admin", "leader", "cadre", "inspector", "assessor"}
    assert len(plan["groups"]) == 9
    assert {x["kind"] for x in plan["links"]} == {"investment_project", "key_project", "enterprise",
                                                  "lagging_village"}
    assert any(a["milestones"] for a in plan["assignments"]) and any(a["site_latitude"] for a in plan["assignments"])
    assert plan["targets"][0]["deadline"] > date(2027, 1, 1)
