"""Answering a warning notice (预警通知单) in chat: the ``warning`` dialogue on the skeleton
(services/core/dialogue.py).

``wn:ans:<alert>`` (a cadre of the notice's unit) → REASON (落后原因) → STEPS (下一步措施) → PHOTO (a photo, or
/skip) → CONFIRM. Confirm writes the answer on the notice, stops its climb (its alert is acknowledged by the
person who answered), audits it and tells the linked leaders and the group head (the office when there are none)
through the outbox. The light does not change: only a recovered pace turns it (services/alerts/warning_notices.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.alerts import Alert, WarningNotice
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from services.alerts import recipients
from services.core import audit, outbox
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DomainError
from services.core.files import FileLimits, IncomingFile, check_room, record_file
from services.progress.standings import Standing, standings

MIN_TEXT, MAX_TEXT = 2, 500


class Step(StrEnum):
    REASON = "reason"
    STEPS = "steps"
    PHOTO = "photo"
    CONFIRM = "confirm"
    DONE = DONE


@dataclass(frozen=True)
class Snapshot:
    serial: int
    step: Step
    draft: dict[str, Any]  # notice_id, alert_id, reason, next_steps, photo (an evidence id)
    title: str
    unit: str
    answer_by: str
    notice: str | None = None


class WarningDialogue(Dialogue[Snapshot]):
    name = "warning"
    no_draft = "warning.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        d = draft.data
        notice = await s.get(WarningNotice, d.get("notice_id"))
        st = await _standing(s, notice, clock) if notice is not None else None
        return Snapshot(draft.serial, Step(draft.step), {**d, "serial": draft.serial},
                        st.title if st else "?", st.unit_name if st else "?",
                        notice.answer_by.isoformat() if notice else "", notice=extra.get("notice"))


async def _standing(s: AsyncSession, notice: WarningNotice, clock: Clock) -> Standing | None:
    found = await standings(s, as_of=clock.now().date(), tz=clock.tz, assignment_ids=[notice.assignment_id])
    return found[0] if found else None


DIALOGUE = WarningDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


async def _answerable(s: AsyncSession, person: Person, alert_id: int) -> WarningNotice:
    """The unanswered notice of ``alert_id``, if the person is a cadre of its unit."""
    notice = (await s.exec(select(WarningNotice).where(WarningNotice.alert_id == alert_id))).first()
    if notice is None:
        raise DomainError("warning.unknown")
    cadre = (await s.exec(select(RoleMembership.id).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.CADRE.value,
        RoleMembership.unit_id == notice.unit_id))).first()
    if cadre is None:
        raise DomainError("warning.not_yours")
    if notice.answered_at is not None:
        by = await s.get(Person, notice.answered_by_person_id)
        raise DomainError("warning.already_answered", id=alert_id, name=by.name if by else "?",
                          when=notice.answered_at.strftime("%Y-%m-%d"))
    return notice


async def begin(alert_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                clock: Clock) -> Snapshot:
    """``wn:ans:<alert>``: start answering the notice."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        notice = await _answerable(s, person, alert_id)
        draft = await DIALOGUE.open(s, clock, conv, Step.REASON, {"notice_id": notice.id, "alert_id": alert_id},
                                    serial=update_id)
        return await DIALOGUE.snapshot(s, clock, draft)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


async def advance(at: Step, value: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                  clock: Clock) -> Snapshot:
    """The reason (REASON), the next steps (STEPS), or None at PHOTO: no photo (/skip)."""
    clean = " ".join((value or "").split())
    if at in (Step.REASON, Step.STEPS) and len(clean) < MIN_TEXT:
        raise DomainError("warning.text_short", min=MIN_TEXT)
    if len(clean) > MAX_TEXT:
        raise DomainError("warning.text_long", max=MAX_TEXT)

    async def work(turn: Turn[Snapshot]) -> Snapshot:
        d = turn.draft.data
        if at == Step.REASON:
            d["reason"] = clean
            return await DIALOGUE.move(turn, Step.STEPS)
        if at == Step.STEPS:
            d["next_steps"] = clean
            return await DIALOGUE.move(turn, Step.PHOTO)
        return await DIALOGUE.move(turn, Step.CONFIRM)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(at,), work=work)


async def may_add_photo(size: int, limits: FileLimits, *, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> None:
    """Before a photo is fetched: the dialogue is at PHOTO and one more file fits the person's limits."""
    async def check(turn: Turn[Snapshot]) -> None:
        assert turn.person is not None
        await check_room(turn.session, clock, turn.person, size=size, in_draft=0, limits=limits)
    await DIALOGUE.peek(conv, uow, clock, at=(Step.PHOTO,), check=check)


async def add_photo(f: IncomingFile, limits: FileLimits, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                    clock: Clock) -> Snapshot:
    """The photo at PHOTO: kept with the answer, then the summary."""
    if not (f.mime_type or "").lower().startswith("image/"):
        raise DomainError("warning.photo_only")

    async def work(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        evidence = await record_file(turn.session, clock, turn.person, sha256=f.sha256, size=len(f.data),
                                     mime_type=f.mime_type, storage_key=f.storage_key,
                                     telegram_file_id=f.telegram_file_id,
                                     telegram_file_unique_id=f.telegram_file_unique_id, kind=f.kind)
        turn.draft.data["photos"] = [evidence.id]  # where the collection of orphaned files looks in drafts
        turn.draft.data["photo"] = evidence.id
        return await DIALOGUE.move(turn, Step.CONFIRM)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.PHOTO,), work=work)


async def confirm(serial: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Write the answer, stop the climb, tell the linked leaders; a second press answers like the first."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        s, d, person = turn.session, turn.draft.data, turn.person
        assert person is not None
        notice = await _answerable(s, person, d["alert_id"])
        notice.reason, notice.next_steps, notice.evidence_id = d["reason"], d["next_steps"], d.get("photo")
        notice.answered_at, notice.answered_by_person_id = clock.now(), person.id
        s.add(notice)
        alert = await s.get(Alert, notice.alert_id)
        if alert is not None and alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by_person_id = clock.now(), person.id
            if alert.state == "open":
                alert.state = "acknowledged"
            s.add(alert)
        audit.record(s, clock, actor=f"person:{person.code}", action="warning.answer", entity="warning_notice",
                     key=str(notice.id), after={"reason": notice.reason, "next_steps": notice.next_steps,
                                                "photo": notice.evidence_id})
        standing = await _standing(s, notice, clock)
        if standing is not None:
            told = await recipients.leaders(s, standing, clock.now().date()) or await recipients.office(s)
            for leader in told:
                await outbox.enqueue_to_person(
                    s, clock, leader, kind="warning.answer", parse_mode="HTML",
                    dedup_key=f"warning.answer:{notice.id}",
                    text=th("warning.answered_push", leader.language, id=notice.alert_id, unit=standing.unit_name,
                            title=standing.title, code=standing.target_code, name=person.name,
                            reason=notice.reason, steps=notice.next_steps,
                            photo=th("warning.with_photo", leader.language) if notice.evidence_id else ""))
        return await DIALOGUE.move(turn, Step.DONE)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write)
