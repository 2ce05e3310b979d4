"""The template, the export round trip and the plan message catalogues."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func
from sqlmodel import select

from config.i18n import catalogue, placeholders
from models.core import AuditLog
from models.people import Person, RoleMembership
from models.plan import Unit
from services.plan.export import export_plan
from services.plan.importer import import_plan, render_report
from services.plan.workbook import SHEETS, read_workbook, write_template
from tests.support.plan_factory import build_county_plan, write_plan_xlsx


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    write_template(path)
    return path


def _filled(template: Path, target: Path) -> Path:
    """The template with its example rows un-commented, as an admin would start."""
    book = load_workbook(template)
    for ws in book.worksheets[1:]:
        for row in ws.iter_rows(min_row=2):
            if isinstance(row[0].value, str) and row[0].value.startswith("#"):
                row[0].value = row[0].value[1:]
    book.save(target)
    return target


def test_the_template_has_every_sheet_with_headers_lists_and_instructions(template) -> None:
    book = load_workbook(template)
    assert book.sheetnames[0] == "说明"
    assert book.sheetnames[1:] == [f"{s.label} {s.key}" for s in SHEETS]
    instructions = [c.value for c in book["说明"]["A"] if c.value]
    assert instructions[0] == "目标管理计划表 填写说明" and len(instructions) > 40
    units = book["单位 units"]
    assert [c.value for c in units[1]] == ["编码 code", "名称 name", "类型 kind", "考核类别 class",
                                          "上级编码 parent_code", "纬度 latitude", "经度 longitude", "半径米 radius_m"]
    for spec in SHEETS:
        ws = book[f"{spec.label} {spec.key}"]
        assert [c.value for c in ws[1]] == [c.header() for c in spec.columns]
        examples = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] is not None]
        assert 1 <= len(examples) <= 3 and all(str(r[0]).startswith("#") for r in examples)
        lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
        enum_columns = [i for i, c in enumerate(spec.columns, start=1) if c.enum is not None]
        assert len(lists) == len(enum_columns)
    kinds = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in units.data_validations.dataValidation}
    assert kinds == {"C2": '"县,乡镇,村,部门,企业"'}
    targets = book["目标 targets"]
    formulas = {dv.formula1 for dv in targets.data_validations.dataValidation}
    assert formulas == {'"产业培育,项目争取,项目落实,招商引资,其他"', '"越高越好,越低越好"', '"零基,连续"'}


def test_the_unfilled_template_is_an_empty_workbook(template) -> None:
    problems = read_workbook(template)
    assert isinstance(problems, list) and [p.key for p in problems] == ["plan.file.empty"]


async def test_the_filled_template_imports_cleanly(database, clock, template, tmp_path) -> None:
    filled = _filled(template, tmp_path / "filled.xlsx")
    report = await import_plan(filled, db_uow=database.uow(), clock=clock, actor="cli")
    assert report.ok, render_report(report, "zh")
    assert {s: c["created"] for s, c in report.counts.items()} == {
        "units": 3, "targets": 2, "assignments": 2, "people": 3, "groups": 1, "links": 2}
    async with database.uow() as uow:
        person = (await uow.session.exec(select(Person).where(Person.code == "P003"))).one()
        roles = (await uow.session.exec(select(RoleMembership).where(RoleMembership.person_id == person.id))).all()
    assert sorted((m.role, m.scope) for m in roles) == [("assessor", ""), ("inspector", "T01;村")]
    again = await import_plan(filled, db_uow=database.uow(), clock=clock, actor="cli")
    assert again.ok and not again.changed


async def test_an_export_imports_back_without_any_change(database, clock, tmp_path) -> None:
    plan = build_county_plan(seed=4, townships=10, villages=5)
    assert (await import_plan(write_plan_xlsx(tmp_path / "plan.xlsx", plan), db_uow=database.uow(), clock=clock,
                              actor="cli")).ok
    async with database.uow() as uow:
        audits = (await uow.session.exec(select(func.count()).select_from(AuditLog))).one()
    exported = tmp_path / "export.xlsx"
    await export_plan(exported, db_uow=database.uow())

    book = load_workbook(exported)
    assert book.sheetnames == load_workbook(_template_path(tmp_path)).sheetnames
    assert book["任务分解 assignments"].max_row == len(plan["assignments"]) + 1
    assert not any(str(r[0]).startswith("#") for r in book["单位 units"].iter_rows(min_row=2, values_only=True))

    report = await import_plan(exported, db_uow=database.uow(), clock=clock, actor="cli")
    assert report.ok and not report.changed, render_report(report, "en")
    assert report.counts["assignments"]["unchanged"] == len(plan["assignments"])
    assert not report.missing
    async with database.uow() as uow:
        assert (await uow.session.exec(select(func.count()).select_from(AuditLog))).one() == audits


async def test_an_export_leaves_out_deactivated_units(database, clock, tmp_path) -> None:
    plan = build_county_plan(seed=5, townships=2, villages=2)
    path = write_plan_xlsx(tmp_path / "plan.xlsx", plan)
    assert (await import_plan(path, db_uow=database.uow(), clock=clock, actor="cli")).ok
    async with database.uow() as uow:
        unit = (await uow.session.exec(select(Unit).where(Unit.code == "QY06"))).one()
        unit.active = False
        await uow.commit()
    exported = tmp_path / "export.xlsx"
    async with database.uow() as uow:
        await export_plan(exported, db_uow=uow)
    parsed = read_workbook(exported)
    assert not isinstance(parsed, list)
    assert "QY06" not in {r.values["code"] for r in parsed.rows("units")}
    report = await import_plan(exported, db_uow=database.uow(), clock=clock, actor="cli", prune=True)
    assert report.ok and not report.changed


def _template_path(tmp_path: Path) -> Path:
    path = tmp_path / "template.xlsx"
    write_template(path)
    return path


def test_both_catalogues_have_the_same_plan_messages() -> None:
    zh = {k: v for k, v in catalogue("zh").items() if k.startswith("plan.")}
    en = {k: v for k, v in catalogue("en").items() if k.startswith("plan.")}
    assert zh.keys() == en.keys() and len(zh) > 50
    for key in zh:
        assert zh[key] and en[key], key
        assert placeholders(zh[key]) == placeholders(en[key]), key
    problem_keys = {
        "plan.file.not_workbook", "plan.file.empty", "plan.header.missing_column", "plan.header.unknown_column",
        "plan.value.not_number", "plan.value.negative", "plan.value.bad_date", "plan.ref.unknown_unit",
        "plan.dup.code", "plan.report.nothing_changed", "plan.report.dry_run",
    }
    assert problem_keys <= zh.keys()
