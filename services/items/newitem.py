"""Opening a supervision item (交办) in chat: the ``newitem`` dialogue on the skeleton (services/core/dialogue.py).

UNITS (codes, names or a class) → DEADLINE (a date, or working days) → TASK (what is to be done: a text, or a
photo or document with a caption — a leader's instruction, 领导批示) → CONFIRM (more files may be sent here;
挂牌督办 toggled by a button) → Confirm writes the item (services/items/lifecycle.py ``open_item``).

Begun by /newitem (an admin or a leader) or from something that already says what is wrong, which fills the
steps it can (each shown with a Keep button, or skipped):
- an alert (``it:al:<alert>``, leaders and admins told of it): its unit, a task naming its target;
- an inspection (``rect:new:<inspection>`` / /rectify_new: its inspector, an admin or a leader): its unit
  (fixed: a rectification, 整改), the findings as the task; the dialogue starts at DEADLINE;
- a published criticism notice (``it:nt:<notice>``, admins): the units it named.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t
from models.alerts import Alert, AlertDelivery
from models.db import UnitOfWork
from models.inspection import Inspection, Notice
from models.items import ItemPart, SupervisionItem
from models.people import Person
from models.plan import Assignment, Target, Unit
from services.calendar.workdays import WorkCalendar, read_calendar
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DialogueEnded, DomainError
from services.core.text import parse_date
from services.items import attach, lifecycle, records, scope, units

MIN_TEXT, MAX_TEXT = 2, 2000
MAX_WORKDAYS, MAX_DAYS_AHEAD = 250, 3 * 366
_CALENDAR_DAYS = re.compile(r"^(?:\+\s*(\d{1,4})\s*(?:天|日|d|days?)?|(\d{1,4})\s*(?:天|日|d|days?))$", re.I)
_WORKDAYS = re.compile(r"^\+?\s*(\d{1,3})\s*(?:个)?\s*(?:工作日|working\s*days?|wd)?$", re.I)


class Step(StrEnum):
    UNITS = "units"
    DEADLINE = "deadline"
    TASK = "task"
    CONFIRM = "confirm"
    DONE = DONE


@dataclass(frozen=True)
class Snapshot:
    """What the user is shown of the dialogue at any step."""
    serial: int
    step: Step
    today: date
    # source, origin {kind, number, unit/title/findings}, units [[id, code, name]], deadline (ISO), task,
    # suggested (a task to keep), photos (evidence ids), flagged, item_id, told
    draft: dict[str, Any]
    notice: str | None = None


def parse_deadline(text: str, today: date, cal: WorkCalendar) -> date:
    """A date (``2027-04-30``, ``2027/4/30``, ``2027年4月30日``), working days from today (``5``, ``5个工作日``,
    ``5 working days``) or calendar days (``+14``, ``14天``); not in the past, at most three years ahead."""
    typed = unicodedata.normalize("NFKC", (text or "").strip())
    try:
        if m := _CALENDAR_DAYS.match(typed):
            day = today + timedelta(days=int(m[1] or m[2]))
        elif m := _WORKDAYS.match(typed):
            if not 1 <= int(m[1]) <= MAX_WORKDAYS:
                raise DomainError("items.bad_workdays", max=MAX_WORKDAYS)
            day = cal.add_workdays(today, int(m[1]))
        else:
            day = parse_date(typed)
    except ValueError:
        raise DomainError("items.bad_date", text=typed[:40]) from None
    if day < today:
        raise DomainError("items.date_past", date=day.isoformat(), today=today.isoformat())
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise DomainError("items.date_far", date=day.isoformat())
    return day


def _units(found: list[Unit]) -> list[list[Any]]:
    return [[u.id, u.code, u.name] for u in found]


class NewItemDialogue(Dialogue[Snapshot]):
    name = "newitem"
    no_draft = "items.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        return Snapshot(draft.serial, Step(draft.step), clock.now().date(),
                        {**draft.data, "serial": draft.serial}, notice=extra.get("notice"))


DIALOGUE = NewItemDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


# ---------------------------------------------------------------------------------- where it starts
async def _from_inspection(s: AsyncSession, person: Person, r: scope.Reach, number: int) -> dict[str, Any]:
    insp = await s.get(Inspection, number)
    if insp is None or not (insp.inspector_person_id == person.id or r.may_open()):
        raise DialogueEnded("items.not_your_inspection", number=number)
    unit = await s.get(Unit, insp.unit_id)
    if unit is None or not unit.active:
        raise DialogueEnded("items.units_changed")
    return {"source": "inspection", "inspection_id": number, "units": _units([unit]),
            "suggested": insp.findings.strip()[:MAX_TEXT] or None,
            "origin": {"kind": "inspection", "number": number, "unit": unit.name, "findings": insp.findings}}


async def _from_alert(s: AsyncSession, person: Person, r: scope.Reach, number: int) -> dict[str, Any]:
    alert = await s.get(Alert, number)
    told = (await s.exec(select(AlertDelivery.id).where(AlertDelivery.alert_id == number,
                                                        AlertDelivery.person_id == person.id))).first()
    if alert is None or not r.may_open() or (told is None and not r.admin):
        raise DialogueEnded("items.unknown_alert", number=number)
    lang = person.language
    if alert.assignment_id is not None:
        row = (await s.exec(select(Target, Unit).join(Assignment, col(Assignment.target_id) == col(Target.id))
                            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                            .where(Assignment.id == alert.assignment_id))).first()
        if row is None:
            raise DialogueEnded("items.unknown_alert", number=number)
        target, unit = row
        kind = alert.kind if alert.kind in ("pace", "overdue", "deadline", "missing_report") else "other"
        task = t(f"items.task_from_alert.{kind}", lang, title=target.title, code=target.code, unit=unit.name)
        title = f"{target.title}（{target.code}）"
    else:  # an item's own reminder: the same task, for the same unit
        part = await s.get(ItemPart, int((alert.details or {}).get("part_id") or 0))
        item = await s.get(SupervisionItem, part.item_id) if part is not None else None
        unit = await s.get(Unit, part.unit_id) if part is not None else None
        if part is None or item is None or unit is None:
            raise DialogueEnded("items.unknown_alert", number=number)
        task, title = item.task, f"#{item.id}"
    return {"source": "alert", "alert_id": number, "units": _units([unit] if unit.active else []),
            "suggested": task[:MAX_TEXT], "origin": {"kind": "alert", "number": number, "title": title,
                                                     "unit": unit.name}}


async def _from_notice(s: AsyncSession, r: scope.Reach, number: int) -> dict[str, Any]:
    notice = await s.get(Notice, number)
    if notice is None or not r.admin or notice.status != "published":
        raise DialogueEnded("items.unknown_notice", number=number)
    named = list((await s.exec(select(Unit).where(col(Unit.code).in_(notice.units or []), Unit.active == True)  # noqa: E712
                               .order_by(col(Unit.code)))).all())
    return {"source": "notice", "notice_id": number, "units": _units(named),
            "suggested": t("items.task_from_notice", r.person.language, title=notice.title),
            "origin": {"kind": "notice", "number": number, "title": notice.title}}


async def begin(source: str, number: int | None = None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                clock: Clock) -> Snapshot:
    """Start opening an item: ``instruction`` (/newitem), or from an ``inspection``, ``alert`` or ``notice``."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        r = await scope.reach(s, person)
        if source == "inspection":
            data = await _from_inspection(s, person, r, number or 0)
        elif not r.may_open():
            raise DialogueEnded("items.not_opener")
        elif source == "alert":
            data = await _from_alert(s, person, r, number or 0)
        elif source == "notice":
            data = await _from_notice(s, r, number or 0)
        else:
            data = {"source": "instruction", "units": []}
        data |= {"photos": [], "flagged": False}
        first = Step.DEADLINE if source == "inspection" else Step.UNITS
        draft = await DIALOGUE.open(s, clock, conv, first, data, serial=update_id)
        return await DIALOGUE.snapshot(s, clock, draft)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


# ---------------------------------------------------------------------------------- the steps
async def advance(at: Step, value: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                  clock: Clock) -> Snapshot:
    """A text at ``at`` (None: keep what the step suggests): the units, the deadline, the task."""
    clean = " ".join((value or "").split()) if at != Step.TASK else (value or "").strip()

    async def work(turn: Turn[Snapshot]) -> Snapshot:
        s, d = turn.session, turn.draft.data
        if at == Step.UNITS:
            if value is not None:
                d["units"] = _units(await units.resolve(s, clean))
            elif not d.get("units"):
                raise DomainError("items.units_empty")
            step = Step.DEADLINE
        elif at == Step.DEADLINE:
            d["deadline"] = parse_deadline(clean, clock.now().date(), await read_calendar(s)).isoformat()
            step = Step.CONFIRM if d.get("task") else Step.TASK
        else:
            task = clean if value is not None else (d.get("suggested") or "")
            if len(task) < MIN_TEXT:
                raise DomainError("items.text_short", min=MIN_TEXT)
            d["task"], step = task[:MAX_TEXT], Step.CONFIRM
        return await DIALOGUE.move(turn, step)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(at,), work=work)


# A photo or document at TASK (its caption, if any, is the task) or at CONFIRM (one more attachment).
add_file, may_add_file = attach.file_steps(DIALOGUE, Step.TASK, Step.CONFIRM, "task", MIN_TEXT,
                                              MAX_TEXT)


async def toggle_flag(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """挂牌督办 on or off, on the summary."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        turn.draft.data["flagged"] = not turn.draft.data.get("flagged")
        return await DIALOGUE.move(turn, Step.CONFIRM)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CONFIRM,), work=work)


async def confirm(serial: int, sign_hours: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                  clock: Clock) -> Snapshot:
    """Write the item (交办), in the press's transaction; a second press answers like the first."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        s, d, person = turn.session, turn.draft.data, turn.person
        assert person is not None
        r = await scope.reach(s, person)
        if d["source"] == "inspection":
            await _from_inspection(s, person, r, d["inspection_id"])  # still theirs to open
        elif not r.may_open():
            raise DialogueEnded("items.not_opener")
        cal = await read_calendar(s)
        deadline = parse_deadline(d["deadline"], clock.now().date(), cal)  # the day may have passed since
        item, told = await lifecycle.open_item(
            s, clock, person, source=d["source"], unit_ids=[u[0] for u in d["units"]], deadline=deadline,
            task=d["task"], flagged=bool(d.get("flagged")), photos=d["photos"], sign_hours=sign_hours, cal=cal,
            inspection_id=d.get("inspection_id"), alert_id=d.get("alert_id"), notice_id=d.get("notice_id"))
        d["item_id"], d["told"] = item.id, told
        return await DIALOGUE.move(turn, Step.DONE)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write)


async def opened(item_id: int, *, uow: UnitOfWork, clock: Clock) -> records.ItemView | None:
    """The item a finished dialogue opened, as it stands now."""
    async with uow:
        s = uow.session
        return await records.one(s, item_id, now=clock.now(), cal=await read_calendar(s))
