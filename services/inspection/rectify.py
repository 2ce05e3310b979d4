"""整改: an inspector opens an item from an inspection, its owner (a cadre of the unit) closes it with a note
and photos, the inspector accepts or rejects the closing. One dialogue per chat and user (``rect``: opening,
closing, or a rejection's reason; a new one replaces an unfinished one), its data beside its PTB state
(``rect.draft``), both written with the update id. Messages to others go through the outbox, in their language."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t, th
from models.core import EvidenceFile
from models.db import UnitOfWork
from models.enums import Role
from models.inspection import Inspection, Rectification, RectificationPhoto
from models.people import Person, RoleMembership
from models.plan import Unit
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DomainError
from services.core.files import FileLimits, IncomingFile, check_room, record_file
from services.core.text import parse_date

MIN_TEXT, MAX_TEXT, MAX_PHOTOS, MAX_LISTED = 2, 1000, 10, 30  # three texts of MAX_TEXT fit in one message
_PLUS = re.compile(r"^\+\s*(\d{1,4})\s*(?:天|日|d|days?)?$", re.IGNORECASE)


class Step(StrEnum):
    OPEN_DESCRIPTION = "open_description"
    OPEN_OWNER = "open_owner"
    OPEN_DEADLINE = "open_deadline"
    OPEN_CONFIRM = "open_confirm"
    CLOSE_NOTE = "close_note"
    CLOSE_PHOTOS = "close_photos"
    CLOSE_CONFIRM = "close_confirm"
    REJECT_REASON = "reject_reason"
    DONE = DONE  # the draft's ``kind`` says what was done


_NEXT = {Step.OPEN_DESCRIPTION: Step.OPEN_OWNER, Step.OPEN_OWNER: Step.OPEN_DEADLINE,
         Step.OPEN_DEADLINE: Step.OPEN_CONFIRM, Step.CLOSE_NOTE: Step.CLOSE_PHOTOS,
         Step.CLOSE_PHOTOS: Step.CLOSE_CONFIRM, Step.REJECT_REASON: Step.DONE}


@dataclass(frozen=True)
class Item:
    """A rectification item (its row, as read) with the names people know it by."""
    row: Rectification
    unit_name: str
    owner_name: str
    opener_name: str


@dataclass(frozen=True)
class Snapshot:
    """What the user is shown of the dialogue at any step."""
    serial: int
    step: Step
    kind: str  # open / close / reject
    # open: inspection_id, unit, findings, candidates [[id, name]], description, owner_id, owner, deadline (ISO);
    # close / reject: rect_id, note, photos (evidence ids)
    draft: dict[str, Any]
    item: Item | None = None  # the item closed or rejected; after opening, the item written
    notice: str | None = None


def parse_deadline(text: str, today: date) -> date:
    """``2027-04-30``, ``2027/4/30``, ``2027年4月30日`` or ``+14`` (days from today); not in the past."""
    typed = unicodedata.normalize("NFKC", (text or "").strip())
    plus = _PLUS.match(typed)
    try:
        day = today + timedelta(days=int(plus[1])) if plus else parse_date(typed)
    except ValueError:
        raise DomainError("rect.bad_date", text=typed[:40]) from None
    if day < today:
        raise DomainError("rect.date_past", date=day.isoformat(), today=today.isoformat())
    return day


# ---------------------------------------------------------------------------------- helpers
async def _items(s: AsyncSession, *where: Any, limit: int | None = None) -> list[Item]:
    owner, opener = aliased(Person), aliased(Person)  # rows copied: a rollback must not expire what was read
    return [Item(Rectification(**r.model_dump()), *names) for r, *names in (await s.exec(
        select(Rectification, Unit.name, owner.name, opener.name)
        .join(Unit, col(Unit.id) == col(Rectification.unit_id))
        .join(owner, owner.id == col(Rectification.owner_person_id))
        .join(opener, opener.id == col(Rectification.opened_by_person_id))
        .where(*where).order_by(col(Rectification.deadline), col(Rectification.id)).limit(limit))).all()]


async def _owners(s: AsyncSession, person: Person, inspection_id: int) -> tuple[Inspection, list[Person]]:
    """An inspection of ``person``'s, and who may own its items: the unit's active cadres who joined."""
    insp = await s.get(Inspection, inspection_id)
    if insp is None or insp.inspector_person_id != person.id:
        raise DomainError("rect.not_your_inspection", number=inspection_id)
    return insp, list((await s.exec(
        select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.CADRE.value, RoleMembership.unit_id == insp.unit_id,
               Person.active == True, col(Person.joined_at).is_not(None),  # noqa: E712
               Person.id != insp.inspector_person_id)  # never the inspector
        .distinct().order_by(col(Person.name), col(Person.id)))).all())


async def _locked(s: AsyncSession, rect_id: int, person: Person, *, owner: bool) -> Rectification:
    """The item, locked, if ``person`` is its owner (who may close it while open) or its opener (who decides)."""
    r = (await s.exec(select(Rectification).where(Rectification.id == rect_id).with_for_update())).first()
    if r is None:
        raise DomainError("rect.unknown", number=rect_id)
    if (r.owner_person_id if owner else r.opened_by_person_id) != person.id:
        raise DomainError("rect.not_owner" if owner else "rect.not_opener", number=rect_id)
    if owner and r.status != "open":
        raise DomainError(f"rect.closing_{r.status}", number=rect_id)  # submitted / accepted
    return r


class RectifyDialogue(Dialogue[Snapshot]):
    name = "rect"
    no_draft = "rect.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        d = draft.data
        item = (await _items(s, Rectification.id == d["rect_id"]))[0] if d.get("rect_id") else None
        return Snapshot(draft.serial, Step(draft.step), d["kind"], {**d, "serial": draft.serial, "step": draft.step},
                        item, notice=extra.get("notice"))


DIALOGUE = RectifyDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


async def _tell(s: AsyncSession, clock: Clock, person_id: int, kind: str, dedup: str,
                message: Callable[[str], tuple[str, dict[str, Any] | None]]) -> None:
    """Queue a message (HTML, inline keyboard) to someone other than the actor, in their language."""
    person = await s.get(Person, person_id)
    if person is not None:
        text, markup = message(person.language or "")
        await outbox.enqueue_to_person(s, clock, person, text=text, kind=kind, dedup_key=dedup, reply_markup=markup,
                                       parse_mode="HTML")


def _audit(s: AsyncSession, clock: Clock, person: Person, r: Rectification, action: str, before: str | None,
           **after: Any) -> None:
    audit.record(s, clock, actor=f"person:{person.code}", action=f"rectification.{action}", entity="rectification",
                 key=str(r.id), before={"status": before} if before else None, after={"status": r.status, **after})


# ---------------------------------------------------------------------------------- the dialogue
async def begin(kind: str, number: int, submission: int | None = None, *, conv: ConvRef, update_id: int | None,
                uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Start a dialogue: ``open`` an item from inspection ``number`` (its inspector), ``close`` item ``number``
    (its owner, while open), or ``reject`` it (its opener, while closing ``submission`` awaits a decision)."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        if kind == "open":
            insp, people = await _owners(s, person, number)
            unit = await s.get(Unit, insp.unit_id)
            if not people or unit is None:
                raise DomainError("rect.no_cadres", unit=unit.name if unit else "?")
            data: dict[str, Any] = {"inspection_id": number, "unit": unit.name, "findings": insp.findings,
                                    "candidates": [[p.id, p.name] for p in people]}
        elif kind == "close":
            await _locked(s, number, person, owner=True)
            data = {"rect_id": number, "photos": []}
        elif (r := await _locked(s, number, person, owner=False)).status == "submitted" and submission in (
                None, r.rejections + 1):  # the closing the button was about (None: the latest) awaits a decision
            data = {"rect_id": number}
        else:
            raise DomainError("rect.already_decided", number=number)
        first = {"open": Step.OPEN_DESCRIPTION, "close": Step.CLOSE_NOTE}.get(kind, Step.REJECT_REASON)
        draft = await DIALOGUE.open(s, clock, conv, first, {**data, "kind": kind}, serial=update_id)
        return await DIALOGUE.snapshot(s, clock, draft)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


async def advance(at: Step, value: str | IncomingFile | None, *, conv: ConvRef, update_id: int | None,
                  uow: UnitOfWork, clock: Clock, limits: FileLimits | None = None) -> Snapshot:
    """One input at step ``at``: the description, the owner (a person id), the deadline, the closing note, the
    reason of a rejection (which decides it); at CLOSE_PHOTOS a photo already in storage (the same bytes are
    recorded once), or None: the photos are done (only once one arrived). A refusal keeps the step."""
    clean = value.strip() if isinstance(value, str) else ""
    if at in (Step.OPEN_DESCRIPTION, Step.CLOSE_NOTE, Step.REJECT_REASON) and len(clean) < MIN_TEXT:
        raise DomainError("rect.text_short", min=MIN_TEXT)

    async def work(turn: Turn[Snapshot]) -> Snapshot:
        s, d, person = turn.session, turn.draft.data, turn.person
        assert person is not None
        step, notice = _NEXT[at], None
        if at in (Step.OPEN_DESCRIPTION, Step.CLOSE_NOTE):
            d["description" if at == Step.OPEN_DESCRIPTION else "note"] = clean[:MAX_TEXT]
        elif at == Step.OPEN_OWNER:
            names = {str(i): name for i, name in d["candidates"]}
            if clean not in names:
                raise DomainError("rect.not_a_candidate")
            d.update(owner_id=int(clean), owner=names[clean])
        elif at == Step.OPEN_DEADLINE:
            d["deadline"] = parse_deadline(clean, clock.now().date()).isoformat()
        elif at == Step.REJECT_REASON:
            if not await _decide(s, clock, person, d["rect_id"], clean[:MAX_TEXT], None):
                notice = "rect.already_decided"
        elif isinstance(value, IncomingFile):
            d["photos"] = await _store(s, clock, person, value, d["photos"], limits or FileLimits())
            step = Step.CLOSE_PHOTOS
        elif not d["photos"]:
            raise DomainError("rect.photo_required")
        return await DIALOGUE.move(turn, step, notice=notice)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(at,), work=work)


async def _store(s: AsyncSession, clock: Clock, person: Person, f: IncomingFile, photos: list[int],
                 limits: FileLimits) -> list[int]:
    known = (await s.exec(select(EvidenceFile.id).where(EvidenceFile.sha256 == f.sha256))).first()
    if known is not None and known in photos:
        return photos
    if len(photos) >= MAX_PHOTOS:
        raise DomainError("rect.too_many_photos", max=MAX_PHOTOS)
    await check_room(s, clock, person, size=len(f.data) if known is None else 0, in_draft=len(photos), limits=limits)
    evidence = await record_file(s, clock, person, sha256=f.sha256, size=len(f.data), mime_type=f.mime_type,
                                 storage_key=f.storage_key, telegram_file_id=f.telegram_file_id,
                                 telegram_file_unique_id=f.telegram_file_unique_id, kind=f.kind)
    return [*photos, evidence.id or 0]


async def may_add_photo(size: int, limits: FileLimits, *, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> None:
    """Before a closing's photo is fetched: the dialogue takes photos now, and one more fits the limits."""
    async def check(turn: Turn[Snapshot]) -> None:
        assert turn.person is not None
        photos = turn.draft.data.get("photos") or []
        if len(photos) >= MAX_PHOTOS:
            raise DomainError("rect.too_many_photos", max=MAX_PHOTOS)
        await check_room(turn.session, clock, turn.person, size=size, in_draft=len(photos), limits=limits)
    await DIALOGUE.peek(conv, uow, clock, at=(Step.CLOSE_PHOTOS,), check=check)


async def confirm(serial: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Write the opening or the closing, in the press's transaction; a second press answers like the first."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        if turn.draft.step == Step.OPEN_CONFIRM:
            turn.draft.data["rect_id"] = await _open(turn.session, clock, turn.person, turn.draft.data)
        else:
            await _submit(turn.session, clock, turn.person, turn.draft.data)
        return await DIALOGUE.move(turn, Step.DONE)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.OPEN_CONFIRM, Step.CLOSE_CONFIRM),
                                  work=write)


async def _open(s: AsyncSession, clock: Clock, person: Person, draft: dict[str, Any]) -> int:
    insp, people = await _owners(s, person, draft["inspection_id"])
    owner = next((p for p in people if p.id == draft["owner_id"]), None)
    if owner is None or owner.id is None:  # no longer a cadre of the unit
        raise DomainError("rect.not_a_candidate")
    deadline = parse_deadline(draft["deadline"], clock.now().date())  # the day may have passed since
    r = Rectification(inspection_id=insp.id, unit_id=insp.unit_id, owner_person_id=owner.id,
                      opened_by_person_id=person.id, description=draft["description"], deadline=deadline,
                      status="open", created_at=clock.now())
    s.add(r)
    await s.flush()
    _audit(s, clock, person, r, "open", None, inspection=insp.id, owner=owner.code, deadline=deadline,
           description=r.description)
    await _tell(s, clock, owner.id, "rect.opened", f"rect:{r.id}:open", lambda lang: (th(
        "rect.told_opened", lang, number=r.id, unit=draft["unit"], description=r.description,
        deadline=deadline.isoformat(), inspector=person.name), None))
    return r.id or 0


def submitted_message(item: Item, photos: int, lang: str | None) -> tuple[str, dict[str, Any]]:
    """A closing as its opener reads it (HTML), with Accept / Reject and the photos as an inline keyboard."""
    r = item.row
    text = th("rect.submitted_item", lang, number=r.id, unit=item.unit_name, description=r.description,
              owner=item.owner_name, deadline=r.deadline.isoformat(), note=r.closing_note or "", count=photos)
    if r.rejections:
        text += "\n" + th("rect.resubmitted", lang, times=r.rejections, reason=r.decision_note or "")
    n = f"{r.id}:{r.rejections + 1}"  # a decision is about this closing: a later one needs its own buttons
    rows = [[("rect.btn_accept", f"ok:{n}"), ("rect.btn_reject", f"no:{n}")], [("rect.btn_photos", f"review:{r.id}")]]
    return text, {"inline_keyboard": [[{"text": t(key, lang), "callback_data": f"rect:{data}"} for key, data in row]
                                      for row in rows]}


async def _submit(s: AsyncSession, clock: Clock, person: Person, draft: dict[str, Any]) -> None:
    r = await _locked(s, draft["rect_id"], person, owner=True)
    r.status, r.submitted_at, r.closing_note, r.decided_at = "submitted", clock.now(), draft["note"], None
    s.add(r)
    for evidence_id in draft["photos"]:
        s.add(RectificationPhoto(rectification_id=r.id, evidence_id=evidence_id, submission=r.rejections + 1))
    await s.flush()
    _audit(s, clock, person, r, "submit", "open", submission=r.rejections + 1, note=r.closing_note,
           photos=draft["photos"])
    item, count = (await _items(s, Rectification.id == r.id))[0], len(draft["photos"])
    await _tell(s, clock, r.opened_by_person_id, "rect.submitted", f"rect:{r.id}:submit:{r.rejections + 1}",
                lambda lang: submitted_message(item, count, lang))


async def _decide(s: AsyncSession, clock: Clock, person: Person, rect_id: int, reason: str | None,
                  update_id: int | None, submission: int | None = None) -> bool:
    """Accept (no reason) or reject a submitted closing, telling the owner; False if decided already."""
    r = await _locked(s, rect_id, person, owner=False)
    if r.status != "submitted" or submission not in (None, r.rejections + 1):
        return False
    await updates.claim(s, update_id, clock)
    verdict = "accepted" if reason is None else "rejected"
    r.status, r.decided_at, r.decision_note = "accepted" if reason is None else "open", clock.now(), reason
    r.rejections += 0 if reason is None else 1
    s.add(r)
    await s.flush()
    _audit(s, clock, person, r, verdict.removesuffix("ed"), "submitted", rejections=r.rejections, reason=reason)
    await _tell(s, clock, r.owner_person_id, f"rect.{verdict}", f"rect:{r.id}:{verdict}:{r.rejections}",
                lambda lang: (th(f"rect.told_{verdict}", lang, number=r.id, description=r.description,
                                 name=person.name, reason=reason or "", deadline=r.deadline.isoformat()), None))
    return True


# ---------------------------------------------------------------------------------- decisions and lists
async def accept(rect_id: int, submission: int | None = None, *, user_id: int, update_id: int | None,
                 uow: UnitOfWork, clock: Clock) -> tuple[Item, bool]:
    """The opener's Accept. Returns the item and whether it was decided before this press."""
    async with uow:
        s = uow.session
        done = await _decide(s, clock, await active_person(s, user_id), rect_id, None, update_id, submission)
        item = (await _items(s, Rectification.id == rect_id))[0]
        await uow.commit()
        return item, not done


async def my_items(*, user_id: int, uow: UnitOfWork) -> tuple[list[Item], list[Item]]:
    """/rectify: the person's open and submitted items as owner; as opener, those waiting for their decision."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        return (await _items(s, Rectification.owner_person_id == person.id,
                             col(Rectification.status).in_(("open", "submitted")), limit=MAX_LISTED),
                await _items(s, Rectification.opened_by_person_id == person.id, Rectification.status == "submitted",
                             limit=MAX_LISTED))


async def review(rect_id: int, *, user_id: int, uow: UnitOfWork) -> tuple[Item, list[tuple[str, str]], bool]:
    """An item for its opener or owner, its latest closing's photos (storage key, mime), and may they decide."""
    async with uow:
        s = uow.session
        person, found = await active_person(s, user_id), await _items(s, Rectification.id == rect_id)
        if not found or person.id not in (found[0].row.opened_by_person_id, found[0].row.owner_person_id):
            raise DomainError("rect.unknown", number=rect_id)
        item, r = found[0], found[0].row
        latest = r.rejections + (0 if r.status == "open" else 1)
        photos = (await s.exec(select(EvidenceFile.storage_key, EvidenceFile.mime_type)
                               .join(RectificationPhoto, col(RectificationPhoto.evidence_id) == col(EvidenceFile.id))
                               .where(RectificationPhoto.rectification_id == rect_id,
                                      RectificationPhoto.submission == latest)
                               .order_by(col(RectificationPhoto.id)))).all()
        return item, [(k, m) for k, m in photos], r.status == "submitted" and r.opened_by_person_id == person.id


async def overdue_items(session: AsyncSession, today: date) -> list[Rectification]:
    """Open items whose deadline has passed (for the alerts), oldest deadline first."""
    return list((await session.exec(select(Rectification).where(
        Rectification.status == "open", Rectification.deadline < today,
    ).order_by(col(Rectification.deadline), col(Rectification.id)))).all())
