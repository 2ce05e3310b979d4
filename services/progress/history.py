"""What a cadre (or the office) reads about their targets: /mytargets and /history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Assignment, Target, Unit
from models.progress import ProgressReport, ReportAttachment, TargetAdjustment
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.people.viewer import cadre_unit_ids
from services.progress import notices
from services.progress.notices import NoticeLine
from services.progress.standings import Standing, standings


@dataclass(frozen=True)
class Mine:
    """/mytargets: the standings, most urgent first, and each assignment's latest warning notice (预警通知单)."""

    standings: list[Standing]
    notices: dict[int, NoticeLine]


async def my_targets(telegram_user_id: int, *, uow: UnitOfWork, clock: Clock) -> Mine:
    """The standings of every assignment of the person's cadre units, most urgent first, with their notices."""
    async with uow:
        person = await active_person(uow.session, telegram_user_id)
        units = await cadre_unit_ids(uow.session, person)
        if not units:
            raise DomainError("report.no_units")
        found = await standings(uow.session, as_of=clock.now().date(), tz=clock.tz, unit_ids=units)
        return Mine(found, await notices.latest(uow.session, [st.assignment_id for st in found]))


@dataclass(frozen=True)
class Entry:
    """One line of an assignment's history: a report, or an adjustment."""

    at: datetime
    kind: str  # report / correction / adjustment
    who: str
    value: Decimal | None = None
    note: str = ""
    files: int = 0
    number: int | None = None
    supersedes: int | None = None
    reason: str | None = None
    field: str | None = None
    old: str | None = None
    new: str | None = None
    status: str | None = None
    decided_by: str | None = None


@dataclass(frozen=True)
class History:
    assignment_id: int
    target_code: str
    title: str
    unit_name: str
    measure: str
    entries: list[Entry]


async def _may_see_all(session: AsyncSession, person: Person) -> bool:
    roles = (await session.exec(select(RoleMembership.role).where(RoleMembership.person_id == person.id))).all()
    return bool({Role.ADMIN.value, Role.LEADER.value, Role.INSPECTOR.value} & set(roles))


async def history(
    telegram_user_id: int, target_code: str | None, unit_code: str | None, *, uow: UnitOfWork,
    assignment_id: int | None = None,
) -> History:
    """Confirmed reports (corrections as such) and adjustments of one assignment, oldest first; the assignment
    named by its target's code (and unit code), or by its id (the page buttons of /history).

    A cadre sees their own units' assignments; the office, leaders and inspectors any (naming the
    unit when a target is split onto several)."""
    async with uow:
        s = uow.session
        person = await active_person(s, telegram_user_id)
        query = (
            select(Assignment, Target, Unit)
            .join(Target, col(Target.id) == col(Assignment.target_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        )
        if assignment_id is not None:
            query = query.where(Assignment.id == assignment_id)
        else:
            query = query.where(func.lower(Target.code) == (target_code or "").strip().lower())
        if unit_code:
            query = query.where(func.lower(Unit.code) == unit_code.strip().lower())
        if not await _may_see_all(s, person):
            query = query.where(col(Assignment.unit_id).in_(await cadre_unit_ids(s, person)))
        rows = (await s.exec(query.order_by(col(Unit.code)))).all()
        if not rows:
            raise DomainError("report.not_your_target")
        if len(rows) > 1:
            raise DomainError("history.which_unit", code=rows[0][1].code,
                              units=", ".join(u.code for _, _, u in rows[:20]))
        assignment, target, unit = rows[0]
        entries = await _entries(s, assignment)
        return History(assignment.id or 0, target.code, target.title, unit.name, target.measure, entries)


async def _entries(s: AsyncSession, assignment: Assignment) -> list[Entry]:
    reports = (
        await s.exec(
            select(ProgressReport).where(ProgressReport.assignment_id == assignment.id)
            .order_by(col(ProgressReport.id))
        )
    ).all()
    adjustments = (
        await s.exec(
            select(TargetAdjustment).where(TargetAdjustment.assignment_id == assignment.id)
            .order_by(col(TargetAdjustment.id))
        )
    ).all()
    ids = {r.reporter_person_id for r in reports} | {a.requested_by_person_id for a in adjustments}
    ids |= {a.decided_by_person_id for a in adjustments if a.decided_by_person_id}
    names = {p.id: p.name for p in (await s.exec(select(Person).where(col(Person.id).in_(ids)))).all()}
    counts = dict(
        (
            await s.exec(
                select(ReportAttachment.report_id, func.count())
                .where(col(ReportAttachment.report_id).in_([r.id for r in reports]))
                .group_by(col(ReportAttachment.report_id))
            )
        ).all()
    )
    entries = [
        Entry(at=r.confirmed_at, kind="correction" if r.correction_reason else "report",
              who=names.get(r.reporter_person_id, "?"), value=r.value, note=r.note, files=counts.get(r.id, 0),
              number=r.id, supersedes=r.supersedes_id, reason=r.correction_reason)
        for r in reports
    ]
    entries += [
        Entry(at=a.decided_at or a.requested_at, kind="adjustment", who=names.get(a.requested_by_person_id, "?"),
              reason=a.reason, field=a.field_name, old=a.old_value, new=a.new_value, status=a.status,
              decided_by=names.get(a.decided_by_person_id) if a.decided_by_person_id else None)
        for a in adjustments
    ]
    entries.sort(key=lambda e: e.at)
    return entries
