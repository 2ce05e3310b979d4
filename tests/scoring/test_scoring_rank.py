"""Scoring, part 3: ranking, ties, grades and the top-grade quota, bottom flags, failed targets and
leading groups. Totals below are C alone (no peer or inspection scores), so C = 100 × value / plan."""

from __future__ import annotations

from models.db import Database
from services.core.clock import FixedClock
from tests.support.scoringrig import D, Scene, at, by_code


async def _units(s: Scene, unit_class: str, values: dict[str, str | int]) -> None:
    for code, value in values.items():
        await s.simple(await s.unit(code, unit_class), value, planned=100)


async def test_ties_go_to_the_higher_completion_then_the_unit_code(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    await _units(s, "村", {"B2": 82, "B1": 82, "A9": 80, "C0": 70})
    await s.item(await s.find("A9"), "bonus", 2)  # A9: 80 + 2 = 82, same total, lower C

    result = await s.compute()
    order = [(u.unit_code, u.rank, u.total) for u in result.units]
    # B1 and B2: total 82 and C 82 both → code order; A9: total 82 but C 80; C0: 70.
    assert order == [("B1", 1, D(82)), ("B2", 2, D(82)), ("A9", 3, D(82)), ("C0", 4, D(70))]


async def test_ranking_uses_unrounded_totals(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    await _units(s, "村", {"A": "85.004", "B": "85.001"})  # both display 85.00
    result = await s.compute()
    assert [u.unit_code for u in result.units] == ["A", "B"]  # 85.004 > 85.001


async def test_bands_use_the_displayed_total_and_the_top_grade_quota(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    # 7 units: quota = floor(7 × 0.3) = floor(2.1) = 2 excellent at most.
    await _units(s, "村", {"U1": 99, "U2": 95, "U3": 93, "U4": "89.995", "U5": "89.994", "U6": 60, "U7": 59})
    result = by_code(await s.compute())
    assert [result[c].band for c in ("U1", "U2", "U3", "U4", "U5")] == ["excellent"] * 4 + ["good"]
    # U4: 89.995 displays 90.00 → the excellent band; U5: 89.994 displays 89.99 → good.
    grades = {c: result[c].grade for c in result}
    assert grades == {"U1": "excellent", "U2": "excellent", "U3": "good", "U4": "good", "U5": "good",
                      "U6": "pass", "U7": "fail"}  # U3, U4 dropped by the quota; 60 ≥ pass; 59 < pass


async def test_small_class_gets_no_top_grade(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    await _units(s, "企业", {"E1": 100, "E2": 98, "E3": 97})  # floor(3 × 0.3) = floor(0.9) = 0
    assert {u.grade for u in (await s.compute()).units} == {"good"}


async def test_bottom_flags_by_class_size(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    await _units(s, "县直", {"D1": 50})  # class of 1: nothing flagged
    await _units(s, "企业", {"E1": 90, "E2": 80, "E3": 70})  # class of 3: the last one
    await _units(s, "村", {f"V{i}": 100 - i for i in range(1, 9)})  # class of 8: the last three (V6–V8)

    result = await s.compute()
    flagged = {c: sorted(u.unit_code for u in units if u.bottom) for c, units in result.by_class().items()}
    assert flagged == {"县直": [], "企业": ["E3"], "村": ["V6", "V7", "V8"]}
    sizes = {u.unit_code: u.class_size for u in result.units}
    assert (sizes["D1"], sizes["E1"], sizes["V1"]) == (1, 3, 8)


async def test_bottom_flag_in_a_class_of_six_and_two(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    await _units(s, "乡镇", {f"T{i}": 100 - i for i in range(1, 7)})  # 6: last three
    await _units(s, "企业", {"E1": 90, "E2": 80})  # 2: last one
    flagged = sorted(u.unit_code for u in (await s.compute()).units if u.bottom)
    assert flagged == ["E2", "T4", "T5", "T6"]


async def test_one_vote_veto_fails_the_unit_and_ranks_it_last(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    await _units(s, "村", {"TOP": 100, "MID": 85, "LOW": 70})
    await s.item(await s.find("TOP"), "veto", None, "发生较大安全生产事故")
    await s.item(await s.find("MID"), "veto", None, "撤销的否决", revoked=True)

    result = await s.compute()
    assert [(u.unit_code, u.rank, u.grade) for u in result.units] == [
        ("MID", 1, "good"), ("LOW", 2, "pass"), ("TOP", 3, "fail")]
    top = by_code(result)["TOP"]
    assert top.vetoed and top.veto_reasons == ["item"] and top.bottom
    assert [v.reason for v in top.vetoes] == ["发生较大安全生产事故"]
    assert top.total == D(100)  # its points are kept and shown
    assert top.band == "excellent"


async def test_survey_veto_below_at_and_above_the_threshold(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    await _units(s, "村", {"BELOW": 95, "AT": 94, "ABOVE": 93, "FEW": 92, "NONE": 91})
    await s.survey(await s.find("BELOW"), satisfied=20, basic=3, unsatisfied=7)  # 23/30 = 0.7667 < 0.8
    await s.survey(await s.find("AT"), satisfied=20, basic=4, unsatisfied=6)  # 24/30 = 0.8: not below
    await s.survey(await s.find("ABOVE"), satisfied=27, unsatisfied=3)  # 27/30 = 0.9
    await s.survey(await s.find("FEW"), satisfied=10, unsatisfied=19)  # 10/29: fewer than 30 answers

    r = by_code(await s.compute())
    below = r["BELOW"].survey
    assert (below.answers, below.satisfied, below.basic, below.unsatisfied) == (30, 20, 3, 7)
    assert below.rate == D(23) / D(30) and below.veto and not below.below_minimum
    assert (r["BELOW"].vetoed, r["BELOW"].veto_reasons, r["BELOW"].grade) == (True, ["survey"], "fail")
    assert (r["AT"].survey.rate, r["AT"].survey.veto, r["AT"].vetoed) == (D("0.8"), False, False)
    assert (r["ABOVE"].survey.rate, r["ABOVE"].vetoed) == (D("0.9"), False)
    assert r["FEW"].survey.rate == D(10) / D(29)
    assert (r["FEW"].survey.below_minimum, r["FEW"].survey.veto, r["FEW"].vetoed) == (True, False, False)
    assert (r["NONE"].survey.answers, r["NONE"].survey.rate, r["NONE"].vetoed) == (0, None, False)
    assert r["BELOW"].rank == 5  # vetoed: after the four that were not


async def test_failed_targets_and_leading_groups(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u1, u2 = await s.unit("U1"), await s.unit("U2")
    done, short = await s.group("G1"), await s.group("G2")
    t1 = await s.target("A1", group=done)
    t2 = await s.target("B1", group=short)
    t3 = await s.target("B2", group=short)
    for a, v in [(await s.assign(t1, u1, 10), 10), (await s.assign(t1, u2, 10), 12),
                 (await s.assign(t2, u1, 10), 10), (await s.assign(t2, u2, 10), 9),
                 (await s.assign(t3, u2, 10), 3)]:
        await s.report(a, v, at("2027-09-01 10:00"))
    await s.simple(u1, 5, planned=10, code="NOGROUP")

    result = await s.compute()
    r = by_code(result)
    assert r["U1"].failed_targets == ["NOGROUP"]
    assert r["U2"].failed_targets == ["B1", "B2"]  # 9 < 10 and 3 < 10
    groups = {g.code: g for g in result.groups}
    assert set(groups) == {"G1", "G2"}
    assert groups["G1"].complete and groups["G1"].failing == []
    assert not groups["G2"].complete
    assert groups["G2"].failing == [("B1", "U2"), ("B2", "U2")]
    assert groups["G2"].name == "G2领导小组"


async def test_empty_year_gives_an_empty_result(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    result = await s.compute(year=2031)
    assert (result.units, result.groups, result.year) == ([], [], 2031)
