"""Checking the audit chain (services/core/audit.py says how it is built) and publishing its head.

``verify`` walks every row in id order and names the first that does not match: its stored ``prev_hash`` is
not the previous row's hash (a row before it was deleted or inserted, or rows were reordered), or its
``row_hash`` is not the hash of its contents (the row was changed). Hashes received earlier (``known``) must
be in the chain. ``push_daily_head`` sends the number of rows and the head hash to every active, joined admin
once a day, outside quiet hours, through the outbox: a rewrite of the whole chain is then caught against what
the admins already hold (``duban audit verify --known HASH``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import normalise_language, th
from models.core import AuditLog, KeyValue
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from services.core import outbox
from services.core.audit import GENESIS, digest
from services.core.clock import Clock

PAGE = 2000  # rows read per query while walking the chain
HEAD_KIND = "audit.head"
HEAD_DAY = "audit.head_day"  # kv: the last county day whose head was published
# Plain rows, not model instances: the walk reads every row once (about twice as fast).
_COLUMNS = tuple(getattr(AuditLog, c) for c in ("id", "at", "actor", "action", "entity", "entity_key", "before",
                                                 "after", "prev_hash", "row_hash"))


@dataclass(frozen=True)
class Break:
    """The first row that does not match: ``link`` (its predecessor is not the row before it) or ``content``."""

    id: int
    at: datetime
    action: str
    kind: str
    previous_id: int | None  # the last row that matched


@dataclass(frozen=True)
class Verdict:
    count: int  # rows that matched, in order (every row when the chain is intact)
    head: str  # the hash of the last row that matched
    broken: Break | None = None
    known: dict[str, int | None] = field(default_factory=dict)  # hash given -> id of the row carrying it

    @property
    def ok(self) -> bool:
        return self.broken is None and all(v is not None for v in self.known.values())


@dataclass(frozen=True)
class HeadPush:
    day: date
    count: int
    head: str
    queued: int  # admins queued a message


async def verify(*, uow: UnitOfWork, known: Iterable[str] = ()) -> Verdict:
    """Walk the chain in id order, a page at a time, up to the first row that does not match."""
    wanted: dict[str, int | None] = {h: None for h in known}
    prev, count, last_id = GENESIS, 0, 0
    async with uow:
        while True:
            page = (await uow.session.exec(select(*_COLUMNS).where(col(AuditLog.id) > last_id)
                                           .order_by(col(AuditLog.id)).limit(PAGE))).all()
            for row in page:
                assert row.id is not None
                kind = "link" if row.prev_hash != prev else "content" if row.row_hash != digest(prev, row) else None
                if kind is not None:
                    return Verdict(count, prev, Break(row.id, row.at, row.action, kind, last_id or None), wanted)
                assert row.row_hash is not None
                prev, count, last_id = row.row_hash, count + 1, row.id
                if prev in wanted:
                    wanted[prev] = row.id
            if len(page) < PAGE:
                return Verdict(count, prev, None, wanted)


async def chain_head(session: AsyncSession) -> tuple[int, str]:
    """How many rows the log has and the hash of the last (one statement: one snapshot)."""
    last = select(AuditLog.row_hash).order_by(col(AuditLog.id).desc()).limit(1).scalar_subquery()
    count, head = (await session.exec(select(func.count(col(AuditLog.id)), last))).one()
    return count, head or GENESIS


async def _admins(session: AsyncSession) -> list[Person]:
    return list((await session.exec(
        select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.ADMIN.value, Person.active == True,  # noqa: E712
               col(Person.joined_at).is_not(None), col(Person.telegram_user_id).is_not(None))
        .distinct().order_by(col(Person.id)))).all())


async def push_daily_head(
    moment: datetime, *, uow: UnitOfWork, clock: Clock, quiet: Callable[[time], bool]
) -> HeadPush | None:
    """Once a county day, at the first call outside quiet hours (``quiet``: the pushes' rule): queue the row
    count and head hash to every active, joined admin (outbox key ``audit.head:<day>``, so a day is sent once
    per admin) and note the day. None when not due (quiet hours, or the day's head already went out)."""
    local = moment.astimezone(clock.tz)
    if quiet(local.time()):
        return None
    day = local.date()
    async with uow:
        s = uow.session
        marker = await s.get(KeyValue, HEAD_DAY)
        if marker is not None and marker.value == day.isoformat():
            return None
        count, head = await chain_head(s)
        queued = 0
        for admin in await _admins(s):
            text = th("audit.head_push", normalise_language(admin.language), date=day.isoformat(), count=count,
                      head=head)
            if await outbox.enqueue_to_person(s, clock, admin, text=text, kind=HEAD_KIND, parse_mode="HTML",
                                              dedup_key=f"audit.head:{day.isoformat()}"):
                queued += 1
        if marker is None:
            s.add(KeyValue(key=HEAD_DAY, value=day.isoformat(), updated_at=clock.now()))
        else:
            marker.value, marker.updated_at = day.isoformat(), clock.now()
            s.add(marker)
        try:
            await uow.commit()
        except IntegrityError:  # the bot's tick and `duban jobs tick` at once: the other one sent the day's head
            return None
    return HeadPush(day, count, head, queued)
