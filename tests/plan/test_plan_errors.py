"""Broken workbooks: every problem is reported with sheet, row and column, and nothing is written."""

from __future__ import annotations

import copy
import random
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func
from sqlmodel import select

from models.core import AuditLog
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit
from services.plan.importer import ImportReport, import_plan, render_report
from services.plan.workbook import read_workbook
from tests.support.plan_factory import build_county_plan, write_plan_xlsx

PLAN = build_county_plan(seed=3, townships=2, villages=2)
Expected = list[tuple[str, int | None, str | None, str]]


def excel_row(index: int) -> int:
    """The Excel row of data row ``index`` in a factory workbook (header, a comment, a blank after row 3)."""
    return 3 + index + (1 if index > 3 else 0)


def _plan() -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(PLAN)


def _write(tmp_path: Path, plan: dict) -> Path:
    return write_plan_xlsx(tmp_path / "broken.xlsx", plan)


def _edit_cell(path: Path, title: str, cell: str, value: Any) -> Path:
    book = load_workbook(path)
    book[title][cell] = value
    book.save(path)
    return path


def case_wrong_header(tmp_path: Path) -> tuple[Any, Expected]:
    path = _edit_cell(_write(tmp_path, _plan()), "单位 units", "A1", "代码 code")
    return path, [("units", 1, "代码 code", "plan.header.unknown_column"),
                  ("units", 1, "code", "plan.header.missing_column")]


def case_unknown_column(tmp_path: Path) -> tuple[Any, Expected]:
    path = _edit_cell(_write(tmp_path, _plan()), "目标", "L1", "负责人")
    return path, [("targets", 1, "负责人", "plan.header.unknown_column")]


def case_unknown_unit_code(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["assignments"][5]["unit_code"] = "XZ99"
    return _write(tmp_path, plan), [("assignments", excel_row(5), "unit_code", "plan.ref.unknown_unit")]


def case_duplicate_code(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["units"].append({**plan["units"][6], "name": "重复的村"})
    last = len(plan["units"]) - 1
    return _write(tmp_path, plan), [("units", excel_row(6), "code", "plan.dup.code"),
                                    ("units", excel_row(last), "code", "plan.dup.code")]


def case_duplicate_assignment(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["assignments"].append({**plan["assignments"][0], "weight": Decimal(3)})
    last = len(plan["assignments"]) - 1
    return _write(tmp_path, plan), [("assignments", excel_row(0), "unit_code", "plan.dup.assignment"),
                                    ("assignments", excel_row(last), "unit_code", "plan.dup.assignment")]


def case_bad_date(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["targets"][4]["deadline"] = "2027-13-45"
    return _write(tmp_path, plan), [("targets", excel_row(4), "deadline", "plan.value.bad_date")]


def case_negative_value(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["assignments"][8]["planned_value"] = Decimal(-120)
    return _write(tmp_path, plan), [("assignments", excel_row(8), "planned_value", "plan.value.negative")]


def case_weight_not_a_number(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["assignments"][9]["weight"] = "十分"
    return _write(tmp_path, plan), [("assignments", excel_row(9), "weight", "plan.value.not_number")]


def case_zero_weight(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["assignments"][11]["weight"] = Decimal(0)
    return _write(tmp_path, plan), [("assignments", excel_row(11), "weight", "plan.value.not_positive")]


def case_bad_enum_and_required(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["targets"][1]["category"] = "农业"
    plan["people"][2]["name"] = ""
    return _write(tmp_path, plan), [("targets", excel_row(1), "category", "plan.value.bad_enum"),
                                    ("people", excel_row(2), "name", "plan.value.required")]


def case_milestones(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["assignments"][1]["milestones"] = "2027-06-30:50; 2027-03-31:25"
    plan["assignments"][2]["milestones"] = "2028-03-31:25"
    plan["assignments"][3]["milestones"] = "三月底完成一半"
    return _write(tmp_path, plan), [("assignments", excel_row(1), "milestones", "plan.milestone.order"),
                                    ("assignments", excel_row(2), "milestones", "plan.milestone.outside_year"),
                                    ("assignments", excel_row(3), "milestones", "plan.value.bad_milestones")]


def case_references(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["units"][1]["parent_code"] = plan["units"][2]["code"]  # XZ01 under its own village
    plan["people"][0]["scope"] = "外星"
    plan["groups"][0]["head_code"] = "P999"
    plan["links"][0]["target_code"] = None
    plan["links"][3]["unit_code"] = "BM01"  # a lagging village that is a department
    return _write(tmp_path, plan), [
        ("units", excel_row(1), "parent_code", "plan.ref.parent_cycle"),
        ("units", excel_row(2), "parent_code", "plan.ref.parent_cycle"),
        ("people", excel_row(0), "scope", "plan.ref.unknown_scope"),
        ("groups", excel_row(0), "head_code", "plan.ref.unknown_person"),
        ("links", excel_row(0), "target_code", "plan.link.needs_reference"),
        ("links", excel_row(3), "unit_code", "plan.link.unit_kind"),
    ]


def case_several_sheets_at_once(tmp_path: Path) -> tuple[Any, Expected]:
    plan = _plan()
    plan["targets"][0]["deadline"] = "下个月"
    plan["assignments"][4]["unit_code"] = "NOPE"
    plan["assignments"][6]["weight"] = "heavy"
    plan["units"][3]["latitude"] = 123.5
    return _write(tmp_path, plan), [
        ("units", excel_row(3), "latitude", "plan.value.out_of_range"),
        ("targets", excel_row(0), "deadline", "plan.value.bad_date"),
        ("assignments", excel_row(4), "unit_code", "plan.ref.unknown_unit"),
        ("assignments", excel_row(6), "weight", "plan.value.not_number"),
    ]


def case_empty_workbook(tmp_path: Path) -> tuple[Any, Expected]:
    path = tmp_path / "empty.xlsx"
    Workbook().save(path)
    return path, [("", None, None, "plan.file.empty")]


def case_headers_without_rows(tmp_path: Path) -> tuple[Any, Expected]:
    path = write_plan_xlsx(tmp_path / "headers.xlsx", {k: [] for k in PLAN})
    return path, [("", None, None, "plan.file.empty")]


def case_random_bytes(tmp_path: Path) -> tuple[Any, Expected]:
    return random.Random(7).randbytes(4096), [("", None, None, "plan.file.not_workbook")]


def case_text_file(tmp_path: Path) -> tuple[Any, Expected]:
    path = tmp_path / "plan.txt"
    path.write_text("编码,名称\nXC00,清河县\n", encoding="utf-8")
    return path, [("", None, None, "plan.file.not_workbook")]


def case_zip_that_is_not_a_workbook(tmp_path: Path) -> tuple[Any, Expected]:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    return path, [("", None, None, "plan.file.not_workbook")]


def case_missing_file(tmp_path: Path) -> tuple[Any, Expected]:
    return tmp_path / "nowhere.xlsx", [("", None, None, "plan.file.unreadable")]


CASES: dict[str, Callable[[Path], tuple[Any, Expected]]] = {
    name.removeprefix("case_"): fn for name, fn in globals().items() if name.startswith("case_")
}


async def _counts(database) -> list[int]:
    async with database.uow() as uow:
        return [(await uow.session.exec(select(func.count()).select_from(m))).one()
                for m in (Unit, Target, Assignment, Person, RoleMembership, LeadingGroup, LeaderLink, AuditLog)]


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_broken_workbook_is_reported_exactly_and_nothing_is_written(database, clock, tmp_path, case) -> None:
    source, expected = CASES[case](tmp_path)
    report: ImportReport = await import_plan(source, db_uow=database.uow(), clock=clock, actor="cli")
    assert not report.ok and not report.changed
    assert [(p.sheet, p.row, p.column, p.key) for p in report.problems] == expected
    assert await _counts(database) == [0] * 8
    for lang in ("zh", "en"):
        text = render_report(report, lang)
        assert len(text.splitlines()) == len(expected) + 1


async def test_a_broken_workbook_leaves_an_existing_plan_untouched(database, clock, tmp_path) -> None:
    good = write_plan_xlsx(tmp_path / "good.xlsx", PLAN)
    assert (await import_plan(good, db_uow=database.uow(), clock=clock, actor="cli")).ok
    before = await _counts(database)
    plan = _plan()
    plan["assignments"][0]["planned_value"] = Decimal(999)  # a valid change ...
    plan["assignments"][1]["weight"] = "x"  # ... in a file that also has a problem
    report = await import_plan(_write(tmp_path, plan), db_uow=database.uow(), clock=clock, actor="cli")
    assert [p.key for p in report.problems] == ["plan.value.not_number"]
    assert await _counts(database) == before
    async with database.uow() as uow:
        first = PLAN["assignments"][0]
        value = (await uow.session.exec(
            select(Assignment.planned_value).join(Target).where(Target.code == first["target_code"])
            .join(Unit, Unit.id == Assignment.unit_id).where(Unit.code == first["unit_code"]))).one()
    assert value == first["planned_value"]


def test_the_report_names_sheet_row_column_and_value_in_both_languages(tmp_path) -> None:
    source, _ = case_several_sheets_at_once(tmp_path)
    plan = read_workbook(source)
    assert not isinstance(plan, list)
    report = ImportReport(problems=plan.problems)
    zh = render_report(report, "zh").splitlines()
    en = render_report(report, "en").splitlines()
    assert zh[0].startswith("导入失败") and "nothing was written" in en[0]
    assert zh[1] == f"单位 第{excel_row(3)}行 纬度「123.5」：必须在 -90 到 90 之间"
    assert en[1] == f"units row {excel_row(3)}, latitude '123.5': must be between -90 and 90"
    weight_zh = next(line for line in zh if "权重" in line)
    assert weight_zh == f"任务分解 第{excel_row(6)}行 权重「heavy」：不是数字"
    weight_en = next(line for line in en if "weight" in line)
    assert weight_en == f"assignments row {excel_row(6)}, weight 'heavy': is not a number"
    assert render_report(ImportReport(problems=read_workbook(b"nope")), "en").splitlines()[1].startswith("file: ")


def test_values_are_read_leniently_but_exactly(tmp_path) -> None:
    plan = _plan()
    plan["assignments"][0].update(planned_value=" 12,345.6789 ", baseline_value="1,000", weight="2.5")
    plan["assignments"][1].update(planned_value="1.23456")
    plan["targets"][0]["deadline"] = "2027年12月31日"
    plan["people"][0]["role"] = "领导；督查"
    plan["people"][0]["scope"] = "乡镇；XZ01"
    parsed = read_workbook(_write(tmp_path, plan))
    assert not isinstance(parsed, list)
    assert [(p.row, p.column, p.key) for p in parsed.problems] == [
        (excel_row(1), "planned_value", "plan.value.too_precise")]
    first = parsed.rows("assignments")[0].values
    assert (first["planned_value"], first["baseline_value"], first["weight"]) == (
        Decimal("12345.6789"), Decimal(1000), Decimal("2.5"))
    assert str(parsed.rows("targets")[0].values["deadline"]) == "2027-12-31"
    assert parsed.rows("people")[0].values["role"] == ("leader", "inspector")
    assert parsed.rows("people")[0].values["scope"] == ("乡镇", "XZ01")
    assert parsed.sheets["units"].title == "单位 units"
