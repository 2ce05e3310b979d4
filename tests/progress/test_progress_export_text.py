"""Names, titles and measures that look like formulas stay text in the half-year review table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from models.plan import Assignment, Target
from models.progress import ProgressReport
from tests.plan.test_text_cells import INJECTIONS, assert_text_only
from tests.progress.test_progress_export import read
from tests.support.factories import add_person, add_unit

TZ = ZoneInfo("Asia/Shanghai")


async def test_display_names_and_titles_stay_text_in_the_progress_export(cli, rig, tmp_path) -> None:
    village = await add_unit(rig.db, rig.clock, code="V1", name=INJECTIONS[0])
    reporter = await add_person(rig.db, rig.clock, name="+1", unit=village, telegram_user_id=200)
    async with rig.db.uow() as uow:
        s = uow.session
        target = Target(code="T1", year=2027, title="-1", category="investment", measure="@SUM(1)",
                        mode="zero_base", deadline=date(2027, 12, 31))
        s.add(target)
        await s.flush()
        assignment = Assignment(target_id=target.id, unit_id=village.id, planned_value=Decimal(1000))
        s.add(assignment)
        await s.flush()
        s.add(ProgressReport(assignment_id=assignment.id, reporter_person_id=reporter.id, value=Decimal(400),
                             confirmed_at=datetime(2027, 5, 10, 10, 30, tzinfo=TZ)))
        await uow.commit()
    out = tmp_path / "progress.xlsx"
    result = await cli("progress", "export", "--as-of", "2027-06-30", "--out", str(out))
    assert result.code == 0, result.err
    assert_text_only(out, INJECTIONS)
    (row,) = read(out)[1:]
    assert [row[1], row[4], row[5], row[15]] == ["-1", INJECTIONS[0], "@SUM(1)", "+1"]
    assert row[10] == 400  # numbers are still numbers
