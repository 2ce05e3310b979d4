"""Spreadsheet cells whose text is never a formula: every workbook Duban writes puts its values through here.

openpyxl stores any string that starts with ``=`` as a formula (and ``#N/A`` and the like as errors), so a
name, reason or note typed as ``=HYPERLINK("http://x";"y")`` would become a live link or a calculation in the
office's copy. Spreadsheet programs also read ``+``, ``-`` and ``@`` at the start of a cell as a formula
once somebody edits it. Here a ``str`` is always an inline string (``t="inlineStr"``, never an ``<f>``), and
one that starts like a formula carries Excel's quote prefix: the leading apostrophe, shown and kept as text
when edited, but not part of the value, so that a workbook read back gives the text exactly as it was
written. Control characters XML cannot hold (all below a space but tab, line feed and carriage return) are
dropped instead of failing the whole export.

Numbers, dates and None go in unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

# The starts OWASP lists for CSV/formula injection, and their full-width forms a Chinese input method types.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def text(cell: Cell, value: object) -> Cell:
    """``value`` into ``cell``: a ``str`` as text, whatever it starts with; any other value as it is."""
    if not isinstance(value, str):
        cell.value = value
        return cell
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    cell.data_type = "s"  # openpyxl made "=..." a formula and "#N/A" an error
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def put(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """``ws.cell(row, column, value)`` with :func:`text`."""
    return text(ws.cell(row=row, column=column), value)


def append(ws: Worksheet, values: Iterable[object]) -> None:
    """``ws.append(values)`` with :func:`text` (openpyxl takes ready cells, as in its write-only mode)."""
    ws.append([text(Cell(ws), value) for value in values])
