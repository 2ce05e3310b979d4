"""Scoring, issue #15: category weights per class, grade caps, the bottom count and the survey minimum per
class. Totals are C alone (no peer or inspection scores) unless said otherwise; every number by hand."""

from __future__ import annotations

from models.db import Database
from models.inspection import Notice
from services.core.clock import FixedClock
from services.scoring.rules import RulesError, load_rules, parse_rules
from tests.support.scoringrig import RULES_TOML, D, Scene, by_code

TOWNSHIP_WEIGHTS = """
[classes."乡镇"]
category_weights = { industry = 0.35, project = 0.25, investment = 0.25, other = 0.15 }
"""


async def test_completion_is_weighted_by_category_and_an_empty_category_shares_out(
        database: Database, clock: FixedClock) -> None:
    """T1 (乡镇) has industry I1 60/100 (weight 1) and I2 100/100 (weight 3), project P1 (project_delivery)
    50/100 and P2 (project_acquisition) 100/100, investment N1 80/100; no "other" target.
      C_industry = 100 × (1·0.6 + 3·1) / 4 = 90;  C_project = 100 × (0.5 + 1) / 2 = 75;  C_investment = 80.
      "other" (0.15) has no target: its weight is shared out, Σw = 0.35 + 0.25 + 0.25 = 0.85:
      C = (0.35·90 + 0.25·75 + 0.25·80) / 0.85 = (31.5 + 18.75 + 20) / 0.85 = 70.25 / 0.85 = 82.6470588…
    Without category weights (村, the same targets on V1) C = 100 × (0.6 + 3 + 0.5 + 1 + 0.8) / 7 = 84.2857…
    """
    s = Scene(database, clock)
    t1, v1 = await s.unit("T1", "乡镇"), await s.unit("V1", "村")
    for unit in (t1, v1):
        await s.simple(unit, 60, code=f"I1{unit.code}", category="industry")
        await s.simple(unit, 100, weight=3, code=f"I2{unit.code}", category="industry")
        await s.simple(unit, 50, code=f"P1{unit.code}", category="project_delivery")
        await s.simple(unit, 100, code=f"P2{unit.code}", category="project_acquisition")
        await s.simple(unit, 80, code=f"N1{unit.code}", category="investment")

    result = by_code(await s.compute(extra_rules=TOWNSHIP_WEIGHTS))
    t = result["T1"]
    assert t.categories == {"industry": D(90), "project": D(75), "investment": D(80)}
    assert t.category_weights == {k: w / D("0.85") for k, w in
                                  (("industry", D("0.35")), ("project", D("0.25")), ("investment", D("0.25")))}
    assert t.completion.quantize(D("0.0001")) == D("82.6471")
    assert t.total.quantize(D("0.0001")) == D("82.6471")  # no peer or inspection scores: base = C
    v = result["V1"]
    assert v.categories == {} and v.completion.quantize(D("0.0001")) == D("84.2857")


def test_category_weights_are_validated() -> None:
    base = RULES_TOML + '[classes."乡镇"]\n'
    for bad, says in [
        ("category_weights = { industry = 0.5, project = 0.5 }", "no weight for investment, other"),
        ("category_weights = { industry = 0.4, project = 0.25, investment = 0.25, other = 0.15 }", "must sum to 1"),
        ("category_weights = { industry = 0.35, project = 0.15, project_delivery = 0.1, investment = 0.25, "
         "other = 0.15 }", "project_delivery counted twice"),
        ("category_weights = { farming = 1 }", "unknown category farming"),
    ]:
        try:
            parse_rules(base + bad)
        except RulesError as exc:
            assert says in str(exc), (bad, str(exc))
        else:
            raise AssertionError(bad)


def test_the_shipped_rules_document_and_set_the_new_keys() -> None:
    rules = load_rules()
    assert rules.for_class("乡镇").category_weights["industry"] == D("0.35")
    assert rules.for_class("村").survey_min_answers == 10 and rules.default.survey_min_answers == 30
    assert rules.default.caps.failed_group_target and rules.default.caps.failed_line
    assert rules.default.caps.criticised and rules.default.bottom_count == 3
    for key in ("category_weights", "failed_group_target", "failed_line", "criticised", "bottom_count"):
        assert key in rules.text


async def test_grade_caps_each_switchable(database: Database, clock: FixedClock) -> None:
    """Seven villages (quota floor(7 × 0.3) = 2 优秀). G1 owns target GT, assigned to A (60/100, failed) and
    B (100/100). Every unit also has its own target making its C:
      A: GT 60 and its own 100 → C = 100 × (0.6 + 1) / 2 = 80 → 良好 on its band;
      B: GT 100 + own 98 → C = 99;  C: own 97 → 97;  D: own 96 → 96;  E: own 95;  F, G: 50 and 40.
    C is named in a published notice of 2027-Q2 (and D in a discarded one, and in one of 2026).
    Caps off: B 优秀, C 优秀 (quota 2), D 良好 (quota), E 良好.
    Caps on: B belongs to G1's failed line → 良好 (cap failed_line); C criticised → 良好; so D and E take
    the quota: D 优秀, E 优秀. A failed G1's target (cap failed_group_target) but is 良好 on its band.
    Only failed_group_target on: B keeps 优秀 (it failed nothing), C keeps 优秀, D and E 良好."""
    s = Scene(database, clock)
    g1 = await s.group("G1")
    gt = await s.target("GT", group=g1)
    units = {code: await s.unit(code, "村") for code in "ABCDEFG"}
    await s.report(await s.assign(gt, units["A"], 100), 60, clock.now())
    await s.report(await s.assign(gt, units["B"], 100), 100, clock.now())
    for code, value in {"A": 100, "B": 98, "C": 97, "D": 96, "E": 95, "F": 50, "G": 40}.items():
        await s.simple(units[code], value)
    for period, status, named in (("2027-Q2", "published", ["C"]), ("2027-Q3", "discarded", ["D"]),
                                  ("2026-Q4", "published", ["D"])):
        await s._add(Notice(period=period, title="通报", body="…", units=named, status=status, drafted_by="t",
                            created_at=clock.now()))

    off = by_code(await s.compute())
    assert {c: off[c].grade for c in "ABCDE"} == {"A": "good", "B": "excellent", "C": "excellent",
                                                  "D": "good", "E": "good"}
    assert all(not u.caps for u in off.values())

    on = by_code(await s.compute(extra_rules="[default.caps]\nfailed_group_target = true\nfailed_line = true\n"
                                             "criticised = true\n"))
    assert {c: on[c].grade for c in "ABCDE"} == {"A": "good", "B": "good", "C": "good",
                                                 "D": "excellent", "E": "excellent"}
    assert on["A"].caps == ["failed_group_target", "failed_line"]
    assert on["B"].caps == ["failed_line"] and on["C"].caps == ["criticised"] and on["D"].caps == []
    assert [u.rank for u in (on["B"], on["C"], on["D"])] == [1, 2, 3]  # caps change grades, never ranks

    one = by_code(await s.compute(extra_rules="[default.caps]\nfailed_group_target = true\n"))
    assert {c: one[c].grade for c in "BCDE"} == {"B": "excellent", "C": "excellent", "D": "good", "E": "good"}


async def test_bottom_count_is_a_rules_setting(database: Database, clock: FixedClock) -> None:
    """bottom_count = 2 for 村: a class of 4 (≥ 2 × 2) flags its last 2; 企业 keeps 3 by default: a class of 5
    (< 6) flags its last one; bottom_count = 0 for 部门 flags none."""
    s = Scene(database, clock)
    for code, value in {"V1": 90, "V2": 80, "V3": 70, "V4": 60}.items():
        await s.simple(await s.unit(code, "村"), value)
    for code, value in {"E1": 90, "E2": 80, "E3": 70, "E4": 60, "E5": 50}.items():
        await s.simple(await s.unit(code, "企业"), value)
    for code, value in {"D1": 90, "D2": 10}.items():
        await s.simple(await s.unit(code, "部门"), value)
    result = await s.compute(extra_rules='[classes."村"]\nbottom_count = 2\n[classes."部门"]\nbottom_count = 0\n')
    flagged = sorted(u.unit_code for u in result.units if u.bottom)
    assert flagged == ["E5", "V3", "V4"]


async def test_the_survey_minimum_per_class_vetoes_a_village(database: Database, clock: FixedClock) -> None:
    """The shipped rules: 村 needs 10 answers, the default 30. V1 (村) 29 answers, all 不满意: rate 0 < 0.8
    with 29 ≥ 10 → vetoed. T1 (乡镇) the same 29 answers: 29 < 30 → shown, no veto."""
    s = Scene(database, clock)
    v1, t1 = await s.unit("V1", "村"), await s.unit("T1", "乡镇")
    for unit in (v1, t1):
        await s.simple(unit, 100)
        await s.survey(unit, unsatisfied=29)
    from services.scoring.formula import compute_county
    from tests.support.scoringrig import TZ
    result = by_code(await compute_county(2027, uow=database.read_uow(), rules=load_rules(),
                                          cutoff=clock.now().date().replace(year=2027, month=12, day=31), tz=TZ))
    assert result["V1"].vetoed and result["V1"].veto_reasons == ["survey"] and result["V1"].grade == "fail"
    assert not result["T1"].vetoed and result["T1"].survey.below_minimum
