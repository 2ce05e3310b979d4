"""The ranking computes each unit's scores from the effective values alone and builds the explained lines only when
they are read (services/scoring/calc.py, lines.py). These tests show the two agree: the short form of the
effective-value rule (``effective_value``) against the rule (``effective_of`` + ``with_carried``) on every case of
tests/progress/test_effective.py and on a grid of inputs; and, on a county with every kind of line, the scores the
units were ranked on against the same numbers worked out from their lines as the score did before (C = 100 × Σ
points / Σ weights over the lines, failed targets = the lines not complete)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest

from models.db import Database
from services.core.clock import FixedClock
from services.progress.effective import Effective, Verification, effective_of, effective_value, with_carried
from services.scoring.formula import calculate
from services.scoring.load import Decimals, effective_at, load, value_at
from services.scoring.results import from_json, to_json
from tests.progress.test_effective import CASES
from tests.support.scoringrig import TZ, D, Scene, at, by_code, rules

MAY, JUN = at("2027-05-01 10:00"), at("2027-06-01 10:00")


def test_the_short_form_agrees_with_the_rule_on_a_grid() -> None:
    """Every combination of: direction, a claim (none, 50, 80), an inspection (none, 40 or 90, in May or June), an
    acceptance (none, 60 or 85, in May or June: a tie with the inspection goes to the inspection) and a carried
    value (none, 30): the same value as ``with_carried(effective_of(...))``."""
    values = [None, D(40), D(90)]
    for direction, claim, visit, seen, acc, accepted, carried in itertools.product(
            ("higher", "lower"), (None, D(50), D(80)), values, (MAY, JUN), (None, D(60), D(85)), (MAY, JUN),
            (None, D(30))):
        inspection = Verification(visit, seen, "inspection") if visit is not None else None
        acceptance = Verification(acc, accepted, "evidence") if acc is not None else None
        last_year = Effective(carried, MAY, carried, MAY, None, False, "report") if carried is not None else None
        rule = with_carried(effective_of(direction, claim, JUN if claim is not None else None, inspection, acceptance),
                            last_year)
        assert effective_value(direction, claim, visit, seen, acc, accepted, carried) == rule.value


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_the_short_form_agrees_with_the_rule_on_every_case(database: Database, clock: FixedClock,
                                                                 case) -> None:
    """Each case of tests/progress/test_effective.py set up the same way, read by the score's set-based load:
    ``value_at`` (the ranking's) and ``effective_at`` (the lines', ``effective_of``) give the expected value."""
    name, direction, mode, events, expected = case
    s = Scene(database, clock)
    a = await s.assign(await s.target("T1", direction=direction, mode=mode), await s.unit("U1"),
                       planned=100 if direction == "higher" else 0, baseline=0 if direction == "higher" else 10)
    await s.play(a, events)
    async with database.read_uow() as uow:
        data = await load(uow.session, 2027, date(2027, 12, 31), TZ)
    (row,) = data.raw
    assert value_at(row, direction, None, Decimals()) == effective_at(row, direction, None).value == expected, name


EXTRA = """
late_credit = 0.5
milestone_weight = 0.2
[classes."乡镇"]
category_weights = { industry = 0.4, project = 0.3, investment = 0.1, other = 0.2 }
"""


async def test_the_ranked_scores_are_the_lines_scores(database: Database, clock: FixedClock) -> None:
    """Twelve units in two classes, every kind of line: continuous and zero-base, higher and lower is better, a plan
    on the baseline, verified values worse and better than the claim, accepted evidence, deadlines before the
    cut-off (met, missed, reached late with late credit 0.5), milestones weighed 0.2, category weights, leading
    groups. For each unit, the completion it was ranked on is 100 × Σ points / Σ weights of its lines (per
    category where weighted), its failed targets are its lines not complete, its lines survive the snapshot
    (to_json/from_json), and a second computation gives equal results."""
    s = Scene(database, clock)
    group = await s.group("G1")
    june, september = date(2027, 6, 30), date(2027, 9, 30)
    targets = [
        await s.target("A", category="industry", group=group),
        await s.target("B", mode="zero_base", category="project_acquisition"),
        await s.target("C", direction="lower", category="industry", deadline=june),
        await s.target("D", category="project_delivery", deadline=september, group=group),
        await s.target("E", category="other"),
    ]
    for n in range(12):
        unit = await s.unit(f"U{n:02d}", "乡镇" if n % 2 else "村")
        for k, target in enumerate(targets):
            lower = target.direction == "lower"
            planned, baseline = (2, 10) if lower else ((50, 50) if k == 4 and n % 3 == 0 else (100 + 10 * n, 0))
            a = await s.assign(target, unit, planned=planned, baseline=baseline, weight=1 + (n + k) % 3,
                               milestones=[["2027-03-31", "25"], ["2027-06-15", "50"]] if k == 3 else None)
            for step in range(3):
                value = (12 - 3 * step - n % 4) if lower else (n * 7 + k * 11 + step * (30 + n))
                report = await s.report(a, value, at("2027-02-01 10:00") + timedelta(days=70 * step + n))
            if k == 3 and n % 2 == 0:  # reached after its deadline (30 September)
                report = await s.report(a, 105 + 10 * n, at("2027-11-10 10:00"))
            if n % 3 == 1:
                await s.inspect(a, 9 if lower else 40 + n, at("2027-11-01 10:00"))
            if n % 4 == 2:
                await s.accept(report, at("2027-11-20 10:00"))
    ours = await s.compute(extra_rules=EXTRA)
    again = by_code(await s.compute(extra_rules=EXTRA))
    assert len(ours.units) == 12 and any(line.late for u in ours.units for line in u.lines)
    for u in ours.units:
        lines = u.lines
        assert len(lines) == 5 and lines == sorted(lines, key=lambda x: (x.target_code, x.assignment_id))
        if u.unit_class == "村":
            assert u.completion == Decimal(100) * sum((x.points for x in lines), Decimal(0)) / sum(
                (x.weight for x in lines), Decimal(0))
        else:
            parts = {"industry": [x for x in lines if x.category == "industry"],
                     "project": [x for x in lines if x.category.startswith("project")],
                     "other": [x for x in lines if x.category == "other"]}
            assert u.categories == {k: Decimal(100) * sum((x.points for x in p), Decimal(0)) / sum(
                (x.weight for x in p), Decimal(0)) for k, p in parts.items()}
        assert u.failed_targets == sorted({x.target_code for x in lines if not x.complete})
        assert from_json(to_json(u)) == u == again[u.unit_code]


async def test_the_lines_are_built_in_the_scores_arithmetic(database: Database, clock: FixedClock) -> None:
    """Lines read later, under another decimal context (4 digits), are those of the score's 28 digits: 1 of 3
    reported → ratio 1/3 to 28 digits."""
    import decimal

    s = Scene(database, clock)
    await s.simple(await s.unit("U1"), 1, planned=3)
    async with database.read_uow() as uow:
        data = await load(uow.session, 2027, date(2027, 12, 31), TZ)
    result = calculate(data, year=2027, rules=rules(), cutoff=date(2027, 12, 31))
    with decimal.localcontext(decimal.Context(prec=4)):
        (line,) = result.units[0].lines
    assert line.ratio == Decimal(1) / Decimal(3) and len(str(line.ratio)) == 30  # "0." and 28 digits
