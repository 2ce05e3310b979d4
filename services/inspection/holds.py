"""Flagged visits wait for an admin (issue #15 §1): a visit whose evidence is flagged off site or re-used
(services/progress/effective.py ``HOLDING_FLAGS``) is shown as such, and its verified value counts only once an
admin confirms it. The admins get a Confirm / Reject request with the visit's photos (through the outbox, buttons
``vh:ok|no|files:<id>``); the decision is audited, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.core import EvidenceFile
from models.db import UnitOfWork
from models.inspection import Inspection, InspectionPhoto
from models.people import Person
from models.plan import Assignment, Target, Unit
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.plan.values import format_value
from services.progress.effective import HOLDING_FLAGS, holds
from services.progress.review import admins, is_admin

__all__ = ["Hold", "decide", "files", "holds", "request"]


@dataclass(frozen=True)
class Hold:
    inspection_id: int
    status: str  # pending / confirmed / rejected
    inspector: str
    unit_name: str
    target_code: str
    title: str
    measure: str
    verified: Decimal
    visited_on: str
    flags: tuple[str, ...]
    photos: int
    decided_by: str | None = None
    already: bool = False


async def _hold(s: AsyncSession, visit: Inspection, clock: Clock) -> Hold:
    unit = await s.get(Unit, visit.unit_id)
    a = await s.get(Assignment, visit.assignment_id) if visit.assignment_id else None
    target = await s.get(Target, a.target_id) if a else None
    inspector = await s.get(Person, visit.inspector_person_id)
    decider = await s.get(Person, visit.confirmed_by_person_id) if visit.confirmed_by_person_id else None
    photos = len((await s.exec(select(InspectionPhoto.id).where(InspectionPhoto.inspection_id == visit.id))).all())
    kinds = tuple(dict.fromkeys(f["kind"] for f in visit.flags or () if f.get("kind") in HOLDING_FLAGS))
    assert visit.id is not None and visit.verified_value is not None
    return Hold(inspection_id=visit.id, status=visit.confirmation or "", inspector=inspector.name if inspector else "?",
                unit_name=unit.name if unit else "?", target_code=target.code if target else "",
                title=target.title if target else "", measure=target.measure if target else "",
                verified=visit.verified_value, visited_on=visit.visited_at.astimezone(clock.tz).date().isoformat(),
                flags=kinds, photos=photos, decided_by=decider.name if decider else None)


def request_text(h: Hold, lang: str | None) -> str:
    return th("hold.request", lang, inspector=h.inspector, date=h.visited_on, unit=h.unit_name, title=h.title,
              code=h.target_code, verified=format_value(h.verified, h.measure, lang or ""),
              flags="、".join(th(f"hold.flag.{k}", lang) for k in h.flags))


async def request(s: AsyncSession, clock: Clock, visit: Inspection) -> bool:
    """In the visit's transaction: hold its verified value if its evidence is flagged, and ask the admins."""
    if visit.verified_value is None or visit.assignment_id is None or not holds(visit.flags):
        return False
    visit.confirmation = "pending"
    s.add(visit)
    await s.flush()
    h = await _hold(s, visit, clock)
    for admin in await admins(s):
        lang = admin.language or ""
        buttons = [[{"text": th("hold.btn_confirm", lang), "callback_data": f"vh:ok:{h.inspection_id}"},
                    {"text": th("hold.btn_reject", lang), "callback_data": f"vh:no:{h.inspection_id}"}]]
        if h.photos:
            buttons.append([{"text": th("hold.btn_files", lang, count=h.photos),
                             "callback_data": f"vh:files:{h.inspection_id}"}])
        await outbox.enqueue_to_person(s, clock, admin, text=request_text(h, lang), kind="hold.request",
                                       dedup_key=f"vh:{h.inspection_id}", reply_markup={"inline_keyboard": buttons},
                                       parse_mode="HTML")
    return True


async def decide(inspection_id: int, confirm: bool, *, user_id: int, update_id: int | None, uow: UnitOfWork,
                 clock: Clock) -> Hold:
    """An admin's Confirm / Reject of a held finding, audited, exactly once."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        if not await is_admin(s, person):
            raise DomainError("review.not_admin")
        visit = (await s.exec(select(Inspection).where(Inspection.id == inspection_id).with_for_update())).first()
        if visit is None or visit.confirmation is None or visit.verified_value is None:
            raise DomainError("hold.unknown")
        if visit.confirmation != "pending":
            h = await _hold(s, visit, clock)
            return Hold(**{**h.__dict__, "already": True})
        await updates.claim(s, update_id, clock)
        visit.confirmation = "confirmed" if confirm else "rejected"
        visit.confirmed_by_person_id, visit.confirmed_at = person.id, clock.now()
        s.add(visit)
        await s.flush()
        h = await _hold(s, visit, clock)
        audit.record(s, clock, actor=f"person:{person.code}",
                     action="inspection.confirm" if confirm else "inspection.reject", entity="inspection",
                     key=str(visit.id), before={"confirmation": "pending"},
                     after={"confirmation": visit.confirmation, "verified": visit.verified_value,
                            "target": h.target_code, "flags": list(h.flags)})
        await uow.commit()
        return h


async def files(inspection_id: int, *, user_id: int, uow: UnitOfWork) -> list[tuple[str, str]]:
    """(storage key, MIME type) of the visit's photos, for an admin."""
    async with uow:
        s = uow.session
        if not await is_admin(s, await active_person(s, user_id)):
            raise DomainError("review.not_admin")
        rows = (await s.exec(select(EvidenceFile.storage_key, EvidenceFile.mime_type)
                             .join(InspectionPhoto, col(InspectionPhoto.evidence_id) == col(EvidenceFile.id))
                             .where(InspectionPhoto.inspection_id == inspection_id)
                             .order_by(col(InspectionPhoto.id)))).all()
        return [(key, mime or "application/octet-stream") for key, mime in rows]
