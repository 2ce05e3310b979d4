"""The year-end score and ranking (考核评分与排名): the one documented formula.

Everything below is computed by ``compute`` from the data as it stood at the cut-off, with the rules
of the unit's class (services/scoring/rules.py). Numbers are exact decimals (28 significant
digits); nothing is rounded until it is displayed, except where a rule says so.

**Who is in the round of year Y.** Every *active* unit with at least one assignment of a target whose
``year`` is Y. Units are ranked within their class (``unit_class``); the class picks the rules.

**1. Ratio of an assignment** (the effective value, domain.md, services/progress/effective.py: one rule for
every view and the score):

* *Effective value* = the value of the latest confirmed report counted (the highest report id, so a
  correction wins over what it supersedes), unless a *standing verified value* is worse for the unit in
  the target's direction (lower for "higher is better", higher for "lower is better"): then that. The
  standing verified value is the latest of: an inspection's verified value (a visit whose evidence was
  flagged off site or re-used counts only once an admin confirmed it, from then), and the office's
  acceptance of the unit's new evidence for a report (that report's value, from the acceptance). It
  stands until a later inspection or acceptance: a report beyond it is kept (``claimed``) and does not
  count (``verified`` is true). With no report counted, the standing verified value; with neither, None.
  Only reports confirmed, visits made and decisions taken by the end of the cut-off day (county time)
  count.
* *Continuous* targets (连续考核): reports of any date count (a report made in December of Y−1 on a
  target of year Y counts), so the plan and the value carry across years; baseline = the
  assignment's baseline. A target that continues last year's (``continues``): with nothing reported
  or verified on it yet, the effective value of the same unit's assignment of last year's target
  carries (values are cumulative).
* *Zero-base* targets (零基考核): only reports confirmed, visits made and evidence of reports made on or
  after Jan 1 of Y (county time) count; earlier ones are ignored, so only this year's results count
  (in every view, not only here); baseline = the assignment's baseline.
* *Planned value*: the assignment's plan as it stood on the cut-off day (an approved adjustment that
  applies from a later day is undone, as services/progress.plan_as_of does).
* ``ratio = (value − baseline) / (planned − baseline)``; for a "lower is better" target both
  differences are reversed: ``(baseline − value) / (baseline − planned)``. The ratio is not rounded.
* planned == baseline (a "hold the line" target, e.g. zero accidents): ratio 1 when a value counted
  is at least as good as the plan, else 0 (progress.pace.holds_line, the same rule /mytargets uses);
  note ``planned_equals_baseline``. A plan on the wrong side of the baseline is treated the same way,
  note ``plan_behind_baseline``.
* No value counted: value None, ratio 0, note ``no_report`` (whatever the target, hold-the-line too).
* *Deadlines* (按期完成): when the assignment's deadline (as it stood on the cut-off day) is before the
  cut-off, it is scored on its value at the deadline: the effective value at the end of the deadline
  day, or the one at the cut-off if that is worse (a later inspection found less than was claimed).
  ``ratio = r_d + late_credit × (r_c − r_d)`` when the ratio at the cut-off ``r_c`` is above the
  on-time ratio ``r_d``, else ``r_d``; *complete* means ``r_d ≥ 1`` (on time); ``reached_on`` is the
  day the counted value reaching the plan was reported or verified, ``late`` when it came after the
  deadline.
* *Milestones*: with ``milestone_weight`` m > 0, each milestone before the deadline and the cut-off
  whose expected value (progress.pace.expected_value) the value on its day (as above) did not reach is
  missed; points are multiplied by ``1 − m × missed / due``.
* ``points = weight × min(max(ratio, 0), cap)`` (× the milestone factor) (cap = ``completion_cap``,
  e.g. 1.2).

**2. Components.**

* Completion ``C = 100 × Σ points / Σ weights`` over the unit's assignments (0 if Σ weights is 0);
  at most ``100 × cap``.
* *Category weights* (issue #15; the class's ``category_weights``, none by default): completion is then
  computed within each key k (a target category, or "project" for 项目争取 and 项目落实 together):
  ``C_k = 100 × Σ points / Σ weights`` over the unit's assignments of k, and ``C = Σ w_k·C_k / Σ w_k`` over
  the keys the unit has assignments in — a key without any shares its weight out over the others in
  proportion, as the components do. ``UnitResult.categories`` holds every C_k, ``category_weights`` the
  weights as applied (w_k / Σ w_k). Without category weights C is as above (one completion over all).
* Peer ``P`` (交叉考核) and inspection ``I`` (巡察考核): the submitted scores (0–100) of year Y; their
  mean, after dropping one highest and one lowest score when there are 5 or more (a trimmed mean;
  with 4 or fewer, the plain mean). No submitted score: the component is missing (None).
* A missing component's weight is redistributed over the components that have scores, in
  proportion to their weights: ``base = Σ w_k·X_k / Σ w_k`` over the present components (with all
  three present that is ``wc·C + wp·P + wi·I``). The weights as applied are in ``UnitResult.weights``
  (a missing component shows weight 0). If the present components all weigh 0, ``base = C``.

**3. Items** (加分/扣分, recorded by the office, audited; revoked items do not count):

* ``bonus = min(Σ bonus points, bonus_limit)``, ``deduction = min(Σ deduction points,
  deduction_limit)``; the sums before the limits are kept (``bonus_claimed``, ``deduction_claimed``).
* ``correction`` = Σ of the signed points of appeal corrections (accepted appeals), outside the
  limits.
* ``total = base + bonus − deduction + correction`` (unrounded).

**4. Vetoes.** A unit is *vetoed* (``veto_reasons``) by any one-vote veto item (一票否决, ``item``)
or by the survey (``survey``): rate = (满意 + 基本满意) / answers (answers refused because the account is
registered in the surveyed unit are not answers: issue #15); the survey vetoes when the unit has
at least ``survey_min_answers`` answers and the rate is below ``survey_threshold`` (at the threshold
it does not; with fewer answers the rate is shown but never vetoes).

**5. Ranking within the class.** Units not vetoed first, then vetoed units (a veto makes a unit
不合格 whatever its points, so it cannot stand above a unit that passed); within each part by
unrounded total, higher first, ties by the higher C, then by the unit code (A before B). Ranks are
1..n without gaps.

**6. Grades.** The *band* compares the total as displayed (rounded half-up to 2 decimals, so the
grade always agrees with the number shown) with ``bands``: ≥ excellent → 优秀, ≥ good → 良好,
≥ pass → 合格, else 不合格. Then: a vetoed unit is 不合格; a unit a *grade cap* applies to is not 优秀 but
良好 (issue #15; ``caps``, each switchable, all off when absent): ``failed_group_target`` — it failed a target
that belongs to a leading group's line; ``failed_line`` — it has a target of a line whose honours are withheld
(see 7); ``criticised`` — it was named in a published criticism notice (通报批评) whose period is of year Y.
``UnitResult.caps`` names the caps that applied. Caps change grades, never ranks. At most
``floor(n × top_share)`` units of a class of n get 优秀: those still banded 优秀 beyond that number (by rank)
get 良好 (a capped unit does not take a place of the quota).

**7. Flags.** *Bottom* (排名后三位, leadership review): with ``bottom_count`` = k (the class's rules, 3
when absent), the last k ranks of a class of at least 2k units, the last 1 of a smaller class of 2 or more,
none in a class of one (k = 3: the last 3 of 6 or more, the last 1 of 2–5; k = 0: none). *Failed targets*
(the unit's leaders explain): codes of its targets with ratio < 1. *Leading groups* (分线履职): a group
owning year-Y targets is complete (rewarded) when every assignment of those targets in the round is
complete; otherwise its honours are withheld and ``failing`` names the (target code, unit code) pairs not
complete; ``head_code`` / ``head_name`` name its head (组长), who answers for it
(services/assessment/accountability.py).

Display: ``display`` rounds half-up to 2 decimals ("—" for None).

Where it runs: ``compute`` reads on the event loop (services/scoring/load.py, in partitions) and does
the arithmetic (``calculate``) in a worker thread (``asyncio.to_thread``), so the loop -- every county served by
the process -- keeps running meanwhile. The ranking is computed on values alone (services/scoring/calc.py:
each assignment's points by services/scoring/points.py's ``assess``, no line objects); a unit's explained lines
(``UnitResult.lines``: /score, the exports, the stored snapshots) are built from the same rows by the same
``assess`` when they are first read (services/scoring/lines.py).
"""

from __future__ import annotations

import asyncio
import decimal
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from services.progress.standings import paused_gc
from services.scoring.calc import assemble
from services.scoring.load import ScoringData, load
from services.scoring.points import arithmetic
from services.scoring.results import CountyResult
from services.scoring.rules import Rules

CENT = Decimal("0.01")


def context() -> decimal.Context:
    """The arithmetic every score uses, whatever the caller's decimal context."""
    return arithmetic()


def display(value: Decimal | None) -> str:
    """A score as shown: half-up to 2 decimals; "—" when there is none."""
    if value is None:
        return "—"
    shown = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return format(shown if shown != 0 else Decimal("0.00"), "f")


async def compute(session: AsyncSession, year: int, rules: Rules, cutoff: date, tz: ZoneInfo) -> CountyResult:
    """Every unit's score, rank and grade for year ``year`` as of the end of ``cutoff`` (county time)."""
    data = await load(session, year, cutoff, tz, milestones=rules.weighs_milestones)
    return await asyncio.to_thread(calculate, data, year=year, rules=rules, cutoff=cutoff)


def calculate(data: ScoringData, *, year: int, rules: Rules, cutoff: date) -> CountyResult:
    """The arithmetic on the data read: CPU only (``compute`` runs it in a worker thread). The decimal
    context is the thread's own; the cyclic GC pauses meanwhile (nothing built here forms cycles)."""
    with decimal.localcontext(context()), paused_gc():
        return assemble(data, year=year, rules=rules, cutoff=cutoff)


async def compute_county(year: int, *, uow: UnitOfWork, rules: Rules, cutoff: date, tz: ZoneInfo) -> CountyResult:
    """``compute`` in a read unit of work of its own."""
    async with uow:
        return await compute(uow.session, year, rules, cutoff, tz)
