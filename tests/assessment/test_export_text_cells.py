"""Names and reasons that look like formulas stay text in the results workbook and the survey links workbook."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from services.assessment.appeal_records import AppealView
from services.assessment.export import write
from services.assessment.rounds import Results
from tests.plan.test_text_cells import INJECTIONS, assert_text_only
from tests.support.factories import add_unit
from tests.support.results_factory import county

TZ = ZoneInfo("Asia/Shanghai")


def test_appeal_reasons_and_names_stay_text_in_the_results_workbook(tmp_path: Path) -> None:
    c = county(townships=3)
    c.units[0] = dataclasses.replace(c.units[0], unit_name=INJECTIONS[0])
    appeal = AppealView(id=1, year=2027, unit_code="U1", unit_name=INJECTIONS[0], person_name="-1",
                        reason=INJECTIONS[0], status="rejected", created_at=datetime(2027, 3, 23, 10, tzinfo=TZ),
                        decision_reason="+1", decided_by="@SUM(1)")
    res = Results(year=2027, status="closed", live=False, county=c, appeal_until=None)
    done = write(tmp_path / "results.xlsx", res, [appeal], "zh", TZ)
    assert_text_only(done.path, INJECTIONS)
    (row,) = load_workbook(done.path)["申诉"].iter_rows(min_row=2, values_only=True)
    assert row[1:6] == ("U1", INJECTIONS[0], "-1", "2027-03-23 10:00", INJECTIONS[0])  # unit, appellant, reason
    assert row[8:] == ("+1", "@SUM(1)")  # the decision's reason and who decided


async def test_unit_names_stay_text_in_the_survey_links_workbook(cli, rig, tmp_path: Path) -> None:
    await add_unit(rig.db, rig.clock, code="V1", name=INJECTIONS[0], unit_class="+1")
    await add_unit(rig.db, rig.clock, code="V2", name="-1", unit_class="@SUM(1)")
    book = tmp_path / "links.xlsx"
    done = await cli("survey", "links", "--year", "2027", "--out", str(book))
    assert done.code == 0, done.err
    assert_text_only(book, INJECTIONS)
