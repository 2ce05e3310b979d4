"""目标调整: a cadre asks to change the planned value or deadline of their unit's assignment; the office
decides. The request is a dialogue (the skeleton of services/core/dialogue.py); the decision is the
office's button. old/new values are text as ``progress.plan_as_of`` reads
them: canonical decimals, ISO dates, "" for "the target's deadline"."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t, th
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Assignment, Target, Unit
from models.progress import TargetAdjustment
from models.types import decimal_text
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DialogueEnded, DomainError
from services.core.text import parse_date
from services.people.viewer import cadre_unit_ids
from services.plan.rows import assignment_rows
from services.plan.values import ValueParseError, format_value, parse_value

FIELDS = ("planned_value", "deadline")
MIN_REASON = 4
MAX_REASON = 1000


class Step(StrEnum):
    CHOOSE_FIELD = "choose_field"
    AWAIT_VALUE = "await_value"
    AWAIT_REASON = "await_reason"
    CONFIRM = "confirm"
    DONE = DONE


@dataclass(frozen=True)
class Snapshot:
    """What the cadre is shown of the dialogue at any step."""
    serial: int
    step: Step
    target_code: str
    title: str
    unit_name: str
    measure: str
    planned: Decimal
    deadline: date  # in force: the assignment's own, else the target's
    field: str | None = None
    new_value: str | None = None
    reason: str | None = None
    adjustment_id: int | None = None
    was: str | None = None  # at confirmation: the value the request replaces


@dataclass(frozen=True)
class Request:
    """An adjustment as the office and the requester read it."""
    id: int
    status: str
    target_code: str
    title: str
    unit_name: str
    measure: str
    field: str
    old: str
    new: str
    reason: str
    requester: str
    target_deadline: date
    decided_by: str | None = None
    decided_at: datetime | None = None  # in the county's time zone
    effective_from: date | None = None
    already: bool = False  # decided before this press: nothing changed now


def shown(field: str, value: str, measure: str, lang: str, fallback_deadline: date) -> str:
    """A stored old/new value for display: a planned value in the measure, a deadline as a date."""
    if field == "planned_value":
        return format_value(Decimal(value), measure, lang)
    return value or fallback_deadline.isoformat()


# ---------------------------------------------------------------------------------- helpers
async def _rows(s: AsyncSession, assignment_id: int) -> tuple[Assignment, Target, Unit]:
    rows = await assignment_rows(s, assignment_id)
    if rows is None:
        raise DialogueEnded("adjust.no_draft")
    return rows


class AdjustDialogue(Dialogue[Snapshot]):
    name = "adjust"
    no_draft = "adjust.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        d = draft.data
        a, target, unit = await _rows(s, d["assignment_id"])
        return Snapshot(serial=draft.serial, step=Step(draft.step), target_code=target.code, title=target.title,
                        unit_name=unit.name, measure=target.measure, planned=a.planned_value,
                        deadline=a.deadline or target.deadline, field=d.get("field"), new_value=d.get("new_value"),
                        reason=d.get("reason"), adjustment_id=d.get("adjustment_id"), was=d.get("was"))


DIALOGUE = AdjustDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


async def _no_pending(s: AsyncSession, assignment_id: int, field: str, tz: Any) -> None:
    """One open request per assignment and field: a second would be decided against a stale value."""
    pending = (await s.exec(select(TargetAdjustment).where(
        TargetAdjustment.assignment_id == assignment_id, TargetAdjustment.field_name == field,
        TargetAdjustment.status == "pending"))).first()
    if pending is not None:
        who = await s.get(Person, pending.requested_by_person_id)
        raise DomainError("adjust.pending_exists", number=pending.id, name=who.name if who else "?",
                          when=pending.requested_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"))


def _old_value(a: Assignment, field: str) -> str:
    if field == "planned_value":
        return decimal_text(a.planned_value)
    return a.deadline.isoformat() if a.deadline else ""


def _new_value(text: str, snap: Snapshot, today: date) -> str:
    """The typed value as stored text; DomainError (the step stays) when it is not a change we take."""
    if snap.field == "planned_value":
        try:
            parsed = parse_value(text, snap.measure)
        except ValueParseError as exc:
            raise DomainError(exc.key, **exc.params) from None
        if parsed.value == snap.planned:
            raise DomainError("adjust.same_value", value=parsed.text)
        return decimal_text(parsed.value)
    try:
        day = parse_date(text)
    except ValueError:
        raise DomainError("adjust.bad_date", text=(text or "").strip()[:40]) from None
    if day == snap.deadline:
        raise DomainError("adjust.same_value", value=day.isoformat())
    if day < today:
        raise DomainError("adjust.date_past", date=day.isoformat(), today=today.isoformat())
    return day.isoformat()


# ---------------------------------------------------------------------------------- dialogue
async def begin(code: str | None, unit_code: str | None, *, conv: ConvRef, update_id: int | None,
                uow: UnitOfWork, clock: Clock) -> Snapshot:
    """/adjust <code> [unit]: one of the cadre's open assignments; the choice of what to change."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        units = await cadre_unit_ids(s, person)
        if not units:
            raise DomainError("adjust.no_units")
        if not code:
            raise DomainError("adjust.usage")
        query = (select(Assignment, Target, Unit)
                 .join(Target, col(Target.id) == col(Assignment.target_id))
                 .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                 .where(col(Assignment.unit_id).in_(units), func.lower(Target.code) == code.strip().lower()))
        if unit_code:
            query = query.where(func.lower(Unit.code) == unit_code.strip().lower())
        rows = (await s.exec(query.order_by(col(Unit.code)))).all()
        if not rows:
            raise DomainError("adjust.not_your_target")
        if len(rows) > 1:
            raise DomainError("adjust.which_unit", code=rows[0][1].code, units=", ".join(u.code for _, _, u in rows))
        a, target, _ = rows[0]
        if target.closed:
            raise DomainError("adjust.target_closed", code=target.code)
        draft = await DIALOGUE.open(s, clock, conv, Step.CHOOSE_FIELD, {"assignment_id": a.id}, serial=update_id)
        return await DIALOGUE.snapshot(s, clock, draft)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


_NEXT = {Step.CHOOSE_FIELD: Step.AWAIT_VALUE, Step.AWAIT_VALUE: Step.AWAIT_REASON, Step.AWAIT_REASON: Step.CONFIRM}


async def advance(at: Step, text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                  clock: Clock) -> Snapshot:
    """One input of the dialogue at step ``at``: the field to change (refused while a request on it waits
    for a decision), the new value, or the reason. A refusal keeps the step."""
    clean = " ".join((text or "").split())
    if at == Step.CHOOSE_FIELD and clean not in FIELDS:
        raise DomainError("adjust.unexpected")
    if at == Step.AWAIT_REASON and len(clean) < MIN_REASON:
        raise DomainError("adjust.reason_short", min=MIN_REASON)

    async def work(turn: Turn[Snapshot]) -> Snapshot:
        d = turn.draft.data
        if at == Step.CHOOSE_FIELD:
            await _no_pending(turn.session, d["assignment_id"], clean, clock.tz)
            d.update(field=clean, new_value=None, reason=None)
        elif at == Step.AWAIT_VALUE:
            d["new_value"] = _new_value(text, await DIALOGUE.snapshot(turn.session, clock, turn.draft),
                                        clock.now().date())
        else:
            d["reason"] = clean[:MAX_REASON]
        return await DIALOGUE.move(turn, _NEXT[at])
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(at,), work=work)


async def confirm(serial: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Write the pending request and tell the office, in the transaction of the press. A second press
    writes nothing and answers like the first."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        s, d, person = turn.session, turn.draft.data, turn.person
        assert person is not None and person.id is not None
        a, target, unit = await _rows(s, d["assignment_id"])
        if a.unit_id not in await cadre_unit_ids(s, person):
            raise DomainError("adjust.not_your_target")
        if target.closed:
            raise DomainError("adjust.target_closed", code=target.code)
        field = d["field"]
        assert a.id is not None
        await _no_pending(s, a.id, field, clock.tz)
        # checked again: the plan may have moved, or the day passed, since the value was typed
        new = _new_value(d["new_value"], await DIALOGUE.snapshot(s, clock, turn.draft), clock.now().date())
        adj = TargetAdjustment(assignment_id=a.id, requested_by_person_id=person.id, field_name=field,
                               old_value=_old_value(a, field), new_value=new, reason=d["reason"],
                               status="pending", requested_at=clock.now())
        s.add(adj)
        await s.flush()
        assert adj.id is not None
        audit.record(s, clock, actor=f"person:{person.code}", action="adjustment.request", entity="assignment",
                     key=f"{target.code}/{unit.code}", before={field: adj.old_value},
                     after={field: new, "adjustment": adj.id, "status": "pending", "reason": adj.reason})
        await _tell_admins(s, clock, await _request(s, adj, clock))
        d.update(adjustment_id=adj.id, was=_old_value(a, field) or target.deadline.isoformat())
        return await DIALOGUE.move(turn, Step.DONE)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write)


# ---------------------------------------------------------------------------------- the office
async def _request(s: AsyncSession, adj: TargetAdjustment, clock: Clock) -> Request:
    _, target, unit = await _rows(s, adj.assignment_id)
    requester = await s.get(Person, adj.requested_by_person_id)
    decider = await s.get(Person, adj.decided_by_person_id) if adj.decided_by_person_id else None
    assert adj.id is not None
    return Request(id=adj.id, status=adj.status, target_code=target.code, title=target.title, unit_name=unit.name,
                   measure=target.measure, field=adj.field_name, old=adj.old_value, new=adj.new_value,
                   reason=adj.reason, requester=requester.name if requester else "?", target_deadline=target.deadline,
                   decided_by=decider.name if decider else None, effective_from=adj.effective_from,
                   decided_at=adj.decided_at.astimezone(clock.tz) if adj.decided_at else None)


def _change(r: Request, lang: str) -> dict[str, object]:
    return {"number": r.id, "title": r.title, "code": r.target_code, "field": t(f"adjust.field.{r.field}", lang),
            "old": shown(r.field, r.old, r.measure, lang, r.target_deadline),
            "new": shown(r.field, r.new, r.measure, lang, r.target_deadline)}


def request_text(r: Request, lang: str | None) -> str:
    """The request as the office reads it (HTML)."""
    return th("adjust.request", lang, name=r.requester, unit=r.unit_name, reason=r.reason, **_change(r, lang or ""))


async def _tell_admins(s: AsyncSession, clock: Clock, r: Request) -> None:
    admins = (await s.exec(select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id)).where(
        RoleMembership.role == Role.ADMIN.value, Person.active == True, col(Person.joined_at).is_not(None),  # noqa: E712
    ).order_by(col(Person.id)).distinct())).all()
    for admin in admins:
        lang = admin.language or ""
        buttons = [[{"text": t("adjust.btn_approve", lang), "callback_data": f"adj:ok:{r.id}"},
                    {"text": t("adjust.btn_reject", lang), "callback_data": f"adj:no:{r.id}"}]]
        await outbox.enqueue_to_person(s, clock, admin, text=request_text(r, lang), kind="adjust.request",
                                       dedup_key=f"adj:{r.id}", reply_markup={"inline_keyboard": buttons},
                                       parse_mode="HTML")


async def decide(adjustment_id: int, approve: bool, *, user_id: int, update_id: int | None, uow: UnitOfWork,
                 clock: Clock) -> Request:
    """An admin's Approve / Reject: approval applies the new value from today, audited; the requester is told
    through the outbox. A request decided already (a second press, another admin) changes nothing."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        if (await s.exec(select(RoleMembership.id).where(
                RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN.value))).first() is None:
            raise DomainError("adjust.not_admin")
        # Locked (PostgreSQL; SQLite's write transactions are serial): two admins cannot both decide.
        adj = (await s.exec(select(TargetAdjustment).where(TargetAdjustment.id == adjustment_id)
                            .with_for_update())).first()
        if adj is None:
            raise DomainError("adjust.unknown_request")
        if adj.status != "pending":
            return replace(await _request(s, adj, clock), already=True)
        await updates.claim(s, update_id, clock)
        a, target, unit = await _rows(s, adj.assignment_id)
        field, today, old = adj.field_name, clock.now().date(), _old_value(a, adj.field_name)
        adj.status = "approved" if approve else "rejected"
        adj.decided_by_person_id, adj.decided_at = person.id, clock.now()
        key, actor = f"{target.code}/{unit.code}", f"person:{person.code}"
        if approve:
            after = {field: adj.new_value, "adjustment": adj.id, "effective_from": today}
            if adj.old_value != old:  # the plan moved since the request: plan_as_of undoes to what was replaced
                after["requested_old"] = adj.old_value
            adj.effective_from, adj.old_value = today, old
            if field == "planned_value":
                a.planned_value = Decimal(adj.new_value)
            else:
                a.deadline = date.fromisoformat(adj.new_value)
            s.add(a)
            audit.record(s, clock, actor=actor, action="adjustment.approve", entity="assignment", key=key,
                         before={field: old}, after=after)
        else:
            audit.record(s, clock, actor=actor, action="adjustment.reject", entity="assignment", key=key,
                         before={"adjustment": adj.id, "status": "pending"},
                         after={"adjustment": adj.id, "status": "rejected", field: adj.new_value})
        s.add(adj)
        await s.flush()
        r = await _request(s, adj, clock)
        requester = await s.get(Person, adj.requested_by_person_id)
        if requester is not None:
            lang = requester.language or ""
            text = th("adjust.told_approved" if approve else "adjust.told_rejected", lang, name=person.name,
                      date=today.isoformat(), **_change(r, lang))
            await outbox.enqueue_to_person(s, clock, requester, kind="adjust.decided", parse_mode="HTML", text=text)
        await uow.commit()
        return r
