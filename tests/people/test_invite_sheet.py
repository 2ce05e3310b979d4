"""Names that look like formulas stay text in the invitations workbook."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from services.people.invite import PersonInvite
from services.people.invite_sheet import write_invites
from tests.plan.test_text_cells import INJECTIONS, assert_text_only

TZ = ZoneInfo("Asia/Shanghai")


def test_names_stay_text_in_the_invitations_workbook(tmp_path: Path) -> None:
    expires = datetime(2027, 4, 1, 18, 0, tzinfo=TZ)
    rows = [PersonInvite(code="abc123", person_code="P001", name=INJECTIONS[0], unit_code="V1", unit_name="+1",
                         roles="-1", expires_at=expires),
            PersonInvite(code="def456", person_code="P002", name="@SUM(1)", unit_code=None, unit_name=None,
                         roles="cadre", expires_at=expires)]
    out = tmp_path / "invites.xlsx"
    write_invites(out, rows, "duban_test_bot", "zh", TZ)
    assert_text_only(out, INJECTIONS)
    first, second = load_workbook(out).active.iter_rows(min_row=2, values_only=True)
    assert first[:5] == ("P001", INJECTIONS[0], "V1", "+1", "-1") and first[5].startswith("https://t.me/")
    assert second[1] == "@SUM(1)"
