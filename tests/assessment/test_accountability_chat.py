"""/accountability and /outcome in the chat (issue #15 §5), on the results rig (tests/support/results_rig.py):
TA (G1, headed by 王县长) is complete on T1 only (1100, 700, 200 of 1000); TB (王县长's linked key project)
on none (90, 60, 20 of 100); TV on V1 3 of 10. So, by hand:
  #1 explain 王县长: G1's line failed (TA/T2, TA/T3) and the key project TB not complete on T1, T2, T3;
  #2–#5 report: T1 (TB), T2 (TA, TB), T3 (TA, TB), V1 (TV), each with its cadre (张三, Li Wei, —, 孙六);
  #6 review: T3, last of 乡镇 (3 units < 2 × 3: the last one); V1 alone in 村: none.
Nobody has alerts or inspections: no record lines."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlmodel import select

from models.assessment import AccountabilityOutcome
from models.core import AuditLog
from services.assessment import rounds
from tests.support.results_rig import ADMIN, CADRE_ZH, seed


async def said(user, text: str):
    return await user.wait_reply(lambda m: text in (m.text or ""))


async def test_the_office_lists_the_lines_and_records_outcomes_in_both_languages(bot, cli, tmp_path) -> None:
    await seed(bot)
    await rounds.publish(2027, 7, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    admin = bot.fake.user(ADMIN, "赵")
    await admin.send_text("/accountability")
    shown = (await said(admin, "2027年度问责清单")).text
    assert "【向常委会说明】" in shown and "#1 王县长" in shown
    assert "分管的招商引资工作领导小组（G1）目标未全部完成，当年评优资格取消：TA/T2, TA/T3" in shown
    assert "联系的重点项目 TB 未完成：T1, T2, T3" in shown
    assert "#3 青山镇（T2）：未完成目标：TA, TB；责任人：Li Wei" in shown
    assert "#6 河口镇（T3）：乡镇排名第3/3（排名后三位）" in shown
    assert "#7" not in shown and "结果：未记录" in shown

    await admin.send_text("/outcome 1 已安排 3月常委会上说明")
    assert "已记录 #1 王县长" in (await said(admin, "已记录")).text
    await admin.send_text("/outcome 9 已完成")
    assert "没有第9项：问责清单共6项" in (await said(admin, "没有第9项")).text
    await admin.send_text("/outcome 6 later")
    await said(admin, "“later”不是可记录的结果")
    await admin.send_text("/lang en")
    await admin.wait_reply()
    await admin.send_text("/outcome 6 done leadership adjusted")
    assert "Recorded #6 河口镇 (T3): Outcome: done (leadership adjusted" in (await said(admin, "Recorded #6")).text
    await admin.send_text("/accountability 2027")
    listing = (await said(admin, "Accountability lines, 2027")).text
    assert "[Leadership review]" in listing and "Outcome: scheduled (3月常委会上说明" in listing

    async with bot.db.read_uow() as uow:
        rows = (await uow.session.exec(select(AccountabilityOutcome))).all()
        assert sorted((r.line_key.split(":")[0], r.status, r.note) for r in rows) == [
            ("explain", "scheduled", "3月常委会上说明"), ("review", "done", "leadership adjusted")]
        audited = (await uow.session.exec(select(AuditLog).where(AuditLog.action == "accountability.outcome"))).all()
        assert len(audited) == 2

    cadre = bot.fake.user(CADRE_ZH, "张三")  # a cadre may not
    await cadre.send_text("/accountability")
    await said(cadre, "只有目标办可以查看")

    out = tmp_path / "acc.xlsx"
    done = await cli("assess", "accountability", "2027", "--out", str(out))
    assert done.code == 0, done.err
    book = load_workbook(out)
    text = "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "王县长" in text and "3月常委会上说明" in text and "河口镇" in text
