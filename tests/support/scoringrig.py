"""A small scene builder for the scoring tests: units, targets, assignments, reports, inspections,
peer/inspection scores, survey answers and items, written straight to the database."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from models.assessment import AssessmentItem, PeerScore, SurveyResponse
from models.db import Database
from models.inspection import Inspection
from models.people import Person
from models.plan import Assignment, LeadingGroup, Target, Unit
from models.progress import ProgressReport
from services.core.clock import FixedClock
from services.scoring.formula import compute_county
from services.scoring.results import CountyResult, UnitResult
from services.scoring.rules import Rules, parse_rules

TZ = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)

RULES_TOML = """
[default]
weights = { completion = 0.70, peer = 0.15, inspection = 0.15 }
completion_cap = 1.2
bonus_limit = 5
deduction_limit = 10
bands = { excellent = 90, good = 80, pass = 60 }
top_share = 0.3
survey_threshold = 0.8
survey_min_answers = 30
peer_sample_size = 5
"""


def rules(extra: str = "") -> Rules:
    return parse_rules(RULES_TOML + extra)


def at(text: str) -> datetime:
    """A county-time instant: ``at("2027-05-01 10:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


class Scene:
    def __init__(self, db: Database, clock: FixedClock) -> None:
        self.db = db
        self.clock = clock
        self._person: int | None = None

    async def _add(self, *rows: Any) -> Any:
        async with self.db.uow() as uow:
            for row in rows:
                uow.session.add(row)
            await uow.session.flush()
            await uow.commit()
        return rows[0] if len(rows) == 1 else rows

    async def person(self) -> int:
        if self._person is None:
            p = await self._add(Person(code=f"SP{next(_seq):05d}", name="测试员", created_at=self.clock.now()))
            self._person = p.id
        assert self._person is not None
        return self._person

    async def unit(self, code: str, unit_class: str = "村", *, active: bool = True) -> Unit:
        return await self._add(Unit(code=code, name=f"{code}名", kind="village", unit_class=unit_class,
                                    active=active, created_at=self.clock.now()))

    async def find(self, code: str) -> Unit:
        async with self.db.read_uow() as uow:
            return (await uow.session.exec(select(Unit).where(Unit.code == code))).one()

    async def group(self, code: str) -> LeadingGroup:
        return await self._add(LeadingGroup(code=code, name=f"{code}领导小组"))

    async def target(self, code: str, *, year: int = 2027, mode: str = "continuous", direction: str = "higher",
                     group: LeadingGroup | None = None, category: str = "other",
                     deadline: date | None = None) -> Target:
        return await self._add(Target(code=code, year=year, title=f"{code}目标", category=category, measure="个",
                                      direction=direction, mode=mode, deadline=deadline or date(year, 12, 31),
                                      leading_group_id=group.id if group else None))

    async def assign(self, target: Target, unit: Unit, planned: str | int, baseline: str | int = 0,
                     weight: str | int = 1, milestones: list[list[str]] | None = None) -> Assignment:
        return await self._add(Assignment(target_id=target.id, unit_id=unit.id, planned_value=D(planned),
                                          baseline_value=D(baseline), weight=D(weight), milestones=milestones))

    async def simple(self, unit: Unit, value: str | int | None, planned: str | int = 100, weight: str | int = 1,
                     code: str | None = None, **target_kw: Any) -> Assignment:
        """One target of this unit alone, with one report of ``value`` (None: no report)."""
        target = await self.target(code or f"T{next(_seq):05d}", **target_kw)
        a = await self.assign(target, unit, planned, weight=weight)
        if value is not None:
            await self.report(a, value, at("2027-06-01 10:00"))
        return a

    async def report(self, a: Assignment, value: str | int, when: datetime) -> ProgressReport:
        return await self._add(ProgressReport(assignment_id=a.id, reporter_person_id=await self.person(),
                                              value=D(value), confirmed_at=when))

    async def inspect(self, a: Assignment, verified: str | int, when: datetime, confirmation: str | None = None,
                      confirmed_at: datetime | None = None) -> Inspection:
        """A visit; ``confirmation`` "pending" for a visit whose evidence was flagged off site or re-used
        (then "confirmed" or "rejected" by an admin at ``confirmed_at``)."""
        return await self._add(Inspection(inspector_person_id=await self.person(), unit_id=a.unit_id,
                                          assignment_id=a.id, visited_at=when, verified_value=D(verified),
                                          rating="poor", confirmation=confirmation, confirmed_at=confirmed_at))

    async def accept(self, report: ProgressReport, when: datetime, decision: str = "accepted") -> None:
        """The office's decision on the report's new evidence at ``when``."""
        async with self.db.uow() as uow:
            row = await uow.session.get(ProgressReport, report.id)
            assert row is not None
            row.review, row.reviewed_at = decision, when
            uow.session.add(row)
            await uow.commit()


    async def play(self, a: Assignment, events: list[tuple[str, str | int | None, str]]) -> None:
        """A case of tests/progress/test_effective.py's ``CASES`` on ``a``: (kind, value, when) with kind "r" a
        report, "a"/"x" the last report's evidence accepted/rejected, "i"/"p"/"c"/"n" a visit (counting, pending,
        confirmed, rejected)."""
        last = None
        for kind, value, when in events:
            moment = at(when if " " in when else f"{when} 10:00")
            if kind == "r":
                last = await self.report(a, value, moment)  # type: ignore[arg-type]
            elif kind in ("a", "x"):
                assert last is not None
                await self.accept(last, moment, "accepted" if kind == "a" else "rejected")
            else:
                confirmation = {"i": None, "p": "pending", "c": "confirmed", "n": "rejected"}[kind]
                await self.inspect(a, value, moment, confirmation=confirmation,  # type: ignore[arg-type]
                                   confirmed_at=moment if kind in ("c", "n") else None)
    async def scores(self, unit: Unit, kind: str, scores: list[str | int | None]) -> None:
        people = [Person(code=f"SP{next(_seq):05d}", name="评分人", created_at=self.clock.now()) for _ in scores]
        async with self.db.uow() as uow:
            for p in people:
                uow.session.add(p)
            await uow.session.flush()
            for p, s in zip(people, scores, strict=True):
                uow.session.add(PeerScore(year=2027, kind=kind, scorer_person_id=p.id, unit_id=unit.id,
                                          score=None if s is None else D(s), drawn_at=self.clock.now(),
                                          submitted_at=None if s is None else self.clock.now()))
            await uow.commit()

    async def survey(self, unit: Unit, satisfied: int = 0, basic: int = 0, unsatisfied: int = 0) -> None:
        answers = ["satisfied"] * satisfied + ["basic"] * basic + ["unsatisfied"] * unsatisfied
        async with self.db.uow() as uow:
            for answer in answers:
                uow.session.add(SurveyResponse(year=2027, unit_id=unit.id, respondent=f"r{next(_seq)}",
                                               answer=answer, answered_at=self.clock.now()))
            await uow.commit()

    async def item(self, unit: Unit, kind: str, points: str | int | None, reason: str = "理由",
                   revoked: bool = False) -> AssessmentItem:
        return await self._add(AssessmentItem(
            year=2027, unit_id=unit.id, kind=kind, points=None if points is None else D(points), reason=reason,
            created_by="test", created_at=self.clock.now(), revoked_at=self.clock.now() if revoked else None,
            revoked_reason="撤销" if revoked else None))

    async def compute(self, cutoff: date = date(2027, 12, 31), extra_rules: str = "",
                      year: int = 2027) -> CountyResult:
        return await compute_county(year, uow=self.db.read_uow(), rules=rules(extra_rules), cutoff=cutoff, tz=TZ)


def by_code(result: CountyResult) -> dict[str, UnitResult]:
    return {u.unit_code: u for u in result.units}
