"""The invitations workbook the office hands out: one row per person with their personal link."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from config.i18n import t
from services.core import cells
from services.people.invite import PersonInvite, link

COLUMNS = ("person_code", "name", "unit_code", "unit_name", "roles", "link", "expires")


def write_invites(path: Path, rows: list[PersonInvite], bot_username: str, lang: str, tz: ZoneInfo) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t("sheet.invites.title", lang)
    cells.append(ws, [t(f"sheet.invites.{c}", lang) for c in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        cells.append(ws, [r.person_code, r.name, r.unit_code or "", r.unit_name or "", r.roles,
                   link(bot_username, r.code), r.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")])
    for col, width in zip("ABCDEFG", (12, 12, 12, 20, 16, 60, 18), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
