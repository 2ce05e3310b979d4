"""A plan workbook larger than a plan may be is refused with one line before its rows are read: too many
bytes packed or unpacked, a sheet declaring more rows or columns than a plan sheet has, or a sheet without
a declared size that goes on past the row limit.

The hostile sheets below are built so that reading any of their rows would fail quickly (as "not a
workbook"): were the guard missing, the test fails at once instead of reading 17 billion empty cells."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from openpyxl.xml import DEFUSEDXML

from services.plan.importer import ImportReport, import_plan, render_report
from services.plan.spec import MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, MAX_UNPACKED_BYTES
from services.plan.workbook import EXAMPLES, build_workbook, read_workbook

UNITS_XML = "xl/worksheets/sheet2.xml"  # the instructions sheet is sheet1
BROKEN_ROWS = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>cut off'  # no row of it can be read


def plan_file(path: Path) -> Path:
    build_workbook(EXAMPLES).save(path)
    return path


def rewritten(source: Path, target: Path, member: str, change) -> Path:  # type: ignore[no-untyped-def]
    """``source`` with the XML of ``member`` passed through ``change``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            new.writestr(info.filename, change(data.decode()).encode() if info.filename == member else data)
    return target


def hostile(xml: str) -> str:
    """The issue's sheet: it declares A1:XFD1048576 (16,384 columns by 1,048,576 rows)."""
    xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
    return re.sub(r"<sheetData>.*</sheetData>", BROKEN_ROWS, xml, flags=re.S)


def test_defusedxml_is_installed_so_openpyxl_parses_with_it() -> None:
    assert DEFUSEDXML


async def test_a_sheet_declaring_the_whole_grid_is_refused_before_any_row_is_read(database, clock, tmp_path) -> None:
    source = rewritten(plan_file(tmp_path / "plan.xlsx"), tmp_path / "hostile.xlsx", UNITS_XML, hostile)
    assert source.stat().st_size < 20_000  # the template with its instructions
    report: ImportReport = await import_plan(source, db_uow=database.uow(), clock=clock, actor="cli")
    assert [(p.sheet, p.key) for p in report.problems] == [("units", "plan.sheet.too_large")]
    zh = render_report(report, "zh").splitlines()[1]
    en = render_report(report, "en").splitlines()[1]
    assert zh == f"单位：声明了 1048576 行、16384 列，超过计划表的上限（{MAX_ROWS} 行、{MAX_COLUMNS} 列），文件未读取"
    assert en == ("units: it declares 1048576 rows and 16384 columns, more than a plan sheet may have "
                  f"({MAX_ROWS} rows, {MAX_COLUMNS} columns); the file was not read")


def test_columns_alone_over_the_limit_are_refused(tmp_path) -> None:
    def wide(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:CW4"/>', xml)  # CW: column 101
        return re.sub(r"<sheetData>.*</sheetData>", BROKEN_ROWS, xml, flags=re.S)

    source = rewritten(plan_file(tmp_path / "plan.xlsx"), tmp_path / "wide.xlsx", UNITS_XML, wide)
    (problem,) = read_workbook(source)  # type: ignore[misc]
    assert (problem.key, problem.params["rows"], problem.params["columns"]) == ("plan.sheet.too_large", 4, 101)


def test_a_sheet_without_a_declared_size_is_refused_past_the_row_limit(tmp_path) -> None:
    """No dimension, and the second row numbered one past the limit: openpyxl yields the missing rows as
    empty ones, and the reader stops at the first row over the limit."""
    def endless(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]*"\s*/>', "", xml)
        far = f'<row r="{MAX_ROWS + 1}"><c r="A{MAX_ROWS + 1}" t="inlineStr"><is><t>far</t></is></c></row>'
        return re.sub(r"(<sheetData>\s*<row r=\"1\".*?</row>).*</sheetData>", rf"\1{far}</sheetData>", xml, flags=re.S)

    source = rewritten(plan_file(tmp_path / "plan.xlsx"), tmp_path / "endless.xlsx", UNITS_XML, endless)
    (problem,) = read_workbook(source)  # type: ignore[misc]
    assert (problem.sheet, problem.key, problem.params) == ("units", "plan.sheet.too_many_rows", {"max_rows": MAX_ROWS})


def test_a_file_too_large_packed_or_unpacked_is_refused_unopened(tmp_path) -> None:
    (big,) = read_workbook(b"PK\x03\x04" + bytes(MAX_FILE_BYTES))  # type: ignore[misc]
    assert (big.key, big.params) == ("plan.file.too_big", {"size": "20.0", "limit": "20.0"})
    huge = tmp_path / "huge.xlsx"
    with huge.open("wb") as f:
        f.truncate(2**31)  # 2 GB on paper (a sparse file): refused by its size, before it is read
    (big,) = read_workbook(huge)  # type: ignore[misc]
    assert (big.key, big.params) == ("plan.file.too_big", {"size": "2048.0", "limit": "20.0"})
    source = plan_file(tmp_path / "plan.xlsx")
    with zipfile.ZipFile(source, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/media/zeros.bin", "w") as f:
        for _ in range(MAX_UNPACKED_BYTES // 2**20 + 1):
            f.write(bytes(2**20))  # a megabyte of zeros packs into about a kilobyte
    assert source.stat().st_size < 1_000_000
    (bomb,) = read_workbook(source)  # type: ignore[misc]
    assert bomb.key == "plan.file.too_big_unpacked" and bomb.params["limit"] == "100.0"
    assert render_report(ImportReport(problems=[bomb]), "zh").splitlines()[1] == (
        f"文件：文件解压后过大（{bomb.params['size']} MB），超过 100.0 MB 的上限，未读取")


async def test_the_command_line_prints_the_one_line_and_fails(cli, tmp_path) -> None:
    source = rewritten(plan_file(tmp_path / "plan.xlsx"), tmp_path / "hostile.xlsx", UNITS_XML, hostile)
    done = await cli("plan", "import", str(source), DUBAN_LOCALE="en")
    assert done.code == 1 and done.out == ""
    assert done.err.splitlines()[1].startswith("units: it declares 1048576 rows and 16384 columns")
