"""The plan workbook's format: its sheets and columns, and how one cell becomes one value.

A column is named by its key (``code``), its Chinese label (``编码``) or both (``编码 code``); a
sheet likewise. Every cell problem is a :class:`Problem` whose ``key`` is a message id in plan.po.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from io import BytesIO
from itertools import pairwise
from typing import Any

from models.enums import CHINESE_NAMES, AssessmentMode, Category, Direction, LinkKind, Role, UnitKind, parse_enum
from models.types import decimal_text

MAX_DECIMAL = Decimal(10) ** 15  # exact through Excel's 15 digits and NUMERIC(20, 4)
DECIMAL_PLACES = 4
# The most a plan workbook may be, checked before it is parsed. A county has at most 20,000 assignments and a
# plan sheet 11 columns. Without these, a 5 KB file whose sheet declares A1:XFD1048576 is read as 17 billion
# empty cells (20 CPU minutes); a sheet of the most it may declare, 100 columns by 100,000 rows, reads in 0.7 s.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # the sum of the sizes the zip declares (zipfile holds each file to it)
MAX_ROWS = 100_000  # per sheet
MAX_COLUMNS = 100  # per sheet; in a sheet without a declared size, columns beyond it are not read


@dataclass
class Problem:
    """One thing wrong with a workbook: where (sheet key, Excel row, column key, cell text) and what."""

    sheet: str
    row: int | None
    column: str | None
    value: str | None
    key: str
    params: dict[str, Any] = field(default_factory=dict)


class Refused(Exception):
    """The file is refused whole, before or while it is read: one problem says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.key)
        self.problem = problem


def check_size(size: int) -> None:
    """Refused if the file is too large (checked before it is read)."""
    if size > MAX_FILE_BYTES:
        raise Refused(Problem("", None, None, None, "plan.file.too_big",
                              {"size": _megabytes(size), "limit": _megabytes(MAX_FILE_BYTES)}))


def check_unpacked(data: bytes) -> None:
    """Refused if the file is too large unpacked (a file that is no zip is left to the reader)."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    if unpacked > MAX_UNPACKED_BYTES:
        raise Refused(Problem("", None, None, None, "plan.file.too_big_unpacked",
                              {"size": _megabytes(unpacked), "limit": _megabytes(MAX_UNPACKED_BYTES)}))


def check_sheet_size(sheet: str, rows: int | None, columns: int | None) -> None:
    """Refused if a sheet declares more rows or columns than a plan sheet may have."""
    if (rows or 0) > MAX_ROWS or (columns or 0) > MAX_COLUMNS:
        raise Refused(Problem(sheet, None, None, None, "plan.sheet.too_large", {
            "rows": rows or "?", "columns": columns or "?", "max_rows": MAX_ROWS, "max_columns": MAX_COLUMNS}))


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


class CellError(ValueError):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class Kind(StrEnum):
    TEXT = "text"
    CODE = "code"
    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    DATE = "date"
    ENUM = "enum"
    ROLES = "roles"  # several roles separated by ';'
    CODES = "codes"  # unit codes or classes separated by ';'
    MILESTONES = "milestones"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    required: bool = False  # the header must have it and every row must fill it
    kind: Kind = Kind.TEXT
    enum: type[StrEnum] | None = None
    default: Any = None  # the value of an empty cell
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    positive: bool = False  # strictly greater than zero
    max_length: int | None = None
    optional_value: bool = False  # a required column whose cells may stay empty
    width: int = 14

    def header(self) -> str:
        return f"{self.label} {self.key}"


@dataclass(frozen=True)
class Sheet:
    key: str
    label: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def title(self) -> str:
        return f"{self.label} {self.key}"


def _c(key: str, label: str, kind: Kind = Kind.TEXT, **kw: Any) -> Column:
    if kind is Kind.CODE:
        kw.setdefault("max_length", 32)
    return Column(key, label, kind=kind, **kw)


_ZERO = Decimal(0)
_LAT = {"minimum": Decimal(-90), "maximum": Decimal(90)}
_LON = {"minimum": Decimal(-180), "maximum": Decimal(180)}
_RADIUS = {"minimum": Decimal(1), "maximum": Decimal(100_000)}

SHEETS: tuple[Sheet, ...] = (
    Sheet("units", "单位", (
        _c("code", "编码", Kind.CODE, required=True),
        _c("name", "名称", required=True, max_length=128, width=22),
        _c("kind", "类型", Kind.ENUM, required=True, enum=UnitKind),
        _c("class", "考核类别", max_length=32, default=""),
        _c("parent_code", "上级编码", Kind.CODE),
        _c("latitude", "纬度", Kind.FLOAT, **_LAT),
        _c("longitude", "经度", Kind.FLOAT, **_LON),
        _c("radius_m", "半径米", Kind.INT, **_RADIUS),
    )),
    Sheet("targets", "目标", (
        _c("code", "编码", Kind.CODE, required=True),
        _c("year", "年度", Kind.INT, required=True, minimum=Decimal(2000), maximum=Decimal(2100)),
        _c("title", "名称", required=True, max_length=256, width=30),
        _c("category", "类别", Kind.ENUM, required=True, enum=Category),
        _c("measure", "计量单位", required=True, max_length=32),
        _c("direction", "方向", Kind.ENUM, enum=Direction, default=Direction.HIGHER.value),
        _c("mode", "考核方式", Kind.ENUM, required=True, enum=AssessmentMode),
        _c("deadline", "截止日期", Kind.DATE, required=True),
        _c("leading_group_code", "领导小组编码", Kind.CODE),
        _c("report_interval_days", "报送周期天数", Kind.INT, default=7,
           minimum=Decimal(1), maximum=Decimal(366)),
        _c("description", "说明", max_length=4000, default="", width=30),
        _c("pillar", "支柱产业", max_length=64, default="", width=14),
    )),
    Sheet("assignments", "任务分解", (
        _c("target_code", "目标编码", Kind.CODE, required=True),
        _c("unit_code", "单位编码", Kind.CODE, required=True),
        _c("planned_value", "计划值", Kind.DECIMAL, required=True, minimum=_ZERO),
        _c("baseline_value", "基数", Kind.DECIMAL, default=_ZERO, minimum=_ZERO),
        _c("weight", "权重", Kind.DECIMAL, required=True, positive=True),
        _c("deadline", "截止日期", Kind.DATE),
        _c("milestones", "节点", Kind.MILESTONES, width=34),
        _c("site_latitude", "点位纬度", Kind.FLOAT, **_LAT),
        _c("site_longitude", "点位经度", Kind.FLOAT, **_LON),
        _c("site_radius_m", "点位半径米", Kind.INT, **_RADIUS),
    )),
    Sheet("people", "人员", (
        _c("code", "编码", Kind.CODE, required=True),
        _c("name", "姓名", required=True, max_length=64),
        _c("unit_code", "单位编码", Kind.CODE, required=True, optional_value=True),
        _c("role", "角色", Kind.ROLES, required=True, enum=Role),
        _c("phone", "电话", max_length=32),
        _c("scope", "督查范围", Kind.CODES, max_length=1000, default=()),
    )),
    Sheet("groups", "领导小组", (
        _c("code", "编码", Kind.CODE, required=True),
        _c("name", "名称", required=True, max_length=128, width=26),
        _c("head_code", "组长编码", Kind.CODE, required=True),
    )),
    Sheet("links", "联系点", (
        _c("leader_code", "领导编码", Kind.CODE, required=True),
        _c("kind", "类型", Kind.ENUM, required=True, enum=LinkKind),
        _c("target_code", "目标编码", Kind.CODE),
        _c("unit_code", "单位编码", Kind.CODE),
    )),
)
SHEET_BY_KEY: dict[str, Sheet] = {s.key: s for s in SHEETS}
# Pairs of columns that go together (a point needs both coordinates).
COORDINATE_PAIRS = {"units": ("latitude", "longitude"), "assignments": ("site_latitude", "site_longitude")}

_TOKEN_SPLIT = re.compile(r"[\s/|()（）*＊:：]+")
_LIST_SPLIT = re.compile(r"[;；,，、\n]+")


def name_tokens(text: str) -> list[str]:
    return [tok.lower() for tok in _TOKEN_SPLIT.split(text.strip()) if tok]


def match_name(text: str, names: dict[str, str]) -> str | None:
    """The key named by ``text`` (key, label or both), given ``{key: label}``; None if not one key."""
    keys = set()
    for tok in name_tokens(text):
        found = next((k for k, label in names.items() if tok in (k.lower(), label.lower())), None)
        if found is None:
            return None
        keys.add(found)
    return keys.pop() if len(keys) == 1 else None


def cell_text(value: Any) -> str:
    """What a cell shows, as text (for problems and for text columns)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value).strip()


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")


def to_decimal(value: Any) -> Decimal:
    """A number cell or numeric text (spaces and thousands separators allowed) as a Decimal."""
    if isinstance(value, bool | datetime | date):
        raise CellError("plan.value.not_number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError("plan.value.not_number")
        return Decimal(format(value, ".15g"))  # Excel keeps 15 significant digits
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CellError("plan.value.not_number")
        return value
    text = re.sub(r"[\s\u00a0\u3000]", "", str(value)).replace("，", ",")
    if not _NUMBER.fullmatch(text):
        raise CellError("plan.value.not_number")
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid numbers
        raise CellError("plan.value.not_number") from exc


_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        m = _DATE_TEXT.fullmatch(value.strip())
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                pass
    raise CellError("plan.value.bad_date")


def enum_choices(enum: type[StrEnum]) -> str:
    names = CHINESE_NAMES.get(enum, {})
    return ", ".join(f"{m.value} {names.get(m.value, '')}".strip() for m in enum)


def _check_range(col: Column, number: Decimal) -> None:
    if number < 0 and ((col.minimum is not None and col.minimum >= 0) or col.positive):
        raise CellError("plan.value.negative")
    if col.positive and number == 0:
        raise CellError("plan.value.not_positive")
    if (col.minimum is not None and number < col.minimum) or (col.maximum is not None and number > col.maximum):
        low = decimal_text(col.minimum) if col.minimum is not None else "-∞"
        high = decimal_text(col.maximum) if col.maximum is not None else "∞"
        raise CellError("plan.value.out_of_range", min=low, max=high)


def _milestones(value: Any) -> list[list[str]]:
    text = cell_text(value)
    result: list[list[str]] = []
    for item in (part.strip() for part in re.split(r"[;；\n]+", text)):
        if not item:
            continue
        m = re.fullmatch(r"(.+?)\s*[:：=]\s*([^:：=]+?)\s*%?", item)
        if not m:
            raise CellError("plan.value.bad_milestones", item=item)
        try:
            when = to_date(m[1])
            percent = to_decimal(m[2])
        except CellError as exc:
            raise CellError("plan.value.bad_milestones", item=item) from exc
        if not 0 <= percent <= 100:
            raise CellError("plan.milestone.percent_range", item=item)
        result.append([when.isoformat(), decimal_text(percent)])
    for (d1, p1), (d2, p2) in pairwise(result):
        if d2 <= d1 or Decimal(p2) < Decimal(p1):
            raise CellError("plan.milestone.order", item=f"{d2}:{p2}")
    return result


def parse_cell(col: Column, value: Any) -> Any:
    """The value of a non-empty cell for ``col``; raises CellError."""
    kind = col.kind
    if kind in (Kind.TEXT, Kind.CODE):
        text = cell_text(value)
        if col.max_length and len(text) > col.max_length:
            raise CellError("plan.value.too_long", max=col.max_length)
        if kind is Kind.CODE and re.search(r"[\s;；,，]", text):
            raise CellError("plan.value.bad_code")
        return text
    if kind in (Kind.INT, Kind.DECIMAL, Kind.FLOAT):
        number = to_decimal(value)
        _check_range(col, number)
        if kind is Kind.INT:
            if number != number.to_integral_value():
                raise CellError("plan.value.not_integer")
            return int(number)
        if kind is Kind.FLOAT:
            return value if isinstance(value, float) else float(number)
        if number.normalize().as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
            raise CellError("plan.value.too_precise", places=DECIMAL_PLACES)
        if abs(number) >= MAX_DECIMAL:
            raise CellError("plan.value.too_large")
        return number
    if kind is Kind.DATE:
        return to_date(value)
    if kind is Kind.ENUM:
        assert col.enum is not None
        try:
            return parse_enum(col.enum, cell_text(value)).value
        except ValueError as exc:
            raise CellError("plan.value.bad_enum", choices=enum_choices(col.enum)) from exc
    if kind is Kind.ROLES:
        assert col.enum is not None
        chosen = set()
        for part in _LIST_SPLIT.split(cell_text(value)):
            if part.strip():
                try:
                    chosen.add(parse_enum(col.enum, part).value)
                except ValueError as exc:
                    raise CellError("plan.value.bad_enum", choices=enum_choices(col.enum)) from exc
        return tuple(m.value for m in col.enum if m.value in chosen)
    if kind is Kind.CODES:
        text = cell_text(value)
        if col.max_length and len(text) > col.max_length:
            raise CellError("plan.value.too_long", max=col.max_length)
        items = [p.strip() for p in _LIST_SPLIT.split(text) if p.strip()]
        return tuple(dict.fromkeys(items))
    if kind is Kind.MILESTONES:
        return _milestones(value) or None
    raise AssertionError(kind)  # pragma: no cover


def milestones_text(milestones: list[list[str]] | None) -> str:
    return "; ".join(f"{d}:{p}" for d, p in milestones or [])


def enum_display(enum: type[StrEnum], value: str) -> str:
    """The Chinese name the template shows for an enumeration value."""
    return CHINESE_NAMES.get(enum, {}).get(value, value)
