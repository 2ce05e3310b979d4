"""Supervision items as people read them: each item with its parts, the names people know them by and
each part's light (services/items/lights.py), read in the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.items import ItemFile, ItemNote, ItemPart, SupervisionItem
from models.people import Person
from models.plan import Unit
from services.calendar.workdays import WorkCalendar
from services.items.lights import RANK, Light, light, worst


@dataclass(frozen=True)
class PartView:
    id: int
    item_id: int
    unit_id: int
    unit_code: str
    unit_name: str
    state: str  # assigned / signed / reported / closed / rejected
    light: Light
    sign_due_at: datetime
    signed_at: datetime | None
    signer: str | None
    reported_at: datetime | None
    reports: int
    returns: int
    decided_at: datetime | None
    decider: str | None
    decision_note: str | None
    closed_at: datetime | None
    sign_late: bool = False  # assigned and past the time to sign for it


@dataclass(frozen=True)
class ItemView:
    id: int
    source: str  # instruction / inspection / alert / notice
    task: str
    deadline: date
    flagged: bool
    opener_id: int
    opener: str
    created_at: datetime
    state: str  # open / closed
    light: Light
    parts: tuple[PartView, ...]
    files: int  # attached to the item itself (the instruction's)
    inspection_id: int | None = None
    alert_id: int | None = None
    notice_id: int | None = None

    def part(self, part_id: int) -> PartView:
        return next(p for p in self.parts if p.id == part_id)

    @property
    def units(self) -> str:
        return "、".join(p.unit_name for p in self.parts)


@dataclass(frozen=True)
class NoteView:
    id: int
    part_id: int
    kind: str  # progress / report / issues / rejected / approved
    text: str
    author: str
    created_at: datetime
    submission: int
    files: int


def part_light(part: ItemPart, deadline: date, now: datetime, cal: WorkCalendar) -> Light:
    return light(state=part.state, deadline=deadline, sign_due_at=part.sign_due_at, now=now, cal=cal)


async def names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict((await session.exec(select(Person.id, Person.name).where(col(Person.id).in_(wanted)))).all())


async def load(session: AsyncSession, where: Any, *, now: datetime, cal: WorkCalendar,
               unit_ids: set[int] | None = None) -> list[ItemView]:
    """The items matching ``where`` (a clause on SupervisionItem, or None for all), with their parts (only
    those of ``unit_ids`` when given) and lights; worst light first, then the oldest deadline."""
    query = select(SupervisionItem)
    if where is not None:
        query = query.where(where)
    items = list((await session.exec(query)).all())
    if not items:
        return []
    ids = [i.id for i in items]
    parts: dict[int, list[tuple[ItemPart, Unit]]] = defaultdict(list)
    rows = (await session.exec(select(ItemPart, Unit).join(Unit, col(Unit.id) == col(ItemPart.unit_id))
                               .where(col(ItemPart.item_id).in_(ids)).order_by(col(Unit.code)))).all()
    for part, unit in rows:
        if unit_ids is None or part.unit_id in unit_ids:
            parts[part.item_id].append((part, unit))
    files = dict((await session.exec(select(ItemFile.item_id, func.count()).where(
        col(ItemFile.item_id).in_(ids), col(ItemFile.note_id).is_(None)).group_by(col(ItemFile.item_id)))).all())
    people = await names(session, [i.opened_by_person_id for i in items]
                         + [p.signed_by_person_id for ps in parts.values() for p, _ in ps]
                         + [p.decided_by_person_id for ps in parts.values() for p, _ in ps])
    out = []
    for item in items:
        views = tuple(PartView(
            p.id or 0, item.id or 0, p.unit_id, u.code, u.name, p.state, part_light(p, item.deadline, now, cal),
            p.sign_due_at, p.signed_at, people.get(p.signed_by_person_id or 0), p.reported_at, p.reports, p.returns,
            p.decided_at, people.get(p.decided_by_person_id or 0), p.decision_note, p.closed_at,
            p.state == "assigned" and now >= p.sign_due_at)
            for p, u in parts[item.id or 0])
        out.append(ItemView(
            item.id or 0, item.source, item.task, item.deadline, item.flagged, item.opened_by_person_id,
            people.get(item.opened_by_person_id, "?"), item.created_at, item.state,
            worst(p.light for p in views) if item.state == "open" else Light.DONE, views, int(files.get(item.id, 0)),
            item.inspection_id, item.alert_id, item.notice_id))
    out.sort(key=order)
    return out


def order(item: ItemView) -> tuple[int, date, int]:
    """Worst light first; among equals the oldest deadline, then the oldest item."""
    return RANK[item.light], item.deadline, item.id


async def one(session: AsyncSession, item_id: int, *, now: datetime, cal: WorkCalendar) -> ItemView | None:
    found = await load(session, SupervisionItem.id == item_id, now=now, cal=cal)
    return found[0] if found else None


async def notes(session: AsyncSession, part_id: int, limit: int = 5) -> list[NoteView]:
    """A part's latest notes, oldest first."""
    rows = list((await session.exec(select(ItemNote).where(ItemNote.part_id == part_id)
                                    .order_by(col(ItemNote.id).desc()).limit(limit))).all())
    authors = await names(session, [n.person_id for n in rows])
    counts = dict((await session.exec(select(ItemFile.note_id, func.count()).where(
        col(ItemFile.note_id).in_([n.id for n in rows])).group_by(col(ItemFile.note_id)))).all()) if rows else {}
    return [NoteView(n.id or 0, n.part_id, n.kind, n.text, authors.get(n.person_id, "?"), n.created_at,
                     n.submission, int(counts.get(n.id, 0))) for n in reversed(rows)]
