"""Text that looks like a formula stays text in every workbook Duban writes (services/core/cells.py): here the
helper itself and the plan workbook, whose export must still import back unchanged. The other writers are
tested beside their domains with :func:`assert_text_only`."""

from __future__ import annotations

import copy
import re
import zipfile
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlmodel import select

from models.people import Person
from models.plan import LeadingGroup, Target, Unit
from services.core.cells import append, put
from services.plan.export import export_plan
from services.plan.importer import import_plan, render_report
from services.plan.workbook import EXAMPLES, build_workbook

# A live link, and the starts a spreadsheet program reads as a formula once the cell is edited.
INJECTIONS = ('=HYPERLINK("http://x";"y")', "+1", "-1", "@SUM(1)")


def assert_text_only(path: Path, texts: Iterable[str]) -> None:
    """Each of ``texts`` is in the workbook as a plain text cell (with Excel's quote prefix, so that editing
    it keeps it text), and no sheet holds a formula (an ``<f>`` element)."""
    book = load_workbook(path)
    cells = {c.value: c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    for text in texts:
        assert text in cells, text
        assert cells[text].data_type == "s" and cells[text].quotePrefix, text
    with zipfile.ZipFile(path) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert sheets and not [name for name in sheets if re.search(rb"<f[\s>/]", archive.read(name))]


def test_the_helper_writes_every_str_as_text_and_other_values_as_they_are(tmp_path: Path) -> None:
    book = Workbook()
    ws = book.active
    append(ws, [*INJECTIONS, "＝SUM(1)", "#N/A", "plain", 7, Decimal("2.5"), date(2027, 6, 30)])
    put(ws, 3, 2, "=1+1")
    put(ws, 3, 3, "bell\x07 and tab\t kept")
    book.save(tmp_path / "cells.xlsx")
    assert_text_only(tmp_path / "cells.xlsx", [*INJECTIONS, "＝SUM(1)", "=1+1"])
    read = load_workbook(tmp_path / "cells.xlsx").active
    assert [c.value for c in read[1]][4:9] == ["＝SUM(1)", "#N/A", "plain", 7, 2.5]
    assert read["J1"].value.date() == date(2027, 6, 30) and read["F1"].data_type == "s"  # not an error value
    assert not read["G1"].quotePrefix and read["C3"].value == "bell and tab\t kept"  # XML cannot hold a bell


async def test_plan_texts_like_formulas_stay_text_and_the_export_imports_back_unchanged(
    database, clock, tmp_path: Path
) -> None:
    rows = copy.deepcopy(EXAMPLES)
    rows["units"][0]["name"] = INJECTIONS[0]
    rows["units"][1]["name"] = INJECTIONS[1]
    rows["targets"][0]["title"] = INJECTIONS[2]
    rows["targets"][0]["description"] = INJECTIONS[3]
    rows["people"][1]["name"] = INJECTIONS[0]
    rows["groups"][0]["name"] = INJECTIONS[3]
    source = tmp_path / "plan.xlsx"
    build_workbook(rows).save(source)
    assert_text_only(source, INJECTIONS)

    report = await import_plan(source, db_uow=database.uow(), clock=clock, actor="cli")
    assert report.ok, render_report(report, "en")
    async with database.uow() as uow:
        s = uow.session
        assert (await s.exec(select(Unit.name).where(Unit.code == "C00"))).one() == INJECTIONS[0]
        assert (await s.exec(select(Unit.name).where(Unit.code == "T01"))).one() == "+1"
        target = (await s.exec(select(Target).where(Target.code == "G2027-01"))).one()
        assert (target.title, target.description) == ("-1", "@SUM(1)")
        assert (await s.exec(select(Person.name).where(Person.code == "P002"))).one() == INJECTIONS[0]
        assert (await s.exec(select(LeadingGroup.name))).one() == "@SUM(1)"

    exported = tmp_path / "export.xlsx"
    await export_plan(exported, db_uow=database.uow())
    assert_text_only(exported, INJECTIONS)
    again = await import_plan(exported, db_uow=database.uow(), clock=clock, actor="cli")
    assert again.ok and not again.changed, render_report(again, "en")
