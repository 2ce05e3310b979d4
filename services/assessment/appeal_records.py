"""Appeals during public notice (公示): a unit's cadre objects with a reason while the round is published
and its window open (one pending appeal per unit); the office hears of it with Accept / Reject buttons
and accepts with a recorded correction (an AssessmentItem of kind "correction", signed points; 0 when
the error was put right elsewhere) — the results are recomputed and stored again — or rejects, with a
reason either way; the appellant is told. Every step is audited and exactly once under redelivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import Translator, normalise_language
from models.assessment import Appeal, AssessmentItem, AssessmentResult, AssessmentRound
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from models.plan import Unit
from services.alerts.recipients import office
from services.assessment.rounds import PUBLISHED, compute, get_round, local_time, store
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.people.viewer import cadre_unit_ids
from services.scoring import text as results_text
from services.scoring.results import UnitResult, from_json

APPEAL_KIND = "assess.appeal"
DECISION_KIND = "assess.decision"
MAX_REASON = 2000
MAX_CORRECTION = Decimal(100)


@dataclass(frozen=True)
class AppealView:
    id: int
    year: int
    unit_code: str
    unit_name: str
    person_name: str
    reason: str
    status: str
    created_at: datetime
    decision_reason: str | None = None
    decided_by: str | None = None
    correction: Decimal | None = None
    total: Decimal | None = None  # the unit's total and rank after the decision
    rank: int | None = None
    already: bool = False  # decided before: nothing changed now


# ---------------------------------------------------------------------------------- appeals
async def appeal_view(s: AsyncSession, ap: Appeal, **extra: Any) -> AppealView:
    assert ap.id is not None
    unit = await s.get(Unit, ap.unit_id)
    person = await s.get(Person, ap.person_id)
    item = (await s.exec(select(AssessmentItem).where(AssessmentItem.appeal_id == ap.id))).first()
    return AppealView(id=ap.id, year=ap.year, unit_code=unit.code if unit else "?",
                      unit_name=unit.name if unit else "?",
                      person_name=person.name if person else "?", reason=ap.reason, status=ap.status,
                      created_at=ap.created_at, decision_reason=ap.decision_reason, decided_by=ap.decided_by,
                      correction=item.points if item else None, **extra)


@dataclass(frozen=True)
class Standing:
    """What a cadre appeals against: their unit's stored result and the window."""

    year: int
    unit_id: int
    result: UnitResult
    appeal_until: datetime


async def appealable(s: AsyncSession, clock: Clock, person: Person, *, lock: bool = False) -> Standing:
    """The person's unit's published result, if they may appeal against it now; DomainError otherwise.
    ``lock``: the result row is locked (PostgreSQL), so that two cadres of one unit filing at once cannot
    both pass the one-pending-appeal rule."""
    units = await cadre_unit_ids(s, person)
    if not units:
        raise DomainError("appeal.not_cadre")
    unit_id = person.unit_id if person.unit_id in units else units[0]
    rnd = (await s.exec(select(AssessmentRound).where(AssessmentRound.status == PUBLISHED)
                        .order_by(col(AssessmentRound.year).desc()))).first()
    if rnd is None or rnd.appeal_until is None:
        raise DomainError("appeal.no_notice")
    if clock.now() > rnd.appeal_until:
        raise DomainError("appeal.window_closed", until=local_time(rnd.appeal_until, clock))
    query = select(AssessmentResult).where(AssessmentResult.year == rnd.year, AssessmentResult.unit_id == unit_id)
    row = (await s.exec(query.with_for_update() if lock else query)).first()
    if row is None:
        raise DomainError("appeal.no_result")
    pending = (await s.exec(select(Appeal).where(Appeal.year == rnd.year, Appeal.unit_id == unit_id,
                                                 Appeal.status == "pending"))).first()
    if pending is not None:
        raise DomainError("appeal.pending_exists", number=pending.id)
    return Standing(year=rnd.year, unit_id=unit_id, result=from_json(row.data or {}),
                    appeal_until=rnd.appeal_until.astimezone(clock.tz))


def clean_reason(text: str) -> str:
    reason = "\n".join(line.rstrip() for line in (text or "").replace("\r\n", "\n").split("\n")).strip()
    if not reason:
        raise DomainError("appeal.reason_required")
    if len(reason) > MAX_REASON:
        raise DomainError("appeal.reason_too_long", limit=MAX_REASON)
    return reason


def office_buttons(appeal_id: int, lang: str) -> dict[str, Any]:
    tr = Translator(lang, html=False)
    return {"inline_keyboard": [[{"text": tr("appeal.btn_accept"), "callback_data": f"apl:ok:{appeal_id}"},
                                 {"text": tr("appeal.btn_reject"), "callback_data": f"apl:no:{appeal_id}"}]]}


async def file_appeal(s: AsyncSession, clock: Clock, person: Person, reason: str, update_id: int | None) -> AppealView:
    """Record an appeal (in the caller's transaction, whose update id is claimed) and tell the office."""
    standing = await appealable(s, clock, person, lock=True)
    text = clean_reason(reason)
    assert person.id is not None
    ap = Appeal(year=standing.year, unit_id=standing.unit_id, person_id=person.id, reason=text, status="pending",
                created_at=clock.now(), update_id=update_id)
    s.add(ap)
    await s.flush()
    assert ap.id is not None
    u = standing.result
    audit.record(s, clock, actor=f"person:{person.code}", action="appeal.create", entity="appeal", key=str(ap.id),
                 after={"year": ap.year, "unit": u.unit_code, "reason": text, "total": u.total, "rank": u.rank})
    for admin in await office(s):
        lang = normalise_language(admin.language)
        tr = Translator(lang)
        body = tr("appeal.office_push", number=ap.id, unit=u.unit_name, code=u.unit_code, person=person.name,
                  total=results_text.display(u.total), rank=u.rank, size=u.class_size, reason=text)
        await outbox.enqueue_to_person(s, clock, admin, text=body, kind=APPEAL_KIND, parse_mode="HTML",
                                       dedup_key=f"appeal:{ap.id}", reply_markup=office_buttons(ap.id, lang))
    return await appeal_view(s, ap)


async def appeal(reason: str, *, user_id: int, update_id: int | None, uow: UnitOfWork, clock: Clock) -> AppealView:
    """A cadre's appeal against their unit's published result, in one step (the chat dialogue confirms
    first and calls ``file_appeal`` itself). Exactly once under redelivery (the update id is claimed)."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await active_person(s, user_id)
        view = await file_appeal(s, clock, person, reason, update_id)
        await uow.commit()
        return view


def parse_points(text: str) -> Decimal:
    raw = text.strip().replace("＋", "+").replace("－", "-").replace("−", "-").replace("，", ".")
    try:
        points = Decimal(raw)
    except InvalidOperation:
        raise DomainError("appeal.bad_points", value=text) from None
    if not points.is_finite() or abs(points) > MAX_CORRECTION or points != points.quantize(Decimal("0.01")):
        raise DomainError("appeal.bad_points", value=text)
    return points


async def admin_person(s: AsyncSession, user_id: int) -> Person:
    person = await active_person(s, user_id)
    is_admin = (await s.exec(select(RoleMembership.id).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN.value))).first()
    if is_admin is None:
        raise DomainError("appeal.not_admin")
    return person


async def pending_appeal(s: AsyncSession, appeal_id: int, *, lock: bool = False) -> tuple[Appeal, AssessmentRound]:
    """A pending appeal the office may decide now (its round is still published); DomainError otherwise."""
    query = select(Appeal).where(Appeal.id == appeal_id)
    if lock:
        query = query.with_for_update()
    ap = (await s.exec(query)).first()
    if ap is None:
        raise DomainError("appeal.unknown", number=appeal_id)
    rnd = await get_round(s, ap.year)
    if ap.status == "pending" and rnd.status != PUBLISHED:
        raise DomainError("appeal.round_not_published", number=appeal_id, status=rnd.status)
    return ap, rnd


async def record_decision(s: AsyncSession, clock: Clock, admin: Person, ap: Appeal, rnd: AssessmentRound,
                          accept: bool, reason: str, points: Decimal | None) -> AppealView:
    """Decide a pending appeal in the caller's transaction: the correction, the recomputation, the audit
    and the appellant's message. A decided appeal is returned unchanged with ``already``."""
    if ap.status != "pending":
        return await appeal_view(s, ap, already=True)
    reason = reason.strip()
    if not reason:
        raise DomainError("appeal.decision_reason_required")
    if len(reason) > MAX_REASON:
        raise DomainError("appeal.reason_too_long", limit=MAX_REASON)
    actor = f"person:{admin.code}"
    now = clock.now()
    ap.status, ap.decision_reason, ap.decided_by, ap.decided_at = (
        "accepted" if accept else "rejected", reason, admin.name[:64], now)
    s.add(ap)
    if accept and points:
        s.add(AssessmentItem(year=ap.year, unit_id=ap.unit_id, kind="correction", points=points, reason=reason,
                             evidence=f"appeal #{ap.id}: {ap.reason}"[:2000], appeal_id=ap.id, created_by=actor,
                             created_at=now))
    await s.flush()
    total = rank = None
    if accept:
        county = await compute(s, rnd, clock.tz)
        await store(s, clock, county)
        mine = next((u for u in county.units if u.unit_id == ap.unit_id), None)
        total, rank = (mine.total, mine.rank) if mine else (None, None)
    audit.record(s, clock, actor=actor, action="appeal.accept" if accept else "appeal.reject", entity="appeal",
                 key=str(ap.id), before={"status": "pending"},
                 after={"status": ap.status, "reason": reason, "correction": points if accept else None,
                        "total": total, "rank": rank})
    view = await appeal_view(s, ap, total=total, rank=rank)
    appellant = await s.get(Person, ap.person_id)
    if appellant is not None:
        tr = Translator(normalise_language(appellant.language))
        if accept:
            text = tr("appeal.accepted_push", number=ap.id, reason=reason,
                      correction=results_text.display(points or Decimal(0)),
                      total=results_text.display(total) if total is not None else "—", rank=rank or "—")
        else:
            text = tr("appeal.rejected_push", number=ap.id, reason=reason)
        await outbox.enqueue_to_person(s, clock, appellant, text=text, kind=DECISION_KIND, parse_mode="HTML",
                                       dedup_key=f"appeal:{ap.id}:decision")
    return view


async def decide(appeal_id: int, accept: bool, reason: str, correction_points: Decimal | None = None, *,
                 user_id: int, update_id: int | None, uow: UnitOfWork, clock: Clock) -> AppealView:
    """The office accepts (with ``correction_points``, signed, 0 or None for none) or rejects an appeal."""
    async with uow:
        s = uow.session
        admin = await admin_person(s, user_id)
        ap, rnd = await pending_appeal(s, appeal_id, lock=True)
        if ap.status != "pending":
            return await appeal_view(s, ap, already=True)
        await updates.claim(s, update_id, clock)
        view = await record_decision(s, clock, admin, ap, rnd, accept, reason, correction_points)
        await uow.commit()
        return view


async def appeals(year: int, *, uow: UnitOfWork) -> list[AppealView]:
    async with uow:
        s = uow.session
        await get_round(s, year)
        found = (await s.exec(select(Appeal).where(Appeal.year == year).order_by(col(Appeal.id)))).all()
        return [await appeal_view(s, ap) for ap in found]
