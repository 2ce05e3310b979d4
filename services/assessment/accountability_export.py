"""The accountability workbook (``duban assess accountability YEAR --out FILE.xlsx``): one sheet per kind of
line (说明, 述职, leadership review, the year's records), each line with its number, who, why and what the
office recorded (services/assessment/accountability.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from config.i18n import t
from models.db import UnitOfWork
from services.assessment.accountability import KINDS, Accountability, Line, accountability
from services.assessment.sheets import Sheet, sheet_name
from services.core import cells
from services.core.clock import Clock


@dataclass(frozen=True)
class Written:
    year: int
    lines: int
    path: Path


def reasons_text(line: Line, lang: str) -> str:
    sep = "；" if lang == "zh" else "; "
    return sep.join(t(r.key, lang, **r.params) for r in line.reasons)


def write(path: Path, acc: Accountability, lang: str, tz: ZoneInfo) -> Written:
    wb = Workbook()
    taken: set[str] = set()
    about = wb.active
    assert about is not None
    about.title = sheet_name(t("acc.sheet.about", lang), taken)
    status = t("exp.preview", lang) if acc.live else t(f"res.status.{acc.status}", lang)
    for key, value in (("year", acc.year), ("status", status), ("lines", len(acc.lines))):
        cells.append(about, [t(f"acc.about.{key}", lang), value])
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 22, 40
    for kind in KINDS:
        sheet = Sheet(wb.create_sheet(sheet_name(t(f"acc.kind.{kind}", lang), taken)), lang, [
            ("acc_number", 6, "int"), ("acc_code", 12, "text"), ("acc_who", 16, "text"),
            ("acc_reasons", 70, "text"), ("acc_people", 20, "text"), ("acc_status", 10, "text"),
            ("acc_note", 40, "text"), ("acc_recorded", 22, "text")])
        for line in (x for x in acc.lines if x.kind == kind):
            o = line.outcome
            sheet.add([line.number, line.code, line.who, reasons_text(line, lang), "、".join(line.people),
                       t(f"acc.status.{o.status}", lang) if o else t("acc.status.none", lang), o.note if o else "",
                       f"{o.recorded_at.astimezone(tz):%Y-%m-%d %H:%M} {o.recorded_by}" if o else ""])
        sheet.finish()
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return Written(acc.year, len(acc.lines), path)


async def export(path: Path, year: int | None, *, uow: UnitOfWork, clock: Clock, lang: str) -> Written:
    acc = await accountability(year, uow=uow, clock=clock)
    return write(path, acc, lang, clock.tz)
