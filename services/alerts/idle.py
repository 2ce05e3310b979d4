"""An idle tick: nothing due and nothing changed since the last tick, known from two cheap reads.

The tick (services/alerts/tick.py) is a function of the database and of the moment, and within one day the
moment counts only through the day itself, whether ordinary and urgent pushes are allowed (working day, quiet
hours) and which parts' 签收 are late (``sign_due_at`` passed). ``Mark`` is all of that: the day, the two
flags, the late parts, and for every table the tick reads its highest id (the small ones their size too) and
the columns people change in place (alerts acknowledged, climbed or resolved, people joined or gone, visits
held, notices answered, parts signed or reported), plus the head of the audit log, which every change to the
plan, people, progress (evidence accepted too), evidence and items writes to. When a tick that changed nothing
(no alert raised, climbed or resolved, nothing queued, the same mark before and after) left a mark, and the
next tick reads the same mark, that tick would do exactly the same nothing: ``Memory`` lets it return at once
instead of reading every assignment's standing. Any change, by this process or another, moves the mark, and
the tick after it is a full one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.alerts import Alert, AlertDelivery, Mute, WarningNotice
from models.calendar import CalendarYear
from models.core import AuditLog
from models.inspection import EvidenceFacts, Inspection
from models.items import ItemPart, SupervisionItem
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit
from models.progress import ProgressReport, TargetAdjustment

# Tables with an ``id``: their highest id (rows added); the small ones their size too (rows deleted: only the
# plan's pruning deletes, which the audit log records as well).
_COUNTED = (Unit, Target, Assignment, LeadingGroup, LeaderLink, TargetAdjustment, Inspection, WarningNotice, Mute,
            Person, RoleMembership, SupervisionItem, ItemPart)
_GROWING = (ProgressReport, Alert, AlertDelivery, AuditLog)


@dataclass(frozen=True)
class Mark:
    day: date
    allowed: tuple[bool, bool]  # ordinary pushes, urgent pushes
    state: tuple[Any, ...]


def _n(table: Any, *where: Any) -> Any:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


async def mark(session: AsyncSession, now: datetime, allowed: tuple[bool, bool]) -> Mark:
    """The day, the flags and the database's state as far as the tick is concerned, in two statements (the
    alerts in one pass)."""
    columns: list[Any] = [select(func.max(col(table.id))).scalar_subquery() for table in _COUNTED + _GROWING]
    columns += [_n(table) for table in _COUNTED]
    reachable = (Person.active == True, col(Person.telegram_user_id).is_not(None),  # noqa: E712
                 col(Person.unreachable_at).is_(None))
    columns += [
        _n(Person, *reachable), select(func.sum(col(Person.id))).where(*reachable).scalar_subquery(),
        select(func.max(col(Person.joined_at))).scalar_subquery(),
        _n(WarningNotice, col(WarningNotice.answered_at).is_not(None)), _n(Mute, Mute.until >= now.date()),
        _n(Inspection, Inspection.confirmation == "pending"),
        _n(EvidenceFacts), _n(CalendarYear), select(func.max(col(CalendarYear.loaded_at))).scalar_subquery(),
        _n(SupervisionItem, SupervisionItem.state == "open"), _n(SupervisionItem, col(SupervisionItem.flagged)),
        _n(ItemPart, ItemPart.state == "assigned"), _n(ItemPart, ItemPart.state == "signed"),
        _n(ItemPart, ItemPart.state == "assigned", ItemPart.sign_due_at <= now),
    ]
    row = (await session.exec(select(literal(1), *columns))).one()  # type: ignore[call-overload]
    alerts = (await session.exec(select(  # type: ignore[call-overload]
        func.count(), func.count(case((Alert.state == "open", 1))), func.count(case((Alert.state == "resolved", 1))),
        func.sum(col(Alert.stage)), func.count(col(Alert.acknowledged_at)), func.max(col(Alert.stage_at))))).one()
    return Mark(now.date(), allowed, tuple(str(v) for v in (*row, *alerts)))


@dataclass
class Memory:
    """What the last tick that changed nothing left (kept by the caller between ticks: bot/app/jobs.py)."""

    last: Mark | None = None
    result: Any = None
    skipped: int = 0  # ticks answered from memory

    def same(self, now: Mark) -> Any:
        """The result the tick would give again, when nothing moved since the last tick that changed nothing."""
        if self.last is not None and self.last == now:
            self.skipped += 1
            return copy.deepcopy(self.result)
        return None

    def keep(self, before: Mark | None, after: Mark, result: Any) -> None:
        quiet = (result.alerts_created == 0 and result.escalated == 0 and result.resolved == 0
                 and result.outbox_rows == 0 and not result.messages and not result.pushes)
        if quiet and before == after:
            self.last, self.result = after, copy.deepcopy(result)
        else:
            self.last, self.result = None, None
