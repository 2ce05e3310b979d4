"""Criticism notices (通报批评): a draft composed from data (services/inspection/notice_draft.py), shown to the office,
edited, then approved — published through the outbox to every bound group chat and to the named units'
cadres — or discarded. Nothing is published without an admin's approval. Group chats are bound with
/bindgroup by an admin.

The edit dialogue's data sits beside its PTB state in ``conversation_states`` (``notice.edit``), both
written with the update id in one transaction (as services/progress/adjust.py does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t
from models.core import OutboxMessage
from models.db import UnitOfWork
from models.enums import Role
from models.inspection import BoundGroup, Notice
from models.people import Person, RoleMembership
from models.plan import Unit
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DialogueEnded, DomainError
from services.inspection.notice_draft import compose, gather, parse_period, publish_parts

PUBLISH_KIND = "notice.publish"
MAX_BODY = 30_000
MAX_TITLE = 200


class EditStep(StrEnum):
    AWAIT_TEXT = "await_text"
    DONE = DONE


@dataclass(frozen=True)
class NoticeView:
    """A notice as the office reads it."""
    id: int
    period: str
    period_label: str
    title: str
    body: str
    units: tuple[str, ...]  # names of the units named
    status: str  # draft / published / discarded
    drafted_by: str  # "cli", or the drafting person's name
    created_at: datetime  # in the county's time zone
    groups: int  # active bound group chats (where it goes, or went)
    cadres: int  # reachable cadres of the named units
    decided_by: str | None = None
    decided_at: datetime | None = None
    sent_groups: int = 0  # chats it was queued to at publication
    sent_people: int = 0
    already: bool = False  # decided before this press: nothing changed now
    existing: bool = False  # a pending draft of the period was there already: nothing drafted


# ---------------------------------------------------------------------------------- helpers
async def is_admin(s: AsyncSession, person: Person) -> bool:
    return (await s.exec(select(RoleMembership.id).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN.value))).first() is not None


async def _admin(s: AsyncSession, user_id: int) -> Person:
    person = await active_person(s, user_id)
    if not await is_admin(s, person):
        raise DialogueEnded("notice.not_admin")
    return person


async def _units(s: AsyncSession, codes: list[str] | None) -> list[Unit]:
    if not codes:
        return []
    return list((await s.exec(select(Unit).where(col(Unit.code).in_(codes)).order_by(col(Unit.code)))).all())


async def _cadres(s: AsyncSession, unit_ids: list[int]) -> list[Person]:
    """Active, joined, reachable cadres of the units, each once."""
    if not unit_ids:
        return []
    ids = select(RoleMembership.person_id).where(
        RoleMembership.role == Role.CADRE.value, col(RoleMembership.unit_id).in_(unit_ids))
    return list((await s.exec(select(Person).where(
        col(Person.id).in_(ids), Person.active == True, col(Person.joined_at).is_not(None),  # noqa: E712
        col(Person.telegram_user_id).is_not(None), col(Person.unreachable_at).is_(None),
    ).order_by(col(Person.id)))).all())


async def _groups(s: AsyncSession) -> list[BoundGroup]:
    return list((await s.exec(select(BoundGroup).where(BoundGroup.active == True)  # noqa: E712
                              .order_by(col(BoundGroup.chat_id)))).all())


async def _view(s: AsyncSession, notice: Notice, clock: Clock, **extra: Any) -> NoticeView:
    assert notice.id is not None
    units = await _units(s, notice.units)
    decider = await s.get(Person, notice.decided_by_person_id) if notice.decided_by_person_id else None
    drafter = notice.drafted_by
    if drafter.startswith("person:"):
        person = (await s.exec(select(Person).where(Person.code == drafter.split(":", 1)[1]))).first()
        drafter = person.name if person else drafter
    sent = (await s.exec(select(OutboxMessage.person_id).where(
        OutboxMessage.kind == PUBLISH_KIND, OutboxMessage.dedup_key == f"notice:{notice.id}:1"))).all()
    groups = len(await _groups(s)) if notice.status == "draft" else sum(p is None for p in sent)
    return NoticeView(
        id=notice.id, period=notice.period, period_label=parse_period(notice.period).label, title=notice.title,
        body=notice.body, units=tuple(u.name for u in units), status=notice.status, drafted_by=drafter,
        created_at=notice.created_at.astimezone(clock.tz), groups=groups,
        cadres=len(await _cadres(s, [u.id for u in units if u.id is not None])),
        decided_by=decider.name if decider else None,
        decided_at=notice.decided_at.astimezone(clock.tz) if notice.decided_at else None,
        sent_groups=sum(p is None for p in sent), sent_people=sum(p is not None for p in sent), **extra)


async def _locked(s: AsyncSession, notice_id: int) -> Notice:
    # Locked (PostgreSQL; SQLite's write transactions are serial): two admins cannot both decide.
    notice = (await s.exec(select(Notice).where(Notice.id == notice_id).with_for_update())).first()
    if notice is None:
        raise DomainError("notice.unknown", number=notice_id)
    return notice


# ---------------------------------------------------------------------------------- drafting
async def create_draft(period_text: str | None, *, user_id: int | None = None, update_id: int | None = None,
                       uow: UnitOfWork, clock: Clock) -> NoticeView:
    """Compose a draft for the period from data. ``user_id``: an admin in chat; None: the command line.
    A pending draft of the period is returned (``existing``) instead of a second one; a period with
    nothing to report is refused (``notice.no_facts``)."""
    period = parse_period(period_text)
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        actor = f"person:{(await _admin(s, user_id)).code}" if user_id is not None else "cli"
        pending = (await s.exec(select(Notice).where(Notice.period == period.code, Notice.status == "draft")
                                .order_by(col(Notice.id).desc()))).first()
        if pending is not None:
            return await _view(s, pending, clock, existing=True)
        findings = await gather(s, period, today=clock.now().date(), tz=clock.tz)
        if findings.empty:
            raise DomainError("notice.no_facts", period=period.label)
        title, body = compose(findings, clock.now().date())
        notice = Notice(period=period.code, title=title, body=body, units=[u.code for u in findings.units],
                        status="draft", drafted_by=actor, created_at=clock.now())
        s.add(notice)
        await s.flush()
        audit.record(s, clock, actor=actor, action="notice.draft", entity="notice", key=str(notice.id),
                     after={"period": period.code, "units": notice.units, "status": "draft",
                            "facts": sum(len(u.facts) for u in findings.units)})
        view = await _view(s, notice, clock)
        await uow.commit()
        return view


async def draft_for_cli(period_text: str, *, uow: UnitOfWork, clock: Clock) -> NoticeView:
    """``duban notice draft --period P``: the draft (drafted_by "cli"); the office approves it in chat."""
    return await create_draft(period_text, uow=uow, clock=clock)


def cli_text(view: NoticeView, lang: str) -> str:
    """What the command line prints: the draft's number and how to approve it, then its text."""
    key = "notice.cli_existing" if view.existing else "notice.cli_drafted"
    return t(key, lang, number=view.id, period=view.period) + "\n\n" + view.body


async def pending(*, user_id: int, uow: UnitOfWork, clock: Clock, limit: int = 5) -> tuple[list[NoticeView], int]:
    """The drafts awaiting a decision, oldest first (at most ``limit``), and how many there are."""
    async with uow:
        s = uow.session
        await _admin(s, user_id)
        rows = (await s.exec(select(Notice).where(Notice.status == "draft").order_by(col(Notice.id)))).all()
        return [await _view(s, n, clock) for n in rows[:limit]], len(rows)


# ---------------------------------------------------------------------------------- editing
@dataclass(frozen=True)
class Edit:
    """Where the edit dialogue stands: the notice being edited (or just edited)."""
    serial: int
    step: str
    view: NoticeView


class EditDialogue(Dialogue[Edit]):
    name = "notice"
    no_draft = "notice.no_edit"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Edit:
        notice = await s.get(Notice, int(draft.data["notice_id"]))
        if notice is None:
            raise DialogueEnded("notice.unknown", number=draft.data["notice_id"])
        return Edit(draft.serial, draft.step, await _view(s, notice, clock))


DIALOGUE = EditDialogue()
cancel_edit = DIALOGUE.cancel


async def begin_edit(notice_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                     clock: Clock) -> Edit:
    """Edit pressed: the next text the admin sends replaces the draft's whole text."""
    async def start(s: AsyncSession, person: Person | None) -> Edit:
        await _admin(s, conv.user_id)
        notice = await s.get(Notice, notice_id)
        if notice is None:
            raise DialogueEnded("notice.unknown", number=notice_id)
        if notice.status != "draft":
            raise DialogueEnded("notice.not_draft", number=notice_id)
        draft = await DIALOGUE.open(s, clock, conv, EditStep.AWAIT_TEXT, {"notice_id": notice_id}, serial=update_id)
        return await DIALOGUE.snapshot(s, clock, draft)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


def _clean(text: str) -> str:
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


async def apply_edit(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Edit:
    """The replacement text: the draft's text and title (its first line) change, audited; units whose name
    the text no longer contains are no longer named. An empty or too long text keeps the dialogue; a notice
    decided meanwhile ends it."""
    body = _clean(text)

    async def work(turn: Turn[Edit]) -> Edit:
        s = turn.session
        person = await _admin(s, conv.user_id)
        notice = await _locked(s, int(turn.draft.data["notice_id"]))
        if notice.status != "draft":
            raise DialogueEnded("notice.not_draft", number=notice.id)
        if not body.strip():
            raise DomainError("notice.edit_empty")
        if len(body) > MAX_BODY:
            raise DomainError("notice.edit_too_long", limit=MAX_BODY)
        before = {"title": notice.title, "body": notice.body, "units": notice.units}
        notice.title = next(line.strip() for line in body.split("\n") if line.strip())[:MAX_TITLE]
        notice.body = body
        notice.units = [u.code for u in await _units(s, notice.units) if u.name in body]
        s.add(notice)
        audit.record(s, clock, actor=f"person:{person.code}", action="notice.edit", entity="notice",
                     key=str(notice.id), before=before,
                     after={"title": notice.title, "body": notice.body, "units": notice.units})
        await s.flush()
        return await DIALOGUE.move(turn, DONE)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(EditStep.AWAIT_TEXT,), work=work)


# ---------------------------------------------------------------------------------- deciding
async def _publish(s: AsyncSession, clock: Clock, notice: Notice) -> tuple[int, int]:
    """Queue the notice, in order and in as many messages as it takes, to every active bound group and to
    the named units' cadres. Keys ``notice:<id>:<part>``: never queued twice to a chat."""
    assert notice.id is not None
    parts = publish_parts(notice.title, notice.body)
    units = await _units(s, notice.units)
    chats = [(g.chat_id, None) for g in await _groups(s)]
    chats += [(p.telegram_user_id, p) for p in await _cadres(s, [u.id for u in units if u.id is not None])]
    groups = people = 0
    for chat_id, person in chats:
        assert chat_id is not None
        queued = False
        for n, part in enumerate(parts, 1):
            row = await outbox.enqueue(s, clock, chat_id=chat_id, text=part, kind=PUBLISH_KIND, parse_mode="HTML",
                                       person_id=person.id if person else None, dedup_key=f"notice:{notice.id}:{n}")
            queued = queued or row is not None
        groups += queued and person is None
        people += queued and person is not None
    return groups, people


async def decide(notice_id: int, approve: bool, *, user_id: int, update_id: int | None, uow: UnitOfWork,
                 clock: Clock) -> NoticeView:
    """Approve (publish) or Discard a draft, recording who and when. A notice decided already (a second
    press, another admin) changes nothing and is returned with ``already``."""
    async with uow:
        s = uow.session
        person = await _admin(s, user_id)
        notice = await _locked(s, notice_id)
        if notice.status != "draft":
            return replace(await _view(s, notice, clock), already=True)
        await updates.claim(s, update_id, clock)
        notice.decided_by_person_id, notice.decided_at = person.id, clock.now()
        actor = f"person:{person.code}"
        if approve:
            notice.status = "published"
            groups, people = await _publish(s, clock, notice)
            audit.record(s, clock, actor=actor, action="notice.publish", entity="notice", key=str(notice.id),
                         before={"status": "draft"},
                         after={"status": "published", "units": notice.units, "groups": groups, "people": people})
        else:
            notice.status = "discarded"
            audit.record(s, clock, actor=actor, action="notice.discard", entity="notice", key=str(notice.id),
                         before={"status": "draft"}, after={"status": "discarded"})
        s.add(notice)
        await s.flush()
        view = await _view(s, notice, clock)
        await uow.commit()
        return view
