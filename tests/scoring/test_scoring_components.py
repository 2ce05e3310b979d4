"""Scoring, part 2: peer and inspection trimmed means, the weighted total, missing components,
bonuses, deductions and corrections. Hand-computed numbers beside each expected Decimal."""

from __future__ import annotations

from models.db import Database
from services.core.clock import FixedClock
from services.scoring.calc import trimmed_mean
from services.scoring.formula import display
from services.scoring.results import from_json, to_json
from tests.support.scoringrig import D, Scene, by_code


def test_trimmed_mean_by_hand() -> None:
    assert trimmed_mean([]) is None
    assert trimmed_mean([D(70), D(80), D(90), D(100)]) == D(85)  # 4 scores: plain mean 340 / 4
    assert trimmed_mean([D(10), D(20), D(30), D(40), D(100)]) == D(30)  # 5: drop 10 and 100 → 90 / 3
    assert trimmed_mean([D(60), D(100), D(50), D(90), D(70), D(80)]) == D(75)  # 6: drop 50, 100 → 300 / 4
    assert trimmed_mean([D(80), D(80), D(80), D(80), D(80)]) == D(80)  # ties: one of each end dropped


async def test_total_weights_completion_peer_and_inspection(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    await s.simple(u, 80, planned=100)  # C = 80
    await s.scores(u, "peer", [70, 80, 90, 100])  # P = 85, 4 scores: none dropped
    await s.scores(u, "inspection", [50, 60, 70, 80, 90, 100, None])  # I = 75; the unsubmitted one ignored

    r = by_code(await s.compute())["U1"]
    assert (r.completion, r.peer, r.peer_count, r.inspection, r.inspection_count) == (D(80), D(85), 4, D(75), 6)
    assert r.total == D(80)  # 0.70 × 80 + 0.15 × 85 + 0.15 × 75 = 56 + 12.75 + 11.25
    assert r.weights == {"completion": D("0.7"), "peer": D("0.15"), "inspection": D("0.15")}


async def test_missing_component_weight_is_redistributed(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    no_insp = await s.unit("U1")
    await s.simple(no_insp, 80, planned=100)  # C = 80
    await s.scores(no_insp, "peer", [90])  # P = 90; no inspection score at all
    alone = await s.unit("U2")
    await s.simple(alone, 64, planned=100)  # C = 64, neither P nor I

    result = by_code(await s.compute())
    r = result["U1"]
    assert r.inspection is None
    assert r.total == D("69.5") / D("0.85")  # (0.70 × 80 + 0.15 × 90) / (0.70 + 0.15) = 81.7647…
    assert display(r.total) == "81.76"
    assert r.weights["inspection"] == D(0)
    assert r.weights["completion"] == D("0.7") / D("0.85")  # 0.8235…
    assert r.weights["peer"] == D("0.15") / D("0.85")  # 0.1764…
    assert result["U2"].total == D(64)  # C alone carries the whole weight
    assert result["U2"].weights == {"completion": D(1), "peer": D(0), "inspection": D(0)}


async def test_bonus_and_deduction_stop_at_their_limits(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    await s.simple(u, 80, planned=100)  # C = 80, total before items 80
    await s.item(u, "bonus", 3, "省级表彰")
    await s.item(u, "bonus", 4, "市级表彰")  # 3 + 4 = 7 > limit 5
    await s.item(u, "bonus", 9, "撤销的加分", revoked=True)  # revoked: does not count
    await s.item(u, "deduction", 4, "迟报")
    await s.item(u, "deduction", 8, "虚报")  # 4 + 8 = 12 > limit 10
    await s.item(u, "correction", "1.5", "申诉更正")
    await s.item(u, "correction", "-0.5", "申诉更正")  # corrections: +1, outside the limits

    r = by_code(await s.compute())["U1"]
    assert (r.bonus_claimed, r.bonus) == (D(7), D(5))
    assert (r.deduction_claimed, r.deduction) == (D(12), D(10))
    assert r.correction == D(1)
    assert r.total == D(76)  # 80 + 5 − 10 + 1
    assert sorted(i.reason for i in r.items) == sorted(["省级表彰", "市级表彰", "迟报", "虚报", "申诉更正", "申诉更正"])
    assert r.vetoes == []


async def test_bonus_exactly_at_the_limit_counts_in_full(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    await s.simple(u, 80, planned=100)  # C = 80
    await s.item(u, "bonus", "2.5")
    await s.item(u, "bonus", "2.5")  # 5 = the limit
    await s.item(u, "deduction", 10)  # 10 = the limit
    r = by_code(await s.compute())["U1"]
    assert (r.bonus, r.deduction) == (D(5), D(10))
    assert r.total == D(75)  # 80 + 5 − 10


async def test_class_rules_apply_to_their_class(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    town = await s.unit("T1", unit_class="乡镇")
    village = await s.unit("V1", unit_class="村")
    for u in (town, village):
        await s.simple(u, 150, planned=100)  # ratio 1.5
        await s.scores(u, "peer", [60])
        await s.scores(u, "inspection", [60])
    extra = '[classes."乡镇"]\ncompletion_cap = 1.5\nweights = { completion = 0.5, peer = 0.25, inspection = 0.25 }\n'

    result = by_code(await s.compute(extra_rules=extra))
    assert result["T1"].completion == D(150)  # cap 1.5: 100 × 1.5
    assert result["T1"].total == D(105)  # 0.5 × 150 + 0.25 × 60 + 0.25 × 60 = 75 + 15 + 15
    assert result["V1"].completion == D(120)  # default cap 1.2
    assert result["V1"].total == D(102)  # 0.7 × 120 + 0.15 × 60 + 0.15 × 60 = 84 + 9 + 9


async def test_result_survives_the_json_snapshot(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    await s.simple(u, 80, planned=100)
    await s.scores(u, "peer", [90])
    await s.item(u, "bonus", 2)
    await s.survey(u, satisfied=3, unsatisfied=1)
    r = by_code(await s.compute())["U1"]
    assert from_json(to_json(r)) == r


def test_display_rounds_half_up() -> None:
    assert display(D("89.995")) == "90.00"  # half-up, not banker's rounding
    assert display(D("89.994999")) == "89.99"
    assert display(D("0.125")) == "0.13"
    assert display(D("-0.001")) == "0.00"
    assert display(None) == "—"
