"""Expected value by a date and pace, checked against hand computations."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from models.enums import Direction
from services.progress.pace import Pace, PacePlan, PaceStatus, expected_percent, expected_value, pace, parse_milestones

D = Decimal
Q = D("0.0001")
YEAR_END = date(2027, 12, 31)
STRAIGHT = PacePlan(year=2027, baseline=D(0), planned=D(100), deadline=YEAR_END)
# (deadline - Jan 1).days for 2027-12-31 is 364.
SPAN = 364
JUL_2 = date(2027, 7, 2)  # 182 days after Jan 1: exactly half way


def q(x: Decimal) -> Decimal:
    return x.quantize(Q, rounding=ROUND_HALF_UP)


def test_straight_line_mid_year_is_the_exact_day_fraction() -> None:
    assert (JUL_2 - date(2027, 1, 1)).days == 182
    assert expected_value(STRAIGHT, JUL_2) == D(100) * D(182) / D(SPAN) == D(50)
    mar_1 = date(2027, 3, 1)  # 59 days
    assert expected_percent(STRAIGHT, mar_1) == D(100) * D(59) / D(SPAN)
    assert expected_value(STRAIGHT, mar_1) == q(D(100) * D(59) / D(SPAN)) == D("16.2088")


def test_straight_line_with_a_baseline_and_a_short_year() -> None:
    plan = PacePlan(year=2027, baseline=D(300), planned=D("1200.5"), deadline=date(2027, 10, 31))
    as_of = date(2027, 4, 10)
    elapsed, span = (as_of - date(2027, 1, 1)).days, (date(2027, 10, 31) - date(2027, 1, 1)).days
    assert (elapsed, span) == (99, 303)
    expected = q(D(300) + D("900.5") * (D(100) * D(elapsed) / D(span)) / D(100))
    assert expected_value(plan, as_of) == expected == D("594.2228")


def test_expected_before_the_year_on_jan_1_and_after_the_deadline() -> None:
    assert expected_value(STRAIGHT, date(2026, 12, 1)) == D(0)
    assert expected_value(STRAIGHT, date(2027, 1, 1)) == D(0)
    assert expected_value(STRAIGHT, YEAR_END) == D(100)
    assert expected_value(STRAIGHT, date(2028, 3, 1)) == D(100)


MILESTONED = PacePlan(
    year=2027, baseline=D(300), planned=D("1200.5"), deadline=date(2027, 11, 30),
    milestones=((date(2027, 3, 31), D(20)), (date(2027, 6, 30), D(50)), (date(2027, 9, 30), D(75))),
)


def test_milestones_interpolate_between_two_milestones() -> None:
    as_of = date(2027, 5, 15)  # 45 days after Mar 31, of the 91 to Jun 30
    percent = D(20) + D(30) * D(45) / D(91)
    assert expected_percent(MILESTONED, as_of) == percent
    assert expected_value(MILESTONED, as_of) == q(D(300) + D("900.5") * percent / D(100)) == D("613.6907")


def test_milestones_before_the_first_and_after_the_last() -> None:
    feb_14 = date(2027, 2, 14)  # 44 days of the 89 from Jan 1 to Mar 31
    assert expected_percent(MILESTONED, feb_14) == D(20) * D(44) / D(89)
    assert expected_value(MILESTONED, feb_14) == q(D(300) + D("900.5") * (D(20) * D(44) / D(89)) / D(100))
    oct_31 = date(2027, 10, 31)  # 31 days of the 61 from Sep 30 to Nov 30
    assert expected_percent(MILESTONED, oct_31) == D(75) + D(25) * D(31) / D(61)


def test_on_a_milestone_the_expected_value_is_its_percent() -> None:
    assert expected_percent(MILESTONED, date(2027, 6, 30)) == D(50)
    assert expected_value(MILESTONED, date(2027, 6, 30)) == D("750.25")


def test_milestones_are_sorted_clipped_and_made_cumulative() -> None:
    messy = PacePlan(
        year=2027, baseline=D(0), planned=D(100), deadline=YEAR_END,
        milestones=(
            (date(2027, 9, 30), D(40)),  # below the earlier 50: held at 50
            (date(2026, 12, 1), D(30)),  # before the year: dropped
            (date(2027, 6, 30), D(50)),
            (date(2028, 1, 31), D(90)),  # after the deadline: dropped
            (date(2027, 3, 31), D(-5)),  # clipped to 0
        ),
    )
    assert expected_percent(messy, date(2027, 3, 31)) == D(0)
    assert expected_percent(messy, date(2027, 8, 15)) == D(50)
    assert expected_percent(messy, date(2027, 9, 30)) == D(50)
    over = PacePlan(year=2027, baseline=D(0), planned=D(100), deadline=YEAR_END,
                    milestones=((date(2027, 6, 30), D(150)),))
    assert expected_percent(over, date(2027, 9, 1)) == D(100)


def test_parse_milestones_reads_the_stored_form() -> None:
    assert parse_milestones([["2027-03-31", "20"], ["2027-06-30", "50.5"]]) == (
        (date(2027, 3, 31), D(20)), (date(2027, 6, 30), D("50.5")),
    )
    assert parse_milestones(None) == ()


def test_thresholds_are_inclusive() -> None:
    # expected 50 on Jul 2
    assert pace(STRAIGHT, D(45), JUL_2) == Pace(
        status=PaceStatus.ON_TRACK, expected=D(50), ratio=D("0.9"), percent_complete=D(45), gap=D(5), days_left=182,
    )
    assert pace(STRAIGHT, D("44.99"), JUL_2).status is PaceStatus.YELLOW
    assert pace(STRAIGHT, D("44.99"), JUL_2).ratio == D("0.8998")
    assert pace(STRAIGHT, D(35), JUL_2).status is PaceStatus.YELLOW
    assert pace(STRAIGHT, D(35), JUL_2).ratio == D("0.7")
    assert pace(STRAIGHT, D("34.99"), JUL_2).status is PaceStatus.RED
    assert pace(STRAIGHT, D(10), JUL_2).status is PaceStatus.RED
    assert pace(STRAIGHT, D(60), JUL_2).ratio == D("1.2")


def test_the_status_follows_the_ratio_as_rounded_to_four_places() -> None:
    result = pace(STRAIGHT, D("44.9999"), JUL_2)  # 0.899998 shows as 0.9000
    assert result.ratio == D("0.9000")
    assert result.status is PaceStatus.ON_TRACK


def test_custom_thresholds() -> None:
    assert pace(STRAIGHT, D(40), JUL_2, yellow=D("0.8"), red=D("0.5")).status is PaceStatus.ON_TRACK
    assert pace(STRAIGHT, D(30), JUL_2, yellow=D("0.8"), red=D("0.5")).status is PaceStatus.YELLOW
    with pytest.raises(ValueError):
        pace(STRAIGHT, D(30), JUL_2, yellow=D("0.5"), red=D("0.8"))


def test_overdue_after_the_deadline_while_incomplete() -> None:
    result = pace(STRAIGHT, D(90), date(2028, 1, 5))
    assert result == Pace(status=PaceStatus.OVERDUE, expected=D(100), ratio=D("0.9"), percent_complete=D(90),
                          gap=D(10), days_left=-5)


def test_on_the_deadline_it_is_judged_by_pace_not_overdue() -> None:
    result = pace(STRAIGHT, D(95), YEAR_END)
    assert (result.status, result.expected, result.days_left) == (PaceStatus.ON_TRACK, D(100), 0)


def test_done_early_and_above_plan() -> None:
    result = pace(STRAIGHT, D(100), date(2027, 3, 1))
    assert result.status is PaceStatus.DONE
    assert result.percent_complete == D(100)
    assert result.gap < 0  # ahead
    assert pace(STRAIGHT, D(120), date(2028, 2, 1)).status is PaceStatus.DONE
    assert pace(STRAIGHT, D(120), date(2028, 2, 1)).percent_complete == D(120)


def test_no_report_yet_counts_as_the_baseline() -> None:
    result = pace(STRAIGHT, None, JUL_2)
    assert result == Pace(status=PaceStatus.RED, expected=D(50), ratio=D(0), percent_complete=D(0), gap=D(50),
                          days_left=182)
    assert pace(STRAIGHT, None, date(2028, 1, 1)).status is PaceStatus.OVERDUE


def test_non_zero_baseline() -> None:
    plan = PacePlan(year=2027, baseline=D(200), planned=D(600), deadline=YEAR_END)
    result = pace(plan, D(370), JUL_2)  # expected 400: (370-200)/(400-200) = 0.85
    assert (result.expected, result.ratio, result.status) == (D(400), D("0.85"), PaceStatus.YELLOW)
    assert result.percent_complete == D("42.5")
    assert result.gap == D(30)
    below = pace(plan, D(150), JUL_2)  # fell below the baseline
    assert below.ratio == D("-0.25")
    assert below.percent_complete == D(0)
    assert below.status is PaceStatus.RED


def test_lower_is_better_reverses_the_comparison() -> None:
    plan = PacePlan(year=2027, baseline=D(20), planned=D(10), deadline=YEAR_END, direction="lower")
    behind = pace(plan, D(18), JUL_2)  # expected 15: reduced 2 of the 5 expected
    assert behind == Pace(status=PaceStatus.RED, expected=D(15), ratio=D("0.4"), percent_complete=D(20), gap=D(3),
                          days_left=182)
    assert pace(plan, D("15.5"), JUL_2).status is PaceStatus.ON_TRACK  # 4.5 / 5 = 0.9
    assert pace(plan, D(16), JUL_2).status is PaceStatus.YELLOW  # 0.8
    ahead = pace(plan, D(12), JUL_2)
    assert (ahead.status, ahead.ratio, ahead.gap) == (PaceStatus.ON_TRACK, D("1.6"), D(-3))
    assert pace(plan, D(10), JUL_2).status is PaceStatus.DONE
    assert pace(plan, D(8), date(2027, 2, 1)).status is PaceStatus.DONE
    worse = pace(plan, D(25), JUL_2)
    assert (worse.status, worse.percent_complete, worse.ratio) == (PaceStatus.RED, D(0), D(-1))
    assert pace(plan, D(11), date(2028, 1, 2)).status is PaceStatus.OVERDUE


def test_direction_may_be_the_model_enum() -> None:
    plan = PacePlan(year=2027, baseline=D(20), planned=D(10), deadline=YEAR_END, direction=Direction.LOWER)
    assert pace(plan, D(18), JUL_2).status is PaceStatus.RED
    with pytest.raises(ValueError):
        pace(PacePlan(year=2027, baseline=D(0), planned=D(1), deadline=YEAR_END, direction="up"), D(0), JUL_2)


def test_keep_at_zero_target() -> None:
    """Hold the line (issue #15): a report of 0 holds it (done); never reported is not done (the score counts it 0
    too): not started until the deadline, overdue after it."""
    zero = PacePlan(year=2027, baseline=D(0), planned=D(0), deadline=YEAR_END, direction="lower")
    held = pace(zero, D(0), JUL_2)
    assert held == Pace(status=PaceStatus.DONE, expected=D(0), ratio=None, percent_complete=D(100), gap=D(0),
                        days_left=182)
    assert str(held.gap) == "0"
    silent = pace(zero, None, JUL_2)
    assert (silent.status, silent.percent_complete) == (PaceStatus.NOT_STARTED, D(0))
    assert pace(zero, None, date(2028, 1, 1)).status is PaceStatus.OVERDUE
    broken = pace(zero, D(1), JUL_2)
    assert (broken.status, broken.ratio, broken.percent_complete, broken.gap) == (PaceStatus.RED, None, D(0), D(1))
    assert pace(zero, D(1), date(2028, 1, 1)).status is PaceStatus.OVERDUE
    assert pace(zero, D(0), date(2028, 1, 1)).status is PaceStatus.DONE


def test_maintain_a_level_target() -> None:
    keep = PacePlan(year=2027, baseline=D(50), planned=D(50), deadline=YEAR_END)
    assert pace(keep, D(50), JUL_2).status is PaceStatus.DONE
    assert pace(keep, None, JUL_2).status is PaceStatus.NOT_STARTED  # never reported: not done
    slipped = pace(keep, D(49), JUL_2)
    assert (slipped.status, slipped.ratio, slipped.gap, slipped.expected) == (PaceStatus.RED, None, D(1), D(50))


def test_before_the_year_starts() -> None:
    result = pace(STRAIGHT, None, date(2026, 12, 20))
    assert result == Pace(status=PaceStatus.NOT_STARTED, expected=D(0), ratio=None, percent_complete=D(0), gap=D(0),
                          days_left=376)


def test_nothing_expected_yet_means_not_started() -> None:
    assert pace(STRAIGHT, None, date(2027, 1, 1)).status is PaceStatus.NOT_STARTED
    slow_start = PacePlan(year=2027, baseline=D(0), planned=D(100), deadline=YEAR_END,
                          milestones=((date(2027, 3, 31), D(0)), (date(2027, 6, 30), D(50))))
    early = pace(slow_start, D(3), date(2027, 2, 15))
    assert (early.status, early.expected, early.ratio, early.gap) == (PaceStatus.NOT_STARTED, D(0), None, D(-3))
    assert pace(slow_start, D(20), date(2027, 5, 15)).status is PaceStatus.YELLOW  # 50·45/91 = 24.7253: 0.8089
