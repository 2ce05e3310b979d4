"""Consequences that follow from the ranking (问责, issue #15 §5): the year's accountability lines and what the
office recorded for each.

The lines, from the year's results (stored once published, live while the round is open), in this order:

1. ``explain`` (说明, before the standing committee): each county leader one line, when a leading group they
   head (组长) has its honours withheld (a target of its line not complete on some unit), or a target they
   are linked to (招商项目 / 重点项目) is not complete on some unit, or a unit they are linked to (企业 / 后进村)
   failed a target. The line names every such reason.
2. ``report`` (述职): each unit with failed targets, naming them and the unit's active cadres.
3. ``review`` (leadership review, 动态管理): each unit flagged at the bottom of its class (排名后三位).
4. ``record`` (for 轮岗/换岗 decisions): each person with anything on their year's record: reports missed
   (missing-report reminders they were sent), claimed values an inspection found different (the person made
   the latest report before the visit), and alerts they were sent that nobody acknowledged.

A line's key (``kind:code``) is stable; its number is its place in this order. The office records an outcome
for a line (``scheduled`` / ``done`` with a note): one row per line, overwritten, every change audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.alerts import Alert, AlertDelivery
from models.assessment import AccountabilityOutcome, AssessmentRound
from models.db import UnitOfWork
from models.enums import Role
from models.inspection import Inspection
from models.people import Person, RoleMembership
from models.plan import LeaderLink, LeadingGroup, Target, Unit
from models.progress import ProgressReport
from services.assessment import rounds
from services.core import audit, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.scoring.results import CountyResult

KINDS = ("explain", "report", "review", "record")
STATUSES = {"scheduled": "scheduled", "已安排": "scheduled", "安排": "scheduled",
            "done": "done", "已完成": "done", "完成": "done"}
MAX_NOTE = 500


@dataclass(frozen=True)
class Reason:
    key: str  # a message id of accountability.po (acc.reason.*)
    params: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    status: str
    note: str
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class Line:
    number: int
    key: str  # "explain:<person code>", "report:<unit code>", "review:<unit code>", "record:<person code>"
    kind: str
    who: str  # the person's or the unit's name
    code: str
    reasons: list[Reason]
    people: list[str] = field(default_factory=list)  # report: the unit's cadres
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Accountability:
    year: int
    status: str  # the round's
    live: bool
    lines: list[Line]


def _year_span(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


async def _leaders(s: AsyncSession, county: CountyResult) -> list[tuple[str, str, list[Reason]]]:
    """(person code, name, reasons) of every leader who must explain."""
    incomplete: dict[str, list[str]] = defaultdict(list)  # target code -> units not complete
    failed_units = {u.unit_code: u.failed_targets for u in county.units if u.failed_targets}
    for u in county.units:
        for line in u.lines:
            if not line.complete:
                incomplete[line.target_code].append(u.unit_code)
    reasons: dict[int, list[Reason]] = defaultdict(list)
    heads = {g.code: g for g in county.groups if not g.complete}
    if heads:
        for pid, gcode in (await s.exec(select(LeadingGroup.head_person_id, LeadingGroup.code).where(
                col(LeadingGroup.code).in_(sorted(heads))))).all():
            if pid is not None:
                g = heads[gcode]
                reasons[pid].append(Reason("acc.reason.line", {
                    "group": g.name, "code": g.code,
                    "failing": ", ".join(f"{t}/{u}" for t, u in g.failing)}))
    links = (await s.exec(
        select(LeaderLink.leader_person_id, LeaderLink.kind, Target.code, Unit.code)
        .outerjoin(Target, col(Target.id) == col(LeaderLink.target_id))
        .outerjoin(Unit, col(Unit.id) == col(LeaderLink.unit_id))
        .order_by(col(LeaderLink.id)))).all()
    for pid, kind, tcode, ucode in links:
        if tcode and incomplete.get(tcode):
            reasons[pid].append(Reason(f"acc.reason.link_{kind}", {
                "code": tcode, "units": ", ".join(sorted(incomplete[tcode]))}))
        elif ucode and failed_units.get(ucode):
            reasons[pid].append(Reason(f"acc.reason.link_{kind}", {
                "code": ucode, "units": ", ".join(failed_units[ucode])}))
    if not reasons:
        return []
    people = {p.id: p for p in (await s.exec(select(Person).where(col(Person.id).in_(sorted(reasons))))).all()}
    return sorted(((people[pid].code, people[pid].name, rs) for pid, rs in reasons.items() if pid in people),
                  key=lambda x: x[0])


async def _cadres(s: AsyncSession, unit_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if not unit_ids:
        return out
    rows = (await s.exec(
        select(RoleMembership.unit_id, Person.name).join(Person, col(Person.id) == col(RoleMembership.person_id))
        .where(RoleMembership.role == Role.CADRE.value, col(RoleMembership.unit_id).in_(unit_ids),
               col(Person.active).is_(True))
        .order_by(col(Person.code)))).all()
    for uid, name in rows:
        if uid is not None and name not in out[uid]:
            out[uid].append(name)
    return out


async def records(s: AsyncSession, year: int, tz: ZoneInfo) -> list[tuple[str, str, dict[str, int]]]:
    """(person code, name, counts) of every person with something on their year's record: ``missed``
    (missing-report reminders sent to them), ``mismatch`` (visits whose verified value differed from the
    claimed value of a report they made last before the visit), ``unacknowledged`` (alerts sent to them
    that nobody acknowledged)."""
    start, end = _year_span(year, tz)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"missed": 0, "mismatch": 0, "unacknowledged": 0})
    base = (select(AlertDelivery.person_id, func.count(func.distinct(AlertDelivery.alert_id)))
            .join(Alert, col(Alert.id) == col(AlertDelivery.alert_id))
            .where(Alert.created_at >= start, Alert.created_at < end)
            .group_by(col(AlertDelivery.person_id)))
    for pid, n in (await s.exec(base.where(Alert.kind == "missing_report"))).all():
        counts[pid]["missed"] = int(n)
    for pid, n in (await s.exec(base.where(col(Alert.acknowledged_at).is_(None)))).all():
        counts[pid]["unacknowledged"] = int(n)
    visits = (await s.exec(select(Inspection.assignment_id, Inspection.visited_at).where(
        Inspection.visited_at >= start, Inspection.visited_at < end, col(Inspection.assignment_id).is_not(None),
        col(Inspection.verified_value).is_not(None), col(Inspection.claimed_value).is_not(None),
        col(Inspection.verified_value) != col(Inspection.claimed_value)))).all()
    for aid, at in visits:
        reporter = (await s.exec(select(ProgressReport.reporter_person_id).where(
            ProgressReport.assignment_id == aid, ProgressReport.confirmed_at <= at)
            .order_by(col(ProgressReport.id).desc()).limit(1))).first()
        if reporter is not None:
            counts[reporter]["mismatch"] += 1
    if not counts:
        return []
    people = {p.id: p for p in (await s.exec(select(Person).where(col(Person.id).in_(sorted(counts))))).all()}
    return sorted(((people[pid].code, people[pid].name, dict(c)) for pid, c in counts.items()
                   if pid in people and any(c.values())), key=lambda x: x[0])


async def lines_of(s: AsyncSession, county: CountyResult, tz: ZoneInfo) -> list[Line]:
    """Every accountability line of the year, numbered, with its recorded outcome."""
    raw: list[tuple[str, str, str, str, list[Reason], list[str]]] = []
    for code, name, reasons in await _leaders(s, county):
        raw.append(("explain", f"explain:{code}", name, code, reasons, []))
    failed = [u for u in sorted(county.units, key=lambda u: u.unit_code) if u.failed_targets]
    cadres = await _cadres(s, [u.unit_id for u in failed])
    for u in failed:
        raw.append(("report", f"report:{u.unit_code}", u.unit_name, u.unit_code,
                    [Reason("acc.reason.failed", {"codes": ", ".join(u.failed_targets)})], cadres.get(u.unit_id, [])))
    for u in sorted((u for u in county.units if u.bottom), key=lambda u: (u.unit_class, u.rank)):
        raw.append(("review", f"review:{u.unit_code}", u.unit_name, u.unit_code,
                    [Reason("acc.reason.bottom", {"unit_class": u.unit_class, "rank": str(u.rank),
                                                  "size": str(u.class_size)})], []))
    for code, name, c in await records(s, county.year, tz):
        raw.append(("record", f"record:{code}", name, code,
                    [Reason("acc.reason.record", {k: str(v) for k, v in c.items()})], []))
    outcomes = {o.line_key: o for o in (await s.exec(select(AccountabilityOutcome).where(
        AccountabilityOutcome.year == county.year))).all()}
    names = {}
    ids = {o.recorded_by_person_id for o in outcomes.values()} - {None}
    if ids:
        names = {p.id: p.name for p in (await s.exec(select(Person).where(col(Person.id).in_(sorted(ids))))).all()}
    out = []
    for n, (kind, key, name, code, reasons, people) in enumerate(raw, start=1):
        o = outcomes.get(key)
        outcome = Outcome(o.status, o.note, o.recorded_at, names.get(o.recorded_by_person_id, "")) if o else None
        out.append(Line(n, key, kind, name, code, reasons, people, outcome))
    return out


async def _admin(s: AsyncSession, user_id: int) -> Person:
    person = await active_person(s, user_id)
    roles = set((await s.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))).all())
    if Role.ADMIN.value not in roles:
        raise DomainError("acc.not_allowed")
    return person


async def _round(s: AsyncSession, year: int | None) -> AssessmentRound:
    return await (rounds.get_round(s, year) if year is not None else rounds.latest_round(s))


async def accountability(year: int | None, *, uow: UnitOfWork, clock: Clock, user_id: int | None = None,
                         tz: ZoneInfo | None = None) -> Accountability:
    """The year's lines (default: the latest round's); ``user_id``: only for an admin."""
    tz = tz or clock.tz
    async with uow:
        s = uow.session
        if user_id is not None:
            await _admin(s, user_id)
        rnd = await _round(s, year)
        res = await rounds.results_in(s, rnd, tz, clock=clock)
        return Accountability(rnd.year, rnd.status, res.live, await lines_of(s, res.county, tz))


def parse_status(text: str) -> str:
    status = STATUSES.get(text.strip().lower())
    if status is None:
        raise DomainError("acc.bad_status", value=text.strip()[:20])
    return status


async def record_outcome(number: int, status: str, note: str, *, user_id: int, update_id: int | None,
                         uow: UnitOfWork, clock: Clock, year: int | None = None) -> Line:
    """Record what happened to line ``number`` (as /accountability numbers them): scheduled or done, with a
    note; audited with what stood before."""
    status = parse_status(status)
    note = " ".join(note.split())
    if len(note) > MAX_NOTE:
        raise DomainError("acc.note_long", max=MAX_NOTE)
    async with uow:
        s = uow.session
        person = await _admin(s, user_id)
        await updates.claim(s, update_id, clock)
        rnd = await _round(s, year)
        res = await rounds.results_in(s, rnd, clock.tz, clock=clock)
        lines = await lines_of(s, res.county, clock.tz)
        if not 1 <= number <= len(lines):
            raise DomainError("acc.bad_number", number=number, count=len(lines))
        line = lines[number - 1]
        row = (await s.exec(select(AccountabilityOutcome).where(
            AccountabilityOutcome.year == rnd.year, AccountabilityOutcome.line_key == line.key))).first()
        before = {"status": row.status, "note": row.note} if row else None
        if row is None:
            row = AccountabilityOutcome(year=rnd.year, line_key=line.key, status=status, recorded_at=clock.now())
        row.status, row.note, row.recorded_at = status, note, clock.now()
        row.recorded_by_person_id, row.update_id = person.id, update_id
        s.add(row)
        audit.record(s, clock, actor=person.code, action="accountability.outcome", entity="accountability_outcome",
                     key=f"{rnd.year}:{line.key}", before=before, after={"status": status, "note": note})
        await uow.commit()
        return Line(line.number, line.key, line.kind, line.who, line.code, line.reasons, line.people,
                    Outcome(status, note, clock.now(), person.name))
