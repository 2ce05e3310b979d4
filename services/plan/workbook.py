"""The plan workbook (.xlsx): the template, reading a filled workbook into rows, writing rows back.

Reading only checks what one row can tell (headers, types, ranges, enumerations); whether codes
refer to something that exists is checked in :mod:`services.plan.validate` against the database.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from config.i18n import t
from models.enums import CHINESE_NAMES
from models.types import decimal_text
from services.core.cells import append as append_row
from services.plan.spec import (
    COORDINATE_PAIRS,
    MAX_COLUMNS,
    MAX_ROWS,
    SHEETS,
    CellError,
    Column,
    Kind,
    Problem,
    Refused,
    Sheet,
    cell_text,
    check_sheet_size,
    check_size,
    check_unpacked,
    enum_display,
    is_empty,
    match_name,
    milestones_text,
    parse_cell,
)

__all__ = ["SHEETS", "ParsedPlan", "Problem", "Row", "SheetRows", "build_workbook", "read_workbook",
           "write_template"]

INSTRUCTIONS_TITLE = "说明"
COMMENT = "#"


@dataclass
class Row:
    number: int  # the Excel row number
    values: dict[str, Any]  # column key -> value (the column's default for an empty cell)
    raw: dict[str, str]  # column key -> cell text, for problems
    bad: set[str] = field(default_factory=set)  # columns whose cell has a problem

    def ok(self, *keys: str) -> bool:
        return all(k in self.values and k not in self.bad for k in keys)


@dataclass
class SheetRows:
    spec: Sheet
    title: str
    header_row: int
    columns: tuple[str, ...]
    rows: list[Row]


@dataclass
class ParsedPlan:
    sheets: dict[str, SheetRows]  # only the sheets the workbook has
    problems: list[Problem]  # cell problems; the rows are kept so that references can still be checked

    def rows(self, sheet: str) -> list[Row]:
        found = self.sheets.get(sheet)
        return found.rows if found else []

    def has(self, sheet: str, column: str | None = None) -> bool:
        found = self.sheets.get(sheet)
        return found is not None and (column is None or column in found.columns)


# ---------------------------------------------------------------------------------------- reading


def read_workbook(source: Path | bytes) -> ParsedPlan | list[Problem]:
    """Rows of every known sheet, or the problems that make the file unreadable as a plan.

    A list is returned for a file that is not a workbook, is larger than a plan may be (spec.MAX_*: checked
    before parsing), has no known sheet or no data rows, or whose headers are wrong; problems in cells are in
    ``ParsedPlan.problems``.
    """
    try:
        check_size(len(source) if isinstance(source, bytes) else Path(source).stat().st_size)
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        check_unpacked(data)
    except OSError as exc:
        return [Problem("", None, None, str(source), "plan.file.unreadable", {"error": exc.strerror or exc})]
    except Refused as exc:
        return [exc.problem]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
        try:
            book = load_workbook(BytesIO(data), read_only=True, data_only=True)
        except Exception:
            return [Problem("", None, None, None, "plan.file.not_workbook", {})]
        try:
            return _read_book(book)
        except Refused as exc:
            return [exc.problem]
        except Exception:  # a damaged sheet inside a valid zip
            return [Problem("", None, None, None, "plan.file.not_workbook", {})]
        finally:
            book.close()


def _read_book(book: Any) -> ParsedPlan | list[Problem]:
    labels = {s.key: s.label for s in SHEETS}
    found: dict[str, Any] = {}
    structural: list[Problem] = []
    for ws in book.worksheets:
        key = match_name(ws.title, labels)
        if key is None:
            continue  # the instructions sheet, notes, anything else
        if key in found:
            structural.append(Problem(key, None, None, ws.title, "plan.file.duplicate_sheet",
                                      {"other": found[key].title}))
            continue
        found[key] = ws
    if not found:
        return [Problem("", None, None, None, "plan.file.empty", {})]
    sheets: dict[str, SheetRows] = {}
    problems: list[Problem] = []
    for spec in SHEETS:
        if spec.key in found:
            parsed = _read_sheet(spec, found[spec.key], structural, problems)
            if parsed is not None:
                sheets[spec.key] = parsed
    if structural:
        return structural
    if not any(s.rows for s in sheets.values()):
        return [Problem("", None, None, None, "plan.file.empty", {})]
    return ParsedPlan(sheets, problems)


def _is_comment(cells: Sequence[Any]) -> bool:
    first = next((c for c in cells if not is_empty(c)), None)
    return isinstance(first, str) and first.lstrip().startswith(COMMENT)


def _rows(spec: Sheet, ws: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a sheet whose declared size is within bounds, none wider than MAX_COLUMNS (openpyxl pads
    each row to the declared width), and Refused at row MAX_ROWS + 1 (a sheet need not declare its size)."""
    check_sheet_size(spec.key, ws.max_row, ws.max_column)
    width = min(ws.max_column or MAX_COLUMNS, MAX_COLUMNS)
    for number, cells in enumerate(ws.iter_rows(min_row=1, max_col=width, values_only=True), start=1):
        if number > MAX_ROWS:
            raise Refused(Problem(spec.key, None, None, None, "plan.sheet.too_many_rows", {"max_rows": MAX_ROWS}))
        yield cells


def _read_sheet(spec: Sheet, ws: Any, structural: list[Problem], problems: list[Problem]) -> SheetRows | None:
    rows = _rows(spec, ws)
    header: tuple[Any, ...] | None = None
    header_row = 0
    for number, cells in enumerate(rows, start=1):
        if all(is_empty(c) for c in cells) or _is_comment(cells):
            continue
        header, header_row = cells, number
        break
    if header is None:
        return None
    names = {c.key: c.label for c in spec.columns}
    mapping: dict[int, Column] = {}
    before = len(structural)
    for index, cell in enumerate(header):
        if is_empty(cell):
            continue
        text = cell_text(cell)
        key = match_name(text, names)
        if key is None:
            structural.append(Problem(spec.key, header_row, text, None, "plan.header.unknown_column", {}))
        elif key in (c.key for c in mapping.values()):
            structural.append(Problem(spec.key, header_row, key, text, "plan.header.duplicate_column", {}))
        else:
            mapping[index] = spec.column(key)
    present = {c.key for c in mapping.values()}
    for col in spec.columns:
        if col.required and col.key not in present:
            structural.append(Problem(spec.key, header_row, col.key, None, "plan.header.missing_column", {}))
    if len(structural) > before:
        return None
    data = [_read_row(spec, number, cells, mapping, problems)
            for number, cells in enumerate(rows, start=header_row + 1)
            if not all(is_empty(c) for c in cells) and not _is_comment(cells)]
    columns = tuple(c.key for c in spec.columns if c.key in present)
    return SheetRows(spec, ws.title, header_row, columns, data)


def _read_row(spec: Sheet, number: int, cells: Sequence[Any], mapping: dict[int, Column],
              problems: list[Problem]) -> Row:
    row = Row(number, {}, {})

    def fail(column: str, key: str, **params: Any) -> None:
        row.bad.add(column)
        problems.append(Problem(spec.key, number, column, row.raw.get(column) or None, key, params))

    for index, value in enumerate(cells):
        if index not in mapping and not is_empty(value):
            problems.append(Problem(spec.key, number, get_column_letter(index + 1), cell_text(value),
                                    "plan.cell.no_header", {}))
    for index, col in mapping.items():
        value = cells[index] if index < len(cells) else None
        row.raw[col.key] = cell_text(value)
        if is_empty(value):
            if col.required and not col.optional_value:
                fail(col.key, "plan.value.required")
            else:
                row.values[col.key] = col.default
            continue
        try:
            row.values[col.key] = parse_cell(col, value)
        except CellError as exc:
            fail(col.key, exc.key, **exc.params)
    pair = COORDINATE_PAIRS.get(spec.key)
    if pair and not (set(pair) & row.bad):
        given = [row.values.get(k) is not None for k in pair]
        if any(given) and not all(given):
            fail(pair[given.index(False)], "plan.value.coordinates_pair")
    return row


# ---------------------------------------------------------------------------------------- writing

EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "units": [
        {"code": "C00", "name": "示例县", "kind": "county", "class": "县", "latitude": 30.5012,
         "longitude": 104.1023, "radius_m": 3000},
        {"code": "T01", "name": "青山镇", "kind": "township", "class": "乡镇", "parent_code": "C00",
         "latitude": 30.5521, "longitude": 104.2034, "radius_m": 1500},
        {"code": "V0101", "name": "青山镇石桥村", "kind": "village", "class": "村", "parent_code": "T01",
         "latitude": 30.5602, "longitude": 104.2101, "radius_m": 500},
    ],
    "targets": [
        {"code": "G2027-01", "year": 2027, "title": "招商引资到位资金", "category": "investment",
         "measure": "万元", "direction": "higher", "mode": "zero_base", "deadline": date(2027, 12, 31),
         "leading_group_code": "LG01", "report_interval_days": 7, "description": "以商务部门统计为准",
         "pillar": "电力能源"},
        {"code": "G2027-02", "year": 2027, "title": "高标准农田建设", "category": "project_delivery",
         "measure": "亩", "direction": "higher", "mode": "continuous", "deadline": date(2027, 11, 30),
         "leading_group_code": "LG01", "report_interval_days": 14, "description": ""},
    ],
    "assignments": [
        {"target_code": "G2027-01", "unit_code": "T01", "planned_value": Decimal(5000),
         "baseline_value": Decimal(0), "weight": Decimal(10),
         "milestones": [["2027-03-31", "20"], ["2027-06-30", "50"], ["2027-09-30", "75"]]},
        {"target_code": "G2027-02", "unit_code": "V0101", "planned_value": Decimal("1200.5"),
         "baseline_value": Decimal(300), "weight": Decimal(5), "deadline": date(2027, 10, 31),
         "site_latitude": 30.5611, "site_longitude": 104.2123, "site_radius_m": 300},
    ],
    "people": [
        {"code": "P001", "name": "张明", "unit_code": "C00", "role": ("leader",), "phone": "13800000001"},
        {"code": "P002", "name": "李华", "unit_code": "T01", "role": ("cadre",), "phone": "13800000002"},
        {"code": "P003", "name": "王强", "unit_code": "C00", "role": ("inspector", "assessor"),
         "phone": "13800000003", "scope": ("T01", "村")},
    ],
    "groups": [{"code": "LG01", "name": "农业产业化领导小组", "head_code": "P001"}],
    "links": [
        {"leader_code": "P001", "kind": "investment_project", "target_code": "G2027-01"},
        {"leader_code": "P001", "kind": "lagging_village", "unit_code": "V0101"},
    ],
}

_REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_SIGNIFICANT_DIGITS = 15


def _number(value: Decimal) -> int | float | str:
    """A number cell when Excel holds it exactly, else its text (read back exactly)."""
    if len(value.normalize().as_tuple().digits) > _SIGNIFICANT_DIGITS:
        return decimal_text(value)
    return int(value) if value == value.to_integral_value() else float(value)


def cell_value(col: Column, value: Any) -> Any:
    if value is None or value == "" or value == ():
        return None
    if col.kind is Kind.ENUM and col.enum is not None:
        return enum_display(col.enum, value)
    if col.kind is Kind.ROLES and col.enum is not None:
        return ";".join(enum_display(col.enum, v) for v in value)
    if col.kind is Kind.CODES:
        return ";".join(value)
    if col.kind is Kind.MILESTONES:
        return milestones_text(value) or None
    if col.kind is Kind.DECIMAL:
        return _number(Decimal(value))
    return value


def _validation(col: Column, letter: str, last_row: int) -> DataValidation | None:
    if col.enum is None:
        return None
    names = CHINESE_NAMES.get(col.enum, {})
    listed = ",".join(names.get(m.value, m.value) for m in col.enum)
    dv = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True, showErrorMessage=True,
                        errorStyle="warning", errorTitle=t("plan.template.dv_title", "zh"),
                        error=t("plan.template.dv_error", "zh"))
    dv.add(f"{letter}2:{letter}{last_row}")
    return dv


def _instructions(book: Workbook) -> None:
    ws = book.create_sheet(INSTRUCTIONS_TITLE)
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 8
    ws.column_dimensions["D"].width = 80
    append_row(ws, [t("plan.template.title", "zh")])
    ws["A1"].font = Font(bold=True, size=14)
    for n in range(1, 8):
        append_row(ws, [t(f"plan.template.rule{n}", "zh")])
    ws.append([])
    head = [t(f"plan.template.head.{k}", "zh") for k in ("sheet", "column", "required", "format")]
    append_row(ws, head)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for spec in SHEETS:
        for col in spec.columns:
            needed = t("plan.template.yes" if col.required and not col.optional_value else "plan.template.no",
                       "zh")
            append_row(ws, [spec.title(), col.header(), needed, _format_note(spec, col)])
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _format_note(spec: Sheet, col: Column) -> str:
    specific = f"plan.template.note.{spec.key}.{col.key}"
    try:
        return t(specific, "zh")
    except KeyError:
        pass
    if col.enum is not None:
        names = CHINESE_NAMES.get(col.enum, {})
        return t("plan.template.kind.enum", "zh",
                 choices="、".join(f"{names.get(m.value, '')}（{m.value}）" for m in col.enum))
    note = t(f"plan.template.kind.{col.kind.value}", "zh")
    if col.default not in (None, "", ()):
        note += t("plan.template.default", "zh", default=cell_text(col.default))
    return note


def build_workbook(data: Mapping[str, Sequence[Mapping[str, Any]]], *, commented: bool = False) -> Workbook:
    """The instructions sheet and every plan sheet with ``data`` rows (as comments if ``commented``)."""
    book = Workbook()
    book.remove(book.active)
    _instructions(book)
    for spec in SHEETS:
        ws = book.create_sheet(spec.title())
        append_row(ws, [c.header() for c in spec.columns])
        for cell, col in zip(ws[1], spec.columns, strict=True):
            cell.font = Font(bold=col.required)
            cell.fill = _REQUIRED_FILL if col.required else _HEADER_FILL
        rows = data.get(spec.key, ())
        for item in rows:
            values = [cell_value(c, item.get(c.key)) for c in spec.columns]
            if commented:
                values[0] = f"{COMMENT}{values[0]}"
            append_row(ws, values)
        last_row = max(1000, len(rows) + 1000)
        for index, col in enumerate(spec.columns, start=1):
            letter = get_column_letter(index)
            ws.column_dimensions[letter].width = max(col.width, len(col.header()) * 2)
            if col.kind is Kind.DATE:
                for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "yyyy-mm-dd"
            dv = _validation(col, letter, last_row)
            if dv is not None:
                ws.add_data_validation(dv)
        ws.freeze_panes = "A2"
    return book


def write_template(path: Path) -> None:
    """An empty plan workbook with instructions, drop-down lists and example rows commented out."""
    build_workbook(EXAMPLES, commented=True).save(path)
