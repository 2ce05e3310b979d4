"""/items (督办) and /rectify: each person's supervision items with their lights, a page at a time, read from
the database each time (so a page button always shows the items as they stand); an item's card with what the
reader may do with each part; the files of a part or of the item.

Who sees what (services/items/scope.py): a cadre their units' parts, a leader their linked units' and leading
group's, everyone the items they opened (with every part), an admin all. Only open items are listed; worst
light first, then the oldest deadline. Filters (arguments of /items): a light (red, 红, yellow, 黄, green, 绿,
waiting, 待核查), a unit (code or name) and an opener (code or name). /rectify lists items from inspections
(整改) only.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.db import UnitOfWork
from models.items import ItemFile, ItemNote, ItemPart, SupervisionItem
from models.people import Person
from models.plan import Unit
from services.calendar.workdays import read_calendar
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.items import scope
from services.items.lights import Light, worst
from services.items.records import ItemView, NoteView, PartView, load, notes

PAGE = 8
MAX_PARTS_SHOWN = 8
MAX_FILES_SENT = 10
LIGHT_WORDS = {Light.RED: ("red", "红", "红灯"), Light.YELLOW: ("yellow", "黄", "黄灯"),
               Light.GREEN: ("green", "绿", "绿灯"), Light.WAITING: ("waiting", "待核查", "核查")}


@dataclass(frozen=True)
class Filter:
    light: Light | None = None
    unit_id: int | None = None
    opener_id: int | None = None
    inspections: bool = False  # /rectify: items opened from inspections only
    labels: tuple[str, ...] = ()  # how the reader named the filters

    def key(self) -> str:
        """The filter in a page button's data (ids, not names: callback data is at most 64 bytes)."""
        return ".".join((self.light.value[0] if self.light else "-", "i" if self.inspections else "-",
                         str(self.unit_id or "-"), str(self.opener_id or "-")))

    @classmethod
    def from_key(cls, key: str) -> Filter:
        light, source, unit, opener = (key.split(".") + ["-"] * 4)[:4]
        lights = {x.value[0]: x for x in LIGHT_WORDS}
        return cls(lights.get(light), int(unit) if unit.isdigit() else None,
                   int(opener) if opener.isdigit() else None, source == "i")


@dataclass(frozen=True)
class Page:
    items: list[ItemView]
    page: int  # 0-based
    pages: int
    total: int
    counts: dict[Light, int]  # over every listed item, not just this page
    filter: Filter
    role: str  # admin / leader / cadre / other: which list this is


@dataclass(frozen=True)
class Card:
    item: ItemView
    parts: list[PartView]  # those shown (the reader's first, reported ones first for a verifier)
    hidden: int  # parts not shown
    notes: dict[int, list[NoteView]]
    actions: dict[int, list[str]] = field(default_factory=dict)  # sign / progress / done / verify
    verifier: bool = False


async def parse_filter(s: AsyncSession, words: list[str], inspections: bool = False) -> Filter:
    light = unit = opener = None
    labels = []
    for raw in words:
        word = unicodedata.normalize("NFKC", raw).strip()
        low = word.lower()
        found_light = next((x for x, names in LIGHT_WORDS.items() if low in names), None)
        if found_light is not None:
            light = found_light
        elif (u := (await s.exec(select(Unit).where(
                (func.lower(Unit.code) == low) | (Unit.name == word)))).first()) is not None:
            unit = u.id
        elif (p := (await s.exec(select(Person).where(
                (func.lower(Person.code) == low) | (Person.name == word)))).first()) is not None:
            opener = p.id
        else:
            raise DomainError("items.filter_unknown", word=word[:40])
        labels.append(word[:40])
    return Filter(light, unit, opener, inspections, tuple(labels))


def _role(r: scope.Reach) -> str:
    return "admin" if r.admin else "leader" if r.leader else "cadre" if r.cadre_units else "other"


def _narrow(items: list[ItemView], r: scope.Reach, unit_id: int | None) -> list[ItemView]:
    """Each item as the reader sees it: the parts they answer for or watch (all, for its opener and admins)."""
    out = []
    for item in items:
        mine = r.admin or item.opener_id == r.person.id
        keep = [p for p in item.parts if (mine or p.unit_id in r.cadre_units | r.leader_units)
                and (unit_id is None or p.unit_id == unit_id)]
        if keep:
            out.append(replace(item, parts=tuple(keep), light=worst(p.light for p in keep)))
    return out


async def listing(words: list[str] | None, page: int, key: str | None, *, user_id: int, uow: UnitOfWork,
                  clock: Clock, inspections: bool = False) -> Page:
    """A page of the person's open items; ``words`` (the command's arguments) or ``key`` (a page button's)
    filter them."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        r = await scope.reach(s, person)
        flt = Filter.from_key(key) if key is not None else await parse_filter(s, words or [], inspections)
        where: list[Any] = [SupervisionItem.state == "open"]
        if (seen := scope.visible(r)) is not None:
            where.append(seen)
        if flt.inspections:
            where.append(SupervisionItem.source == "inspection")
        if flt.opener_id is not None:
            where.append(SupervisionItem.opened_by_person_id == flt.opener_id)
        found = await load(s, and_(*where), now=clock.now(), cal=await read_calendar(s))
        items = _narrow(found, r, flt.unit_id)
        counts: dict[Light, int] = {}
        for item in items:
            counts[item.light] = counts.get(item.light, 0) + 1
        if flt.light is not None:
            items = [i for i in items if i.light == flt.light]
        pages = max(1, -(-len(items) // PAGE))
        page = min(max(page, 0), pages - 1)
        return Page(items[page * PAGE:(page + 1) * PAGE], page, pages, len(items), counts, flt, _role(r))


async def card(item_id: int, *, user_id: int, uow: UnitOfWork, clock: Clock) -> Card:
    """An item for someone who sees it: its parts (theirs first), their latest notes, what they may do."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        r = await scope.reach(s, person)
        row = await s.get(SupervisionItem, item_id)
        found = await load(s, SupervisionItem.id == item_id, now=clock.now(), cal=await read_calendar(s))
        if row is None or not found or not r.sees(row, {p.unit_id for p in found[0].parts}):
            raise DomainError("items.unknown", number=item_id)
        item, verifier = found[0], r.may_verify(row)
        ordered = sorted(item.parts, key=lambda p: (not r.may_work(p.unit_id),
                                                     not (verifier and p.state == "reported"), p.unit_code))
        if not (r.admin or row.opened_by_person_id == person.id or r.leader):
            ordered = [p for p in ordered if p.unit_id in r.cadre_units | r.leader_units]
        shown = ordered[:MAX_PARTS_SHOWN]
        actions: dict[int, list[str]] = {}
        for p in shown:
            if r.may_work(p.unit_id) and p.state == "assigned":
                actions[p.id] = ["sign"]
            elif r.may_work(p.unit_id) and p.state == "signed":
                actions[p.id] = ["progress", "done"]
            elif verifier and p.state == "reported":
                actions[p.id] = ["verify"]
        return Card(item, shown, len(ordered) - len(shown), {p.id: await notes(s, p.id, 3) for p in shown},
                    actions, verifier)


async def files(item_id: int | None, part_id: int | None = None, *, user_id: int, uow: UnitOfWork,
                clock: Clock) -> list[tuple[str, str]]:
    """(storage key, mime type) of an item's own files, or of a part's latest report (without one: of its
    notes), for someone who sees the item; at most ``MAX_FILES_SENT``."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        r = await scope.reach(s, person)
        if part_id is not None:
            part = await s.get(ItemPart, part_id)
            if part is None:
                raise DomainError("items.unknown_part", number=part_id)
            item_id = part.item_id
        row = await s.get(SupervisionItem, item_id)
        units = set((await s.exec(select(ItemPart.unit_id).where(ItemPart.item_id == item_id))).all())
        if row is None or not r.sees(row, units):
            raise DomainError("items.unknown", number=item_id or 0)
        query = select(EvidenceFile.storage_key, EvidenceFile.mime_type).join(
            ItemFile, col(ItemFile.evidence_id) == col(EvidenceFile.id)).where(ItemFile.item_id == item_id)
        if part_id is None:
            query = query.where(col(ItemFile.note_id).is_(None))
        else:
            assert part is not None
            reports = select(ItemNote.id).where(ItemNote.part_id == part_id, ItemNote.kind == "report",
                                                ItemNote.submission == part.reports)
            everything = select(ItemNote.id).where(ItemNote.part_id == part_id)
            query = query.where(col(ItemFile.note_id).in_(reports if part.reports else everything))
        rows = (await s.exec(query.order_by(col(ItemFile.id).desc()).limit(MAX_FILES_SENT))).all()
        return [(k, m) for k, m in reversed(rows)]


async def part_item(part_id: int, *, uow: UnitOfWork) -> int:
    """The item a part belongs to (old buttons carry a part's number)."""
    async with uow:
        part = await uow.session.get(ItemPart, part_id)
        if part is None:
            raise DomainError("items.unknown_part", number=part_id)
        return part.item_id
