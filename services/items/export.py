"""``duban items export``: every supervision item, one row per unit's part, with its light as of now (the one
light function), as a workbook: worst light first, then the oldest deadline. Every text cell goes through
services/core/cells.py (never a formula); dates and times are typed cells in the county's time zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from config.i18n import t
from models.db import UnitOfWork
from services.calendar.workdays import read_calendar
from services.core import cells
from services.core.clock import Clock
from services.items.records import ItemView, PartView, load

COLUMNS: tuple[tuple[str, int], ...] = (
    ("item", 8), ("source", 10), ("task", 40), ("opener", 12), ("created_at", 17), ("deadline", 12),
    ("flagged", 8), ("unit_code", 10), ("unit_name", 16), ("state", 10), ("light", 8), ("sign_due_at", 17),
    ("signed_at", 17), ("signer", 10), ("reported_at", 17), ("reports", 8), ("returns", 8), ("decided_at", 17),
    ("decider", 10), ("decision_note", 30), ("closed_at", 17),
)
_FILL = PatternFill("solid", fgColor="DDEBF7")


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) if moment else None


def _row(item: ItemView, p: PartView, lang: str, tz: ZoneInfo) -> list[object]:
    return [item.id, t(f"items.source.{item.source}", lang), item.task, item.opener, _local(item.created_at, tz),
            item.deadline, t("items.export.yes", lang) if item.flagged else "", p.unit_code, p.unit_name,
            t(f"items.state.{p.state}", lang), t(f"items.light.{p.light.value}", lang), _local(p.sign_due_at, tz),
            _local(p.signed_at, tz), p.signer, _local(p.reported_at, tz), p.reports, p.returns,
            _local(p.decided_at, tz), p.decider, p.decision_note, _local(p.closed_at, tz)]


async def export_items(path: Path, *, uow: UnitOfWork, clock: Clock, lang: str) -> int:
    """Write the workbook; returns how many rows (parts) it holds."""
    async with uow:
        s = uow.session
        items = await load(s, None, now=clock.now(), cal=await read_calendar(s))
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t("items.export.title", lang)
    cells.append(ws, [t(f"items.export.col.{key}", lang) for key, _ in COLUMNS])
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), _FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    rows = 0
    for item in items:
        for part in sorted(item.parts, key=lambda p: (p.light != item.light, p.unit_code)):
            rows += 1
            for c, value in enumerate(_row(item, part, lang, clock.tz), start=1):
                if value is None or value == "":
                    continue
                cell = cells.put(ws, rows + 1, c, value)
                if isinstance(value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif COLUMNS[c - 1][0] == "deadline":
                    cell.number_format = "yyyy-mm-dd"
    for c, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{rows + 1}"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return rows
