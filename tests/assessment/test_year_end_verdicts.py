"""One county's year end under the shipped rules with issue #15's verdicts: category weights (乡镇), grade caps,
the bottom flags, the village survey minimum, and the accountability lines the office records in chat.

Every target below has plan 100 (TV: 10), baseline 0, weight 1, continuous, deadline 31 Dec 2027; the values
are the effective values at the cut-off (31 Dec 2027). No peer or inspection scores: total = C.

乡镇 (six townships A–F) with the shipped category weights industry 0.35, project 0.25, investment 0.25,
other 0.15. TI industry, TP project delivery (王县长's linked key project), TN investment; TX (other) is the
line of leading group G2 (head 刘县长), assigned to A and D only.
  unit  TI   TP   TN   TX   C
  A     120  100  110  50   0.35·120 + 0.25·100 + 0.25·110 + 0.15·50 = 42 + 25 + 27.5 + 7.5 = 102
                            (TI is capped at 1.2; the plain mean would be (1.2 + 1 + 1.1 + 0.5) / 4 = 95)
  B     100  100  100  —    no "other" target: (35 + 25 + 25) / 0.85 = 100
  C     100  90*  100  —    (35 + 22.5 + 25) / 0.85 = 82.5 / 0.85 = 97.0588…
  D     80   100  100  100  28 + 25 + 25 + 15 = 93
  E     60   50   70   —    (21 + 12.5 + 17.5) / 0.85 = 51 / 0.85 = 60
  F     40   30   20   —    (14 + 7.5 + 5) / 0.85 = 26.5 / 0.85 = 31.1764…
  * C's cadre 孙七 reported 95; an inspection verified 90 (the effective value; a mismatch on his record).
Ranks: A 102, B 100, C 97.06, D 93, E 60, F 31.18. Bands: A–D 优秀, E 合格, F 不合格. Quota: floor(6 × 0.3) = 1.
Caps: G2's line failed (TX/A), so A (failed its group's target, and its line) and D (its line) may not be
优秀; B was named in the published notice of 2027-Q1. So A 良好, B 良好, C 优秀 (the quota's one), D 良好.
Bottom (6 ≥ 2 × 3): the last three, D, E, F.

村 (V1–V3, survey minimum 10): TV 10, 8, 10 → C 100, 80, 100. V3's residents answered 3 满意, 7 不满意:
rate 0.3 < 0.8 with 10 ≥ 10 answers → vetoed (V3's own cadre tried too: refused, not counted). Ranks: V1 100,
V2 80, V3 (vetoed) last; quota floor(3 × 0.3) = 0 → V1 良好, V2 良好, V3 不合格. Bottom (3 < 6): V3.

Accountability lines, in order:
  #1 explain 王县长 (L1): key project TP not complete on C, E, F; linked lagging village V2 failed TV.
  #2 explain 刘县长 (L2): heads G2, whose line failed: TX/A.
  #3–#8 report: A (TX), C (TP; 孙七), D (TI), E (TI, TN, TP; 周五), F (TI, TN, TP), V2 (TV).
  #9–#12 review: D, E, F (乡镇 4/6, 5/6, 6/6), V3 (村 3/3).
  #13 record 孙七 (PC): 0 missed, 1 mismatch, 0 unacknowledged; #14 record 周五 (PE): a missing-report
      reminder never acknowledged: 1 missed, 0 mismatches, 1 unacknowledged.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from openpyxl import load_workbook

from models.alerts import Alert, AlertDelivery
from models.assessment import AssessmentRound, SurveyResponse
from models.enums import Role
from models.inspection import Inspection, Notice
from models.plan import LeaderLink, LeadingGroup
from models.progress import ProgressReport
from services.assessment import rounds
from services.assessment.export import export
from services.scoring.rules import DEFAULT_RULES_PATH, load_rules
from tests.support.factories import add_person
from tests.support.scoringrig import Scene, at

ADMIN = 100
D = Decimal


async def said(user, text: str):
    return await user.wait_reply(lambda m: text in (m.text or ""))


async def build(bot) -> dict:
    s = Scene(bot.db, bot.clock)
    units = {c: await s.unit(c, "乡镇") for c in "ABCDEF"} | {c: await s.unit(c, "村") for c in ("V1", "V2", "V3")}
    await add_person(bot.db, bot.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=ADMIN)
    wang = await add_person(bot.db, bot.clock, name="王县长", roles=(Role.LEADER,), code="L1")
    liu = await add_person(bot.db, bot.clock, name="刘县长", roles=(Role.LEADER,), code="L2")
    sun = await add_person(bot.db, bot.clock, name="孙七", unit=units["C"], code="PC")
    zhou = await add_person(bot.db, bot.clock, name="周五", unit=units["E"], code="PE")
    await add_person(bot.db, bot.clock, name="村干部", unit=units["V3"], code="PV3")
    g2 = await s._add(LeadingGroup(code="G2", name="乡村振兴领导小组", head_person_id=liu.id))
    targets = {"TI": await s.target("TI", category="industry"), "TP": await s.target("TP", category="project_delivery"),
               "TN": await s.target("TN", category="investment"),
               "TX": await s.target("TX", category="other", group=g2), "TV": await s.target("TV")}
    values = {"A": (120, 100, 110, 50), "B": (100, 100, 100, None), "C": (100, None, 100, None),
              "D": (80, 100, 100, 100), "E": (60, 50, 70, None), "F": (40, 30, 20, None)}
    when = at("2027-09-01 10:00")
    assignments = {}
    for code, row in values.items():
        for tcode, value in zip(("TI", "TP", "TN", "TX"), row, strict=True):
            if tcode == "TX" and code not in "AD":
                continue
            a = await s.assign(targets[tcode], units[code], 100)
            assignments[(tcode, code)] = a
            if value is not None:
                await s.report(a, value, when)
    tp_c = assignments[("TP", "C")]
    await s._add(ProgressReport(assignment_id=tp_c.id, reporter_person_id=sun.id, value=D(95), confirmed_at=when))
    await s._add(Inspection(inspector_person_id=await s.person(), unit_id=units["C"].id, assignment_id=tp_c.id,
                            visited_at=at("2027-09-10 10:00"), claimed_value=D(95), verified_value=D(90),
                            rating="poor"))
    for code, value in {"V1": 10, "V2": 8, "V3": 10}.items():
        a = await s.assign(targets["TV"], units[code], 10)
        await s.report(a, value, when)
    await s.survey(units["V3"], satisfied=3, unsatisfied=7)
    await s._add(SurveyResponse(year=2027, unit_id=units["V3"].id, respondent="own", answer="", excluded="own_unit",
                                answered_at=bot.clock.now()))
    await s._add(Notice(period="2027-Q1", title="关于一季度目标推进不力的通报", body="…", units=["B"],
                        status="published", drafted_by="admin", created_at=bot.clock.now()))
    await s._add(LeaderLink(leader_person_id=wang.id, kind="key_project", target_id=targets["TP"].id),
                 LeaderLink(leader_person_id=wang.id, kind="lagging_village", unit_id=units["V2"].id))
    alert = await s._add(Alert(key="missing:E:TI", kind="missing_report", level="yellow", period="2027-05",
                               assignment_id=assignments[("TI", "E")].id, created_at=at("2027-05-10 09:00"),
                               stage_at=at("2027-05-10 09:00")))
    await s._add(AlertDelivery(alert_id=alert.id, person_id=zhou.id, created_at=at("2027-05-10 09:00")))
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    await s._add(AssessmentRound(year=2027, status="open", rules_toml=text, rules_hash=load_rules().hash,
                                 cutoff=date(2027, 12, 31), opened_at=bot.clock.now()))
    return units


async def test_one_county_year_end_with_categories_caps_flags_and_accountability(bot, cli, tmp_path) -> None:
    await build(bot)
    bot.clock.advance(timedelta(days=300))  # 2028-01-16
    await rounds.publish(2027, 7, actor="cli", uow=bot.db.uow(), clock=bot.clock)
    async with bot.db.read_uow() as uow:
        county = await rounds.stored(uow.session, await rounds.get_round(uow.session, 2027))
    got = {u.unit_code: (u.total.quantize(D("0.0001")), u.rank, u.grade, u.bottom, u.caps) for u in county.units}
    assert got == {
        "A": (D("102.0000"), 1, "good", False, ["failed_group_target", "failed_line"]),
        "B": (D("100.0000"), 2, "good", False, ["criticised"]),
        "C": (D("97.0588"), 3, "excellent", False, []),
        "D": (D("93.0000"), 4, "good", True, ["failed_line"]),
        "E": (D("60.0000"), 5, "pass", True, []),
        "F": (D("31.1765"), 6, "fail", True, []),
        "V1": (D("100.0000"), 1, "good", False, []),
        "V2": (D("80.0000"), 2, "good", False, []),
        "V3": (D("100.0000"), 3, "fail", True, []),
    }
    v3 = next(u for u in county.units if u.unit_code == "V3")
    assert v3.veto_reasons == ["survey"] and v3.survey.answers == 10 and v3.survey.min_answers == 10
    a = next(u for u in county.units if u.unit_code == "A")
    assert a.categories == {"industry": D(120), "project": D(100), "investment": D(110), "other": D(50)}
    (g2,) = county.groups
    assert (g2.code, g2.complete, g2.failing, g2.head_name) == ("G2", False, [("TX", "A")], "刘县长")

    admin = bot.fake.user(ADMIN, "赵主任")
    await admin.send_text("/score A")
    shown = (await said(admin, "分类完成")).text
    assert "分类完成：产业培育 120.00（权重 0.3500）、项目 100.00（权重 0.2500）、招商引资 110.00（权重 0.2500）、" \
           "其他 50.00（权重 0.1500）" in shown
    assert "⚠️ 不得评为优秀：未完成领导小组分线目标、所在分线未全部完成" in shown

    await admin.send_text("/accountability")
    listing = (await said(admin, "2027年度问责清单")).text
    expected = [
        "#1 王县长（L1）：联系的重点项目 TP 未完成：C, E, F；联系的后进村 V2 目标未完成：TV",
        "#2 刘县长（L2）：分管的乡村振兴领导小组（G2）目标未全部完成，当年评优资格取消：TX/A",
        "#3 A名（A）：未完成目标：TX", "#4 C名（C）：未完成目标：TP；责任人：孙七", "#5 D名（D）：未完成目标：TI",
        "#6 E名（E）：未完成目标：TI, TN, TP；责任人：周五", "#7 F名（F）：未完成目标：TI, TN, TP",
        "#8 V2名（V2）：未完成目标：TV",
        "#9 D名（D）：乡镇排名第4/6", "#10 E名（E）：乡镇排名第5/6", "#11 F名（F）：乡镇排名第6/6",
        "#12 V3名（V3）：村排名第3/3",
        "#13 孙七（PC）：漏报提醒0次，申报值与核实值不符1次，未确认的预警0条",
        "#14 周五（PE）：漏报提醒1次，申报值与核实值不符0次，未确认的预警1条",
    ]
    for line in expected:
        assert line in listing, line
    assert "#15" not in listing

    await admin.send_text("/outcome 2 已安排 1月常委会上说明")
    await said(admin, "已记录 #2 刘县长")
    await admin.send_text("/outcome 9 已完成 调整党委书记")
    await said(admin, "已记录 #9 D名")

    out = tmp_path / "accountability-2027.xlsx"
    done = await cli("assess", "accountability", "2027", "--out", str(out))
    assert done.code == 0 and "14" in done.out, done.err
    book = load_workbook(out)
    sheets = {ws.title: [r for r in ws.iter_rows(values_only=True)][1:] for ws in book.worksheets[1:]}
    explain = next(rows for title, rows in sheets.items() if title.startswith("【向常委会说明】"))
    assert [(r[0], r[2], r[5], r[6]) for r in explain] == [(1, "王县长", "未记录", None),
                                                          (2, "刘县长", "已安排", "1月常委会上说明")]
    results = tmp_path / "results-2027.xlsx"
    assert (await cli("assess", "export", "2027", "--out", str(results))).code == 0
    wb = load_workbook(results)
    groups = [r for r in wb["领导小组"].iter_rows(values_only=True)]
    assert groups[1][4] == "刘县长（L2）"
    cats = {(r[1], r[3]): r[4] for r in wb["分类完成"].iter_rows(values_only=True)}
    assert cats[("A", "产业培育")] == 120 and cats[("C", "项目")] == 90
    # The economic focus as of the cut-off: industry TI 120 + 100 + 100 + 80 + 60 + 40 = 500 of 600; the key
    # project TP (王县长) 100 + 100 + 90 + 100 + 50 + 30 = 470 of 600 on six units.
    # (The command line's clock is the machine's, before 2027: the service with the county's clock, 2028-01-16.)
    await export(results, 2027, uow=bot.db.read_uow(), clock=bot.clock, lang="zh")
    wb = load_workbook(results)
    eco = {(r[0], r[1]): r for r in wb["经济工作重点"].iter_rows(values_only=True)}
    assert eco[("【按类别】", "产业培育")][6:8] == (600, 500)
    assert eco[("【重点项目进展】", "TP目标 (TP)")][4:8] == (6, None, 600, 470)

    preview = await cli("assess", "preview", "2027")
    assert "组长：刘县长（L2）向常委会说明" in preview.out and "不得评优" in preview.out
