"""A county's whole year end, the parts working together: the round opened and peers drawn, assessors
scoring in chat, a resident answering the survey, a bonus recorded on the command line, publication
with each unit told its rank, an appeal accepted, the round frozen (a later report changes nothing),
the ranking charted and the workbook exported. Every total is computed by hand below.

The county (tests/support/results_rig.py): townships T1 城关镇, T2 青山镇, T3 河口镇 (class 乡镇) and V1 红星村
(alone in 村). TA (zero-base, plan 1000 each) reached 1100 / 700 / 200; TB (continuous, plan 100 each)
90 / 60 / 20; TV (V1, plan 10) 3. Every weight 1, baselines 0, the shipped rules (0.70/0.15/0.15).
  C(T1) = 100 × (min(1.1, 1.2) + 0.9) / 2 = 100;  C(T2) = 100 × (0.7 + 0.6) / 2 = 65;
  C(T3) = 100 × (0.2 + 0.2) / 2 = 20;            C(V1) = 100 × 0.3 = 30.
Peers (each assessor scores the two other townships): 甲 (T1) gives T2 80, T3 60; 乙 (T2) gives T1 90,
T3 70 → P(T1) = 90, P(T2) = 80, P(T3) = (60 + 70) / 2 = 65. No inspection scores: their weight is shared
out, base = (0.70·C + 0.15·P) / 0.85:
  T1 = (70 + 13.5) / 0.85 = 98.2353…   T2 = (45.5 + 12) / 0.85 = 67.6471…
  T3 = (14 + 9.75) / 0.85 = 27.9412…, + bonus 2 = 29.9412…   V1: no P and no I → its C, 30.
Grades: a class of 3 gets floor(3 × 0.3) = 0 优秀, so T1 is 良好; T2 合格; T3 不合格 and the bottom one.
After T2's appeal is accepted with +1.5: T2 = 69.1471… → 69.15.
"""

from __future__ import annotations

from datetime import timedelta

from openpyxl import load_workbook

from models.assessment import AssessmentResult
from models.enums import Role
from services.assessment import assess, rounds
from tests.support.factories import add_person
from tests.support.peer_seed import rows
from tests.support.results_rig import ADMIN, CADRE_EN, CADRE_ZH, report, seed

JIA, YI, RESIDENT = 610, 620, 9_000_001


async def said(user, text: str):
    return await user.wait_reply(lambda m: text in (m.text or ""))


async def score_all(bot, user, scores: dict[str, str]) -> None:
    """The assessor presses Start scoring on the invitation and scores each unit (no comment)."""
    invite = await said(user, "2027年度考核评分已开始")
    await user.press_button(invite, "开始评分")
    for name, score in scores.items():
        listing = await said(user, "点击单位开始评分")
        await user.press_button(listing, next(t for t, _ in listing.buttons() if name in t))
        await said(user, "请输入分数")
        await user.send_text(score)
        asked = await said(user, f"分数：{score}")
        await user.press(asked, "as:skip")
        await user.press_button(await said(user, "请确认评分"), "确认")
        await said(user, f"已保存：{name} {score} 分")
        await user.send_text("/assess")


async def totals(rig) -> dict[str, tuple[str, int, str]]:
    return {r.unit_class + ":" + str(r.unit_id): (f"{r.total:.2f}", r.rank, r.grade)
            for r in await rows(rig, AssessmentResult)}


async def test_a_county_year_is_scored_published_appealed_frozen_charted_and_exported(bot, cli, tmp_path) -> None:
    county = await seed(bot)
    units = county.units
    await add_person(bot.db, bot.clock, name="甲", unit=units["T1"], roles=(Role.ASSESSOR,), telegram_user_id=JIA)
    await add_person(bot.db, bot.clock, name="乙", unit=units["T2"], roles=(Role.ASSESSOR,), telegram_user_id=YI)

    # 1. The round draws the peers; the assessors score in chat.
    await assess.open_round(2027, seed=1, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    await bot.app.bot_data.delivery.settle()
    await score_all(bot, bot.fake.user(JIA, "甲"), {"青山镇": "80", "河口镇": "60"})
    await score_all(bot, bot.fake.user(YI, "乙"), {"城关镇": "90", "河口镇": "70"})

    # 2. A resident answers T3's survey (one answer: below the minimum, so it cannot veto).
    link = (await cli("survey", "qr", "T3", "--year", "2027", "--out", str(tmp_path / "t3.png"))).out.strip()
    resident = bot.fake.user(RESIDENT, "村民")
    await resident.send_text("/start " + link.rsplit("start=", 1)[1].split()[0])
    await resident.press_button(await said(resident, "群众满意度测评"), "不满意")
    await said(resident, "评价已记录")

    # 3. The office records a bonus on the command line.
    added = await cli("assess", "item", "add", "--year", "2027", "--unit", "T3", "--kind", "bonus", "--points", "2",
                      "--reason", "抗洪抢险表现突出", "--evidence", "县委通报〔2027〕12号")
    assert added.code == 0, added.err

    # 4. Publication: every unit's cadre is told its total and rank.
    await rounds.publish(2027, 7, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    await bot.app.bot_data.delivery.settle()
    zhang = bot.fake.user(CADRE_ZH, "张三")
    told = await said(zhang, "城关镇")
    assert "98.24" in told.text and "1/3" in told.text
    c = "乡镇:"
    assert await totals(bot) == {
        c + str(units["T1"].id): ("98.24", 1, "good"), c + str(units["T2"].id): ("67.65", 2, "pass"),
        c + str(units["T3"].id): ("29.94", 3, "fail"), "村:" + str(units["V1"].id): ("30.00", 1, "fail")}
    await zhang.send_text("/score")
    mine = await said(zhang, "城关镇")
    assert "98.24" in mine.text and "90" in mine.text  # the total and the peer score (from one peer, anonymous)
    assert "乙" not in mine.text
    assert "巡察考核无评分" in mine.text and "实际权重：目标完成 0.8235、交叉考核 0.1765" in mine.text  # 0.70/0.85

    # 5. T2 appeals in English; the office accepts with +1.5.
    li = bot.fake.user(CADRE_EN, "Li", language_code="en")
    await li.send_text("/appeal")
    await said(li, "reply with the reason")
    await li.send_text("A payment of 15 was left out.")
    await li.press_button(await said(li, "Send this appeal"), "Send the appeal")
    admin = bot.fake.user(ADMIN, "赵")
    pushed = await admin.wait_reply(lambda m: "考核申诉 #1" in (m.text or ""))
    await admin.press_button(pushed, "受理更正")
    await said(admin, "请回复“更正分值 理由”")
    await admin.send_text("+1.5 核实后补计")
    await said(admin, "已受理")
    assert "rank 2" in (await said(li, "Your appeal #1 was accepted")).text
    assert (await totals(bot))[c + str(units["T2"].id)] == ("69.15", 2, "pass")

    # 6. The window ends; the round is frozen. A later report changes nothing in it.
    bot.clock.advance(timedelta(days=8))
    await rounds.close(2027, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    frozen = await totals(bot)
    await report(bot, CADRE_ZH, "TB", "100")
    assert await totals(bot) == frozen
    await zhang.send_text("/score")
    assert "98.24" in (await said(zhang, "城关镇")).text

    # 7. The office's ranking with its chart, and the workbook.
    await admin.send_text("/ranking 乡镇")
    table = await said(admin, "2027年度考核排名 · 乡镇")
    assert "1. 城关镇（T1）98.24 良好" in table.text and "2. 青山镇（T2）69.15" in table.text
    assert "🔻" in table.text.split("河口镇", 1)[1].split("\n", 1)[0]  # the bottom one marked
    await admin.wait_reply(lambda m: m.method == "sendPhoto")  # the chart
    out = tmp_path / "results-2027.xlsx"
    exported = await cli("assess", "export", "2027", "--out", str(out))
    assert exported.code == 0, exported.err
    book = load_workbook(out)
    text = "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "城关镇" in text and "抗洪抢险表现突出" in text and "核实后补计" in text
    assert "甲" not in text and "乙" not in text and str(RESIDENT) not in text  # no scorer or respondent named
