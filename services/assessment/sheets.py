"""The workbook sheets every results export shares: a bold frozen header in the configured language, typed
cells (scores with 2 decimals, values, percents), column widths and an autofilter; sheet names Excel accepts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from config.i18n import t
from services.core import cells

SCORE_FORMAT = "0.00"
VALUE_FORMAT = "#,##0.####"
PERCENT_FORMAT = "0.00%"
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_BOTTOM_FILL = PatternFill("solid", fgColor="F8CBAD")
_BAD = re.compile(r"[\[\]\*\?/\\:]")


def sheet_name(text: str, taken: set[str]) -> str:
    name = _BAD.sub("_", text)[:31] or "_"
    base, n = name, 2
    while name in taken:
        suffix = f"~{n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def cell_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


class Sheet:
    """A sheet with a bold frozen header, typed cells, column widths and an autofilter."""

    def __init__(self, ws: Worksheet, lang: str, columns: list[tuple[str, int, str]]) -> None:
        self.ws, self.columns, self.rows = ws, columns, 1
        cells.append(ws, [t(f"exp.col.{key}", lang) for key, _, _ in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        for c, (_, width, _) in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(c)].width = width
        ws.freeze_panes = "A2"

    def add(self, values: Iterable[Any], *, highlight: bool = False) -> None:
        self.rows += 1
        for c, (value, (_, _, kind)) in enumerate(zip(values, self.columns, strict=True), start=1):
            if value is None or value == "":
                continue
            cell = cells.put(self.ws, self.rows, c, cell_value(value))
            if kind == "score":
                cell.number_format = SCORE_FORMAT
            elif kind == "value":
                cell.number_format = VALUE_FORMAT
            elif kind == "percent":
                cell.number_format = PERCENT_FORMAT
            if highlight:
                cell.fill = _BOTTOM_FILL

    def finish(self) -> None:
        self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.columns))}{max(self.rows, 1)}"
