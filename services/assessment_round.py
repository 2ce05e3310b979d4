"""The round's results: public notice (公示), appeals, freezing.

``publish`` computes every unit's result with the round's own rules text and data cut-off, stores one
AssessmentResult row per unit (the whole breakdown as a snapshot), opens the appeal window and tells
each unit's cadres their breakdown and rank through the outbox. During the window a unit's cadre may
appeal once at a time (``appeal``: the office hears of it with Accept / Reject buttons); the office
accepts with a recorded correction (an AssessmentItem of kind "correction", signed points; 0 when the
error was put right elsewhere, e.g. a revoked item) — the results are recomputed — or rejects, with a
reason either way, and the appellant is told. ``close`` recomputes once more, freezes the rows and
records the rules' hash and the cut-off in the audit; every view reads the rows, so nothing reported
later changes a closed round. ``reopen`` (audited, with a reason) puts a closed round back to
published, optionally with a new appeal window; closing again recomputes.

While a round is open nothing is stored: ``results`` computes live (the office's preview).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import Translator, normalise_language
from models.assessment import Appeal, AssessmentItem, AssessmentResult, AssessmentRound
from models.db import UnitOfWork
from models.enums import Role
from models.tables import KeyValue, Person, RoleMembership, Unit
from services import audit, outbox, results_text, scoring, updates
from services.alert_people import office
from services.assessment_rules import parse_rules
from services.clock import Clock
from services.errors import DomainError
from services.people import active_person, cadre_unit_ids
from services.scoring_types import CountyResult, GroupResult, UnitResult, from_json, to_json

RESULT_KIND = "assess.result"
APPEAL_KIND = "assess.appeal"
DECISION_KIND = "assess.decision"
MAX_DAYS = 30
MAX_REASON = 2000
MAX_CORRECTION = Decimal(100)
OPEN, PUBLISHED, CLOSED = "open", "published", "closed"


@dataclass(frozen=True)
class Results:
    year: int
    status: str  # open / published / closed
    live: bool  # computed now (an open round: the office's preview), not read from the stored rows
    county: CountyResult
    appeal_until: datetime | None


@dataclass(frozen=True)
class Published:
    year: int
    units: int
    told: int  # cadres queued a message
    appeal_until: datetime


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


# ---------------------------------------------------------------------------------- rounds and rows
def _when(moment: datetime, clock: Clock) -> str:
    return moment.astimezone(clock.tz).strftime("%Y-%m-%d %H:%M")


def groups_key(year: int) -> str:
    return f"assessment.groups.{year}"


async def get_round(s: AsyncSession, year: int, *, lock: bool = False) -> AssessmentRound:
    query = select(AssessmentRound).where(AssessmentRound.year == year)
    if lock:
        query = query.with_for_update()
    rnd = (await s.exec(query)).first()
    if rnd is None:
        raise DomainError("results.no_round", year=year)
    return rnd


async def latest_round(s: AsyncSession) -> AssessmentRound:
    rnd = (await s.exec(select(AssessmentRound).order_by(col(AssessmentRound.year).desc()))).first()
    if rnd is None:
        raise DomainError("results.no_rounds")
    return rnd


async def compute(s: AsyncSession, rnd: AssessmentRound, tz: ZoneInfo) -> CountyResult:
    """The round's results now, with its own rules text and cut-off."""
    return await scoring.compute(s, rnd.year, parse_rules(rnd.rules_toml), rnd.cutoff, tz)


def _groups_json(groups: list[GroupResult]) -> str:
    return json.dumps([{"group_id": g.group_id, "code": g.code, "name": g.name, "complete": g.complete,
                        "failing": [list(f) for f in g.failing]} for g in groups], ensure_ascii=False)


def _groups(text: str | None) -> list[GroupResult]:
    return [GroupResult(group_id=g["group_id"], code=g["code"], name=g["name"], complete=g["complete"],
                        failing=[(a, b) for a, b in g["failing"]]) for g in json.loads(text or "[]")]


async def store(s: AsyncSession, clock: Clock, county: CountyResult) -> None:
    """Write (or overwrite) one row per unit and the leading groups' outcome."""
    now = clock.now()
    existing = {r.unit_id: r for r in (await s.exec(
        select(AssessmentResult).where(AssessmentResult.year == county.year))).all()}
    for u in county.units:
        row = existing.pop(u.unit_id, None) or AssessmentResult(year=county.year, unit_id=u.unit_id)
        row.unit_class, row.total, row.rank, row.grade = u.unit_class, u.total, u.rank, u.grade
        row.data, row.computed_at = to_json(u), now
        s.add(row)
    for stale in existing.values():  # a unit with nothing to assess any more
        await s.delete(stale)
    key = groups_key(county.year)
    kv = await s.get(KeyValue, key)
    text = _groups_json(county.groups)
    if kv is None:
        s.add(KeyValue(key=key, value=text, updated_at=now))
    else:
        kv.value, kv.updated_at = text, now
        s.add(kv)
    await s.flush()


async def stored(s: AsyncSession, rnd: AssessmentRound, unit_ids: set[int] | None = None) -> CountyResult:
    """The results as stored at publication, at the last decision or at close (``unit_ids``: only those)."""
    query = select(AssessmentResult).where(AssessmentResult.year == rnd.year)
    if unit_ids is not None:
        query = query.where(col(AssessmentResult.unit_id).in_(sorted(unit_ids)))
    rows = (await s.exec(query)).all()
    units = sorted((from_json(r.data or {}) for r in rows), key=lambda u: (u.unit_class, u.rank, u.unit_code))
    kv = await s.get(KeyValue, groups_key(rnd.year))
    return CountyResult(year=rnd.year, cutoff=rnd.cutoff, rules_hash=rnd.rules_hash, units=units,
                        groups=_groups(kv.value if kv else None))


async def results_in(s: AsyncSession, rnd: AssessmentRound, tz: ZoneInfo,
                     unit_ids: set[int] | None = None) -> Results:
    """Stored results (of ``unit_ids`` only, if given) once published; computed now while open."""
    live = rnd.status == OPEN
    county = await compute(s, rnd, tz) if live else await stored(s, rnd, unit_ids)
    return Results(year=rnd.year, status=rnd.status, live=live, county=county, appeal_until=rnd.appeal_until)


async def results(year: int | None, *, uow: UnitOfWork, clock: Clock, tz: ZoneInfo | None = None) -> Results:
    """A year's results (the latest round's without a year): stored once published, live while open."""
    async with uow:
        s = uow.session
        rnd = await get_round(s, year) if year is not None else await latest_round(s)
        return await results_in(s, rnd, tz or clock.tz)


# ---------------------------------------------------------------------------------- publication
async def _cadres_by_unit(s: AsyncSession, unit_ids: list[int]) -> dict[int, list[Person]]:
    """The reachable, active cadres of each unit."""
    out: dict[int, list[Person]] = {}
    if not unit_ids:
        return out
    found = await s.exec(
        select(RoleMembership.unit_id, Person)
        .join(Person, col(Person.id) == col(RoleMembership.person_id))
        .where(RoleMembership.role == Role.CADRE.value, col(RoleMembership.unit_id).in_(unit_ids),
               Person.active == True, col(Person.telegram_user_id).is_not(None),  # noqa: E712
               col(Person.unreachable_at).is_(None))
        .order_by(col(Person.id)))
    for unit_id, person in found.all():
        assert unit_id is not None
        if all(p.id != person.id for p in out.setdefault(unit_id, [])):
            out[unit_id].append(person)
    return out


async def _tell_units(s: AsyncSession, clock: Clock, rnd: AssessmentRound, county: CountyResult) -> int:
    assert rnd.published_at is not None and rnd.appeal_until is not None
    cadres = await _cadres_by_unit(s, [u.unit_id for u in county.units])
    stamp = rnd.published_at.astimezone(clock.tz).strftime("%Y%m%d%H%M%S")
    until = rnd.appeal_until.astimezone(clock.tz)
    told = 0
    for u in county.units:
        for person in cadres.get(u.unit_id, []):
            tr = Translator(normalise_language(person.language))
            row = await outbox.enqueue_to_person(
                s, clock, person, text=results_text.publish_push(u, tr, rnd.year, until), kind=RESULT_KIND,
                parse_mode="HTML", dedup_key=f"results:{rnd.year}:{u.unit_id}:{stamp}")
            told += row is not None
    return told


async def publish(year: int, days: int, *, actor: str, uow: UnitOfWork, clock: Clock,
                  tz: ZoneInfo | None = None) -> Published:
    """Open round → published: compute, store, open the appeal window for ``days`` days, tell the units."""
    if not 1 <= days <= MAX_DAYS:
        raise DomainError("results.bad_days", days=days, limit=MAX_DAYS)
    async with uow:
        s = uow.session
        rnd = await get_round(s, year, lock=True)
        if rnd.status != OPEN:
            raise DomainError("results.not_open", year=year, status=rnd.status)
        county = await compute(s, rnd, tz or clock.tz)
        await store(s, clock, county)
        now = clock.now()
        rnd.status, rnd.published_at, rnd.appeal_until = PUBLISHED, now, now + timedelta(days=days)
        s.add(rnd)
        told = await _tell_units(s, clock, rnd, county)
        audit.record(s, clock, actor=actor, action="assessment.publish", entity="assessment_round", key=str(year),
                     before={"status": OPEN},
                     after={"status": PUBLISHED, "appeal_until": rnd.appeal_until, "units": len(county.units),
                            "rules_hash": rnd.rules_hash, "cutoff": rnd.cutoff, "told": told})
        await uow.commit()
        return Published(year=year, units=len(county.units), told=told, appeal_until=rnd.appeal_until)


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


async def appealable(s: AsyncSession, clock: Clock, person: Person) -> Standing:
    """The person's unit's published result, if they may appeal against it now; DomainError otherwise."""
    units = await cadre_unit_ids(s, person)
    if not units:
        raise DomainError("appeal.not_cadre")
    unit_id = person.unit_id if person.unit_id in units else units[0]
    rnd = (await s.exec(select(AssessmentRound).where(AssessmentRound.status == PUBLISHED)
                        .order_by(col(AssessmentRound.year).desc()))).first()
    if rnd is None or rnd.appeal_until is None:
        raise DomainError("appeal.no_notice")
    if clock.now() > rnd.appeal_until:
        raise DomainError("appeal.window_closed", until=_when(rnd.appeal_until, clock))
    row = (await s.exec(select(AssessmentResult).where(AssessmentResult.year == rnd.year,
                                                       AssessmentResult.unit_id == unit_id))).first()
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
    standing = await appealable(s, clock, person)
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


# ---------------------------------------------------------------------------------- freezing
async def close(year: int, *, actor: str, uow: UnitOfWork, clock: Clock, tz: ZoneInfo | None = None) -> CountyResult:
    """Published round → closed: every appeal decided and the window over; recompute and freeze."""
    async with uow:
        s = uow.session
        rnd = await get_round(s, year, lock=True)
        if rnd.status != PUBLISHED:
            raise DomainError("results.already_closed" if rnd.status == CLOSED else "results.not_published",
                              year=year)
        pending = (await s.exec(select(Appeal.id).where(Appeal.year == year, Appeal.status == "pending")
                                .order_by(col(Appeal.id)))).all()
        if pending:
            raise DomainError("results.pending_appeals", count=len(pending),
                              numbers=", ".join(f"#{n}" for n in pending))
        if rnd.appeal_until is not None and clock.now() < rnd.appeal_until:
            raise DomainError("results.window_open", until=_when(rnd.appeal_until, clock))
        county = await compute(s, rnd, tz or clock.tz)
        await store(s, clock, county)
        rnd.status, rnd.closed_at = CLOSED, clock.now()
        s.add(rnd)
        audit.record(s, clock, actor=actor, action="assessment.close", entity="assessment_round", key=str(year),
                     before={"status": PUBLISHED},
                     after={"status": CLOSED, "rules_hash": rnd.rules_hash, "cutoff": rnd.cutoff,
                            "units": len(county.units),
                            "totals": {u.unit_code: [u.total, u.rank, u.grade] for u in county.units}})
        await uow.commit()
        return county


async def reopen(year: int, reason: str, *, actor: str, uow: UnitOfWork, clock: Clock,
                 days: int | None = None) -> AssessmentRound:
    """Closed round → published (audited, with a reason); ``days``: a new appeal window from now."""
    reason = reason.strip()
    if not reason:
        raise DomainError("results.reopen_reason_required")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise DomainError("results.bad_days", days=days, limit=MAX_DAYS)
    async with uow:
        s = uow.session
        rnd = await get_round(s, year, lock=True)
        if rnd.status != CLOSED:
            raise DomainError("results.not_closed", year=year, status=rnd.status)
        before = {"status": CLOSED, "closed_at": rnd.closed_at, "appeal_until": rnd.appeal_until}
        now = clock.now()
        rnd.status, rnd.reopened_at, rnd.closed_at = PUBLISHED, now, None
        if days is not None:
            rnd.appeal_until = now + timedelta(days=days)
        s.add(rnd)
        audit.record(s, clock, actor=actor, action="assessment.reopen", entity="assessment_round", key=str(year),
                     before=before, after={"status": PUBLISHED, "reason": reason, "appeal_until": rnd.appeal_until})
        await uow.commit()
        return rnd


async def count_results(year: int, *, uow: UnitOfWork) -> int:
    async with uow:
        return int((await uow.session.exec(
            select(func.count()).select_from(AssessmentResult).where(AssessmentResult.year == year))).one())
