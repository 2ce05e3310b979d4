"""The whole first day of a county: template → filled plan → import → invitations → people join
and a cadre reports, through the command line and the fake Bot API, on every database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlmodel import select

from models.progress import ProgressReport


def fill_template(path) -> None:
    """What an office clerk does: the example rows become real rows."""
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2):
            first = row[0]
            if isinstance(first.value, str) and first.value.startswith("#"):
                first.value = first.value[1:]
    wb.save(path)


async def test_from_template_to_a_registered_cadre_reporting(cli, bot, tmp_path) -> None:
    bot.clock.set(datetime.now(bot.clock.tz))  # the command line runs on the real clock
    plan = tmp_path / "plan.xlsx"
    assert (await cli("plan", "template", "--out", str(plan))).code == 0
    fill_template(plan)
    dry = await cli("plan", "import", str(plan), "--dry-run")
    assert dry.code == 0, dry.err
    imported = await cli("plan", "import", str(plan))
    assert imported.code == 0, imported.err
    assert "nothing changed" not in imported.out and "未发生变化" not in imported.out
    again = await cli("plan", "import", str(plan), DUBAN_LOCALE="en")
    assert again.code == 0 and "nothing changed" in again.out.lower()

    # Personal links for the imported people; 李华 is a cadre of 青山镇 (T01).
    sheet = tmp_path / "invites.xlsx"
    assert (await cli("invite", "export", "--out", str(sheet))).code == 0
    rows = {r[0]: r for r in load_workbook(sheet).active.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"P001", "P002", "P003"}
    payload = rows["P002"][5].split("start=", 1)[1]
    li = bot.fake.user(8002, "Hua", "Li")
    await li.send_text(f"/start {payload}")
    welcome = (await li.wait_reply()).text
    assert "李华" in welcome and "青山镇" in welcome and "干部" in welcome and "/report" in welcome
    menu = await bot.fake.wait_for_request("setMyCommands", lambda p: (p.get("scope") or {}).get("chat_id") == 8002)
    assert "report" in [c["command"] for c in menu["commands"]]

    # A unit link for someone not in the workbook.
    link = (await cli("invite", "create", "--role", "cadre", "--unit", "V0101")).out.strip()
    newcomer = bot.fake.user(8003, "New", language_code="en")
    await newcomer.send_text("/start " + link.split("start=", 1)[1])
    assert "cadre of 青山镇石桥村" in (await newcomer.wait_reply()).text

    # The cadre reports on the target the plan gave their township.
    await li.send_text("/report G2027-01")
    assert "5,000 万元" in (await li.wait_reply()).text
    await li.send_text("1200")
    await li.wait_reply()
    await li.send_text("/skip")
    await li.wait_reply()
    await li.send_text("/done")
    summary = await li.wait_reply()
    await li.press_button(summary, "确认提交")
    assert "已提交" in (await li.wait_reply()).text
    async with bot.db.uow() as uow:
        (report,) = (await uow.session.exec(select(ProgressReport))).all()
    assert report.value == Decimal(1200)
