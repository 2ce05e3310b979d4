"""The lifecycle of a supervision item, one unit's part at a time; every step timestamped, audited
(``item.*`` in the audit log) and told through the outbox (services/items/pushes.py):

交办 ``open_item``: the item and one part per unit, each unit's cadres told; a part is due to be signed for
within the working hours the office set (DUBAN_ITEM_SIGN_HOURS) — late, its light turns yellow and the
scheduler climbs to the unit's linked leaders (services/items/reminders.py).
签收 ``sign``: a cadre of the unit signs for the part (assigned → signed).
办理 ``write_note(kind="progress")``: notes with photos while signed.
办结 ``write_note(kind="report")``: a completion report with evidence (signed → reported); the verifier is told.
核查 ``approve`` / ``decide``: the opener or an admin approves (→ closed, 销号), finds issues (→ signed again,
with the comment, for the unit to work on and report again) or rejects (→ rejected: closed, not done).
The item closes when every part is closed or rejected.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.items import ItemFile, ItemNote, ItemPart, SupervisionItem
from models.people import Person
from models.plan import Unit
from services.calendar.workdays import WorkCalendar, read_calendar
from services.core import audit, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.items import pushes, records, scope
from services.items.lights import sign_due
from services.items.records import ItemView


class Verdict(StrEnum):
    APPROVE = "approved"
    ISSUES = "issues"
    REJECT = "rejected"


FINAL = ("closed", "rejected")
ACTION = {Verdict.APPROVE: "approve", Verdict.ISSUES: "issues", Verdict.REJECT: "reject"}


def _audit(s: AsyncSession, clock: Clock, person: Person, action: str, key: str, before: dict[str, Any] | None,
           **after: Any) -> None:
    audit.record(s, clock, actor=f"person:{person.code}", action=f"item.{action}", entity="item", key=key,
                 before=before, after=after)


async def open_item(s: AsyncSession, clock: Clock, person: Person, *, source: str, unit_ids: list[int],
                    deadline: date, task: str, flagged: bool, photos: list[int], sign_hours: int,
                    cal: WorkCalendar, inspection_id: int | None = None, alert_id: int | None = None,
                    notice_id: int | None = None) -> tuple[SupervisionItem, int]:
    """交办: write the item, its parts and its files; tell each unit's cadres. Units no longer active are
    refused (nothing is written). Returns the item and how many cadres were told."""
    units = list((await s.exec(select(Unit).where(col(Unit.id).in_(unit_ids), Unit.active == True)  # noqa: E712
                               .order_by(col(Unit.code)))).all())
    if len(units) != len(set(unit_ids)) or not units:
        raise DomainError("items.units_changed")
    now = clock.now()
    item = SupervisionItem(source=source, inspection_id=inspection_id, alert_id=alert_id, notice_id=notice_id,
                           task=task, deadline=deadline, flagged=flagged, opened_by_person_id=person.id,
                           created_at=now, state="open")
    s.add(item)
    await s.flush()
    due = sign_due(now, sign_hours, cal)
    parts = [ItemPart(item_id=item.id, unit_id=u.id, state="assigned", assigned_at=now, sign_due_at=due)
             for u in units]
    s.add_all(parts)
    s.add_all(ItemFile(item_id=item.id, evidence_id=e) for e in dict.fromkeys(photos))
    await s.flush()
    _audit(s, clock, person, "open", str(item.id), None, source=source, units=[u.code for u in units],
           deadline=deadline, flagged=flagged, task=task, files=list(dict.fromkeys(photos)),
           origin=inspection_id or alert_id or notice_id, sign_due=due)
    told = 0
    for part, unit in zip(parts, units, strict=True):
        told += await pushes.assigned(s, clock, item, part, unit, person)
    return item, told


async def locked(s: AsyncSession, part_id: int) -> tuple[ItemPart, SupervisionItem]:
    """A part (locked for the step) and its item; DomainError if there is none."""
    part = (await s.exec(select(ItemPart).where(ItemPart.id == part_id).with_for_update())).first()
    item = await s.get(SupervisionItem, part.item_id) if part is not None else None
    if part is None or item is None:
        raise DomainError("items.unknown_part", number=part_id)
    return part, item


async def for_cadre(s: AsyncSession, person: Person, part_id: int, *states: str) -> tuple[ItemPart, SupervisionItem]:
    """A part a cadre of its unit acts on, in one of ``states`` (else a refusal that says where it stands)."""
    part, item = await locked(s, part_id)
    if not (await scope.reach(s, person)).may_work(part.unit_id):
        raise DomainError("items.not_your_unit", number=item.id)
    if part.state not in states:
        raise DomainError(f"items.part_is_{part.state}", number=item.id)
    return part, item


async def _view(s: AsyncSession, clock: Clock, item_id: int) -> ItemView:
    found = await records.one(s, item_id, now=clock.now(), cal=await read_calendar(s))
    assert found is not None
    return found


async def sign(part_id: int, *, user_id: int, update_id: int | None, uow: UnitOfWork,
               clock: Clock) -> tuple[ItemView, int, bool]:
    """签收 by a cadre of the unit. Returns the item, the part and whether it was signed before this press."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        part, item = await locked(s, part_id)
        if not (await scope.reach(s, person)).may_work(part.unit_id):
            raise DomainError("items.not_your_unit", number=item.id)
        already = part.state != "assigned"
        if not already:
            await updates.claim(s, update_id, clock)
            part.state, part.signed_at, part.signed_by_person_id = "signed", clock.now(), person.id
            s.add(part)
            await s.flush()
            _audit(s, clock, person, "sign", f"{item.id}/{part.id}", {"state": "assigned"}, state="signed",
                   late=clock.now() >= part.sign_due_at)
        view = await _view(s, clock, item.id or 0)
        await uow.commit()
        return view, part.id or 0, already


async def write_note(s: AsyncSession, clock: Clock, person: Person, part_id: int, kind: str, text: str,
                     photos: list[int]) -> ItemNote:
    """办理 (``progress``: a note while signed) or 办结 (``report``: signed → reported, the verifier told)."""
    part, item = await for_cadre(s, person, part_id, "signed")
    if kind == "report":
        if not photos:
            raise DomainError("items.evidence_required")
        part.state, part.reported_at, part.reports = "reported", clock.now(), part.reports + 1
        s.add(part)
    note = ItemNote(part_id=part.id, kind=kind, text=text, person_id=person.id, created_at=clock.now(),
                    submission=part.reports if kind == "report" else 0)
    s.add(note)
    await s.flush()
    s.add_all(ItemFile(item_id=item.id, note_id=note.id, evidence_id=e) for e in dict.fromkeys(photos))
    await s.flush()
    _audit(s, clock, person, kind, f"{item.id}/{part.id}", {"state": "signed"} if kind == "report" else None,
           state=part.state, note=text, files=list(dict.fromkeys(photos)), report=note.submission or None)
    if kind == "report":
        unit = await s.get(Unit, part.unit_id)
        assert unit is not None
        await pushes.reported(s, clock, item, part, unit, text, len(set(photos)), person)
    return note


async def decide(s: AsyncSession, clock: Clock, person: Person, part_id: int, verdict: Verdict, comment: str | None,
                 submission: int | None) -> bool:
    """核查 of the part's latest report (``submission``: the report the button was about; None: the latest) by
    the opener or an admin; False when that report was decided already. Closes the item with its last part."""
    part, item = await locked(s, part_id)
    if not (await scope.reach(s, person)).may_verify(item):
        raise DomainError("items.not_verifier", number=item.id)
    if part.state != "reported" or submission not in (None, part.reports):
        return False
    before = {"state": part.state}
    part.decided_at, part.decided_by_person_id, part.decision_note = clock.now(), person.id, comment
    if verdict == Verdict.ISSUES:
        part.state, part.returns = "signed", part.returns + 1
    else:
        part.state, part.closed_at = ("closed" if verdict == Verdict.APPROVE else "rejected"), clock.now()
    s.add(part)
    s.add(ItemNote(part_id=part.id, kind=verdict.value, text=comment or "", person_id=person.id,
                   created_at=clock.now(), submission=part.reports))
    await s.flush()
    _audit(s, clock, person, ACTION[verdict], f"{item.id}/{part.id}", before,
           state=part.state, report=part.reports, comment=comment)
    await pushes.decided(s, clock, item, part, verdict.value, person, comment)
    if part.state in FINAL:
        states = set((await s.exec(select(ItemPart.state).where(ItemPart.item_id == item.id))).all())
        if states <= set(FINAL) and item.state != "closed":
            item.state, item.closed_at = "closed", clock.now()
            s.add(item)
            _audit(s, clock, person, "close", str(item.id), {"state": "open"}, state="closed")
            await pushes.closed(s, clock, item, person)
    return True


async def approve(part_id: int, submission: int | None = None, *, user_id: int, update_id: int | None,
                  uow: UnitOfWork, clock: Clock) -> tuple[ItemView, bool]:
    """The verifier's Approve (销号). Returns the item and whether the report was decided before this press."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        await updates.claim(s, update_id, clock)
        done = await decide(s, clock, person, part_id, Verdict.APPROVE, None, submission)
        part = await s.get(ItemPart, part_id)
        assert part is not None
        view = await _view(s, clock, part.item_id)
        await uow.commit()
        return view, not done
