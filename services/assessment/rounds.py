"""The round's results: public notice (公示) and freezing (appeals: services/assessment/appeal_records.py).

``publish`` computes every unit's result with the round's own rules text and data cut-off, stores one
AssessmentResult row per unit (the whole breakdown as a snapshot), opens the appeal window and tells
each unit's cadres their breakdown and rank through the outbox. ``close`` recomputes once more,
freezes the rows and records the rules' hash and the cut-off in the audit; every view reads the rows,
so nothing reported later changes a closed round. ``reopen`` (audited, with a reason) puts a closed
round back to published, optionally with a new appeal window; closing again recomputes.

While a round is open nothing is stored: ``results`` computes live (the office's preview). /score and
/ranking (services/assessment/results.py) pass their clock: their preview is computed at most once a
``PREVIEW_TTL`` per database and round, and requests meanwhile share it (so it may be up to a minute
old); the command line and the workbook always compute afresh.

The CPU-heavy parts run in a worker thread, the event loop (every county of the process) running
meanwhile: the arithmetic of a computation (services/scoring/formula.py), the decoding of stored
results (``stored``: a snapshot per unit, 20,000 assignment lines in a county of 1,000 units) and
their encoding (``store``).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, cast
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import Translator, normalise_language
from models.assessment import Appeal, AssessmentResult, AssessmentRound
from models.core import KeyValue
from models.db import UnitOfWork
from models.enums import Role
from models.people import Person, RoleMembership
from services.core import audit, outbox
from services.core.clock import Clock
from services.core.errors import DomainError
from services.scoring import formula
from services.scoring import text as results_text
from services.scoring.load import rows_of
from services.scoring.results import CountyResult, GroupResult, UnitResult, from_json, to_json
from services.scoring.rules import parse_rules

RESULT_KIND = "assess.result"
PREVIEW_TTL = timedelta(minutes=1)
MAX_DAYS = 30
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


# ---------------------------------------------------------------------------------- rounds and rows
def local_time(moment: datetime, clock: Clock) -> str:
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
    return await formula.compute(s, rnd.year, parse_rules(rnd.rules_toml), rnd.cutoff, tz)


# The previews of /score and /ranking, per database (the engine: dropped with it), by round: when each
# was computed and the result, or the future of one being computed. Filled on first use.
_previews: weakref.WeakKeyDictionary[Any, dict[tuple, tuple[datetime, CountyResult] | asyncio.Future]] = (
    weakref.WeakKeyDictionary())


async def preview(s: AsyncSession, rnd: AssessmentRound, tz: ZoneInfo, clock: Clock) -> CountyResult:
    """``compute``, or the same round's result computed less than ``PREVIEW_TTL`` ago (by ``clock``); a
    request while it is being computed waits for that computation instead of starting another."""
    cache = _previews.setdefault(s.bind, {})
    key = (rnd.year, rnd.cutoff, rnd.rules_hash, rnd.rules_toml, tz.key)
    now = clock.now()
    found = cache.get(key)
    if isinstance(found, asyncio.Future) and found.get_loop() is asyncio.get_running_loop():
        try:
            return await asyncio.shield(found)
        except Exception:  # the computation it waited for failed: try once more itself
            found = None
    if isinstance(found, tuple) and timedelta(0) <= now - found[0] < PREVIEW_TTL:
        return found[1]
    future: asyncio.Future[CountyResult] = asyncio.get_running_loop().create_future()
    cache[key] = future
    try:
        county = await compute(s, rnd, tz)
    except BaseException as exc:
        cache.pop(key, None)
        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the preview was interrupted"))
        future.exception()  # (retrieved: no "never retrieved" warning when nobody waited)
        raise
    cache[key] = (now, county)
    future.set_result(county)
    return county


def _groups_json(groups: list[GroupResult]) -> str:
    return json.dumps([{"group_id": g.group_id, "code": g.code, "name": g.name, "complete": g.complete,
                        "failing": [list(f) for f in g.failing], "head_code": g.head_code,
                        "head_name": g.head_name} for g in groups], ensure_ascii=False)


def _groups(text: str | None) -> list[GroupResult]:
    return [GroupResult(group_id=g["group_id"], code=g["code"], name=g["name"], complete=g["complete"],
                        failing=[(a, b) for a, b in g["failing"]], head_code=g.get("head_code", ""),
                        head_name=g.get("head_name", "")) for g in json.loads(text or "[]")]


async def store(s: AsyncSession, clock: Clock, county: CountyResult) -> None:
    """Write (or overwrite) one row per unit and the leading groups' outcome."""
    now = clock.now()
    snapshots = await asyncio.to_thread(lambda: [to_json(u) for u in county.units])
    existing = {r.unit_id: r for r in (await s.exec(
        select(AssessmentResult).where(AssessmentResult.year == county.year))).all()}
    for u, snapshot in zip(county.units, snapshots, strict=True):
        row = existing.pop(u.unit_id, None) or AssessmentResult(year=county.year, unit_id=u.unit_id)
        row.unit_class, row.total, row.rank, row.grade = u.unit_class, u.total, u.rank, u.grade
        row.data, row.computed_at = snapshot, now
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


def _decode(snapshots: list[str | None]) -> list[UnitResult]:
    units = [from_json(json.loads(text) if text else {}) for text in snapshots]
    return sorted(units, key=lambda u: (u.unit_class, u.rank, u.unit_code))


async def stored(s: AsyncSession, rnd: AssessmentRound, unit_ids: set[int] | None = None) -> CountyResult:
    """The results as stored at publication, at the last decision or at close (``unit_ids``: only those).
    The snapshots are read as text and decoded in a worker thread."""
    query = select(cast(AssessmentResult.data, Text)).where(AssessmentResult.year == rnd.year)
    if unit_ids is not None:
        query = query.where(col(AssessmentResult.unit_id).in_(sorted(unit_ids)))
    rows = await rows_of(await s.connection(), query)
    units = await asyncio.to_thread(_decode, [r[0] for r in rows])
    kv = await s.get(KeyValue, groups_key(rnd.year))
    return CountyResult(year=rnd.year, cutoff=rnd.cutoff, rules_hash=rnd.rules_hash, units=units,
                        groups=_groups(kv.value if kv else None))


async def results_in(s: AsyncSession, rnd: AssessmentRound, tz: ZoneInfo,
                     unit_ids: set[int] | None = None, *, clock: Clock | None = None) -> Results:
    """Stored results (of ``unit_ids`` only, if given) once published; computed now while open (with a
    ``clock``: the minute's preview, see the module docstring)."""
    live = rnd.status == OPEN
    if not live:
        county = await stored(s, rnd, unit_ids)
    elif clock is not None:
        county = await preview(s, rnd, tz, clock)
    else:
        county = await compute(s, rnd, tz)
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
            raise DomainError("results.window_open", until=local_time(rnd.appeal_until, clock))
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
