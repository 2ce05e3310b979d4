"""The office's half-year review table: every assignment's standing as of a date, as a workbook.

Rows come from ``services.progress.standings.standings`` (the one place that computes claimed and effective
values, pace, and the plan as it stood on the date); this module only orders and lays them out:
one row per assignment, sorted by target code then unit code, headers in the configured language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t
from models.db import UnitOfWork
from models.enums import Category
from models.plan import Target
from services.core import cells
from services.progress.standings import Standing, standings

__all__ = ["COLUMNS", "ProgressRow", "export_progress", "load_rows", "rows_from", "write_progress"]

# (column key, width, kind): kind says how the cell is written and formatted.
COLUMNS: tuple[tuple[str, int, str], ...] = (
    ("target_code", 12, "text"),
    ("title", 30, "text"),
    ("category", 12, "text"),
    ("unit_code", 12, "text"),
    ("unit_name", 18, "text"),
    ("measure", 10, "text"),
    ("baseline", 14, "number"),
    ("planned", 14, "number"),
    ("deadline", 12, "date"),
    ("expected", 14, "number"),
    ("claimed", 14, "number"),
    ("effective", 14, "number"),
    ("percent", 12, "percent"),
    ("status", 12, "text"),
    ("last_report_at", 18, "datetime"),
    ("last_reporter", 12, "text"),
)
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.####"  # only for values with a fraction: Excel would show "1,000." otherwise
PERCENT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass(frozen=True)
class ProgressRow:
    target_code: str
    title: str
    category: str  # the stored value (industry, investment, ...); translated when written
    unit_code: str
    unit_name: str
    measure: str
    baseline: Decimal
    planned: Decimal  # as it stood on the date
    deadline: date  # as it stood on the date
    expected: Decimal  # expected value by the date
    claimed: Decimal | None  # None: no report confirmed by the end of the date
    effective: Decimal | None
    percent: Decimal  # percent complete, 0..100+ (2 places)
    status: str  # PaceStatus value
    last_report_at: datetime | None  # aware
    last_reporter: str | None


def rows_from(items: list[Standing], categories: dict[str, str]) -> list[ProgressRow]:
    """Rows of the table from standings (pure): sorted by target code, then unit code."""
    rows = [
        ProgressRow(
            target_code=s.target_code, title=s.title, category=categories.get(s.target_code, ""),
            unit_code=s.unit_code, unit_name=s.unit_name, measure=s.measure, baseline=s.baseline,
            planned=s.planned, deadline=s.deadline, expected=s.pace.expected, claimed=s.claimed,
            effective=s.effective, percent=s.pace.percent_complete, status=s.pace.status.value,
            last_report_at=s.last_report_at, last_reporter=s.last_reporter,
        )
        for s in items
    ]
    rows.sort(key=lambda r: (r.target_code, r.unit_code))
    return rows


async def load_rows(session: AsyncSession, *, as_of: date, tz: ZoneInfo) -> list[ProgressRow]:
    """Every assignment's row as of the end of ``as_of`` (in ``tz``)."""
    items = await standings(session, as_of=as_of, tz=tz)
    codes = {s.target_code for s in items}
    categories: dict[str, str] = {}
    if codes:
        found = await session.exec(select(Target.code, Target.category).where(col(Target.code).in_(codes)))
        categories = {code: category for code, category in found.all()}
    return rows_from(items, categories)


def _number(value: Decimal) -> int | float:
    """A numeric cell value (Excel keeps doubles anyway; values have at most 4 decimals)."""
    return int(value) if value == value.to_integral_value() else float(value)


def category_label(category: str, lang: str) -> str:
    return t(f"progress.export.category.{category}", lang) if category in set(Category) else category


def _cells(row: ProgressRow, lang: str, tz: ZoneInfo) -> dict[str, object]:
    at = row.last_report_at.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) if row.last_report_at else None
    return {
        "target_code": row.target_code, "title": row.title, "category": category_label(row.category, lang),
        "unit_code": row.unit_code, "unit_name": row.unit_name, "measure": row.measure,
        "baseline": row.baseline, "planned": row.planned, "deadline": row.deadline, "expected": row.expected,
        "claimed": row.claimed, "effective": row.effective, "percent": row.percent,
        "status": t(f"progress.export.status.{row.status}", lang), "last_report_at": at,
        "last_reporter": row.last_reporter,
    }


def write_progress(path: Path, rows: list[ProgressRow], lang: str, tz: ZoneInfo, as_of: date) -> None:
    """One sheet: a bold frozen header row, an autofilter, numbers and dates as typed cells."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t("progress.export.title", lang, date=as_of.isoformat())
    cells.append(ws, [t(f"progress.export.col.{key}", lang) for key, _, _ in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for r, row in enumerate(rows, start=2):
        values = _cells(row, lang, tz)
        for c, (key, _, kind) in enumerate(COLUMNS, start=1):
            value = values[key]
            if value is None or value == "":
                continue  # an empty cell, not "" or 0
            cell = ws.cell(row=r, column=c)
            if kind == "number":
                assert isinstance(value, Decimal)
                cell.value = _number(value)
                cell.number_format = INTEGER_FORMAT if isinstance(cell.value, int) else DECIMAL_FORMAT
            elif kind == "percent":
                assert isinstance(value, Decimal)
                cell.value = float(value / 100)
                cell.number_format = PERCENT_FORMAT
            elif kind == "date":
                cell.value = value
                cell.number_format = DATE_FORMAT
            elif kind == "datetime":
                cell.value = value
                cell.number_format = DATETIME_FORMAT
            else:
                cells.text(cell, value)  # names, titles, notes: text, never a formula
    for c, (_, width, _) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


async def export_progress(path: Path, *, db_uow: UnitOfWork, as_of: date, tz: ZoneInfo, lang: str) -> int:
    """Write the table as of the end of ``as_of`` to ``path``; returns the number of rows written."""
    async with db_uow:
        rows = await load_rows(db_uow.session, as_of=as_of, tz=tz)
    write_progress(path, rows, lang, tz, as_of)
    return len(rows)
