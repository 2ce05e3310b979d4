"""The /inspect dialogue as a service: a draft per inspector, moved one step per update.

Like /report: each step writes the draft, the conversation state and the update id in one
transaction, so a kill at any point leaves the inspector at the step the database says and a
redelivered update changes nothing. Only ``confirm`` writes an inspection.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.inspection import EvidenceFacts, Inspection, InspectionDraft, InspectionPhoto
from models.plan import Assignment, Target, Unit
from services.core import audit, conversations, updates
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.errors import DomainError
from services.core.files import record_file
from services.inspection.evidence import PhotoFacts, distance_m, plausible_location
from services.inspection.inspect_draft import (
    CONVERSATION,
    MAX_MATCHES,
    RATINGS,
    UNIT_PAGE,
    PhotoNote,
    Snapshot,
    Step,
    StepMismatch,
    _claimed,
    _current,
    _facts,
    _move,
    _open_draft,
    _person,
    _site,
    _snapshot,
    _target_of,
    draft_flags,
    in_scope,
    inspector_scope,
    local_time,
    photo_flag_dicts,
    unit_choices,
    units_in_scope,
)
from services.plan.values import ValueParseError, parse_value

__all__ = ["CONVERSATION", "ConvRef", "IncomingPhoto", "Snapshot", "Step", "StepMismatch"]


async def _pick_unit(
    s: AsyncSession, clock: Clock, draft: InspectionDraft, scope: frozenset[str] | None, text: str, conv: ConvRef,
    uow: UnitOfWork,
) -> Snapshot:
    """Typed text: a code or name (or part of one). One unit in scope: chosen; several: their buttons."""
    query = text.strip().casefold()
    units = (await s.exec(select(Unit).where(Unit.active == True).order_by(Unit.code))).all()  # noqa: E712
    exact = [u for u in units if query in (u.code.casefold(), u.name.casefold())]
    matches = exact or [u for u in units if query and (query in u.code.casefold() or query in u.name.casefold())]
    if not matches:
        raise DomainError("inspect.unknown_unit", text=text.strip()[:40])
    inside = [u for u in matches if in_scope(u, scope)]
    if not inside:
        raise DomainError("inspect.out_of_scope", unit=matches[0].name if len(matches) == 1 else text.strip()[:40])
    if len(inside) == 1:
        return await _choose_unit(s, clock, draft, inside[0], conv, uow)
    await _move(s, clock, draft, Step.CHOOSE_UNIT, conv)
    await s.flush()
    snap = await _snapshot(s, draft, clock.tz, units=unit_choices(inside[:MAX_MATCHES]), pages=1,
                           notice="inspect.several_units", notice_params={"count": len(inside)})
    await uow.commit()
    return snap


async def _choose_unit(
    s: AsyncSession, clock: Clock, draft: InspectionDraft, unit: Unit, conv: ConvRef, uow: UnitOfWork
) -> Snapshot:
    draft.unit_id, draft.assignment_id, draft.general = unit.id, None, False
    await _move(s, clock, draft, Step.CHOOSE_TARGET, conv)
    await s.flush()
    snap = await _snapshot(s, draft, clock.tz)
    await uow.commit()
    return snap


async def begin(
    query: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """/inspect [unit]: a fresh draft; the units in scope, or straight to the unit typed."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await _person(s, conv.user_id)
        scope = await inspector_scope(s, person)
        old = await _open_draft(s, person)
        if old is not None:
            old.status = "cancelled"
            s.add(old)
        draft = InspectionDraft(person_id=person.id, chat_id=conv.chat_id, step=Step.CHOOSE_UNIT.value,
                                created_at=clock.now(), updated_at=clock.now(), photos=[])
        s.add(draft)
        await s.flush()
        notice: dict[str, object] = {}
        if query:
            try:
                return await _pick_unit(s, clock, draft, scope, query, conv, uow)
            except DomainError as exc:  # shown above the list of units; the dialogue starts anyway
                notice = {"notice": exc.key, "notice_params": exc.params}
        await _move(s, clock, draft, Step.CHOOSE_UNIT, conv)
        await s.flush()
        snap = await _snapshot(s, draft, clock.tz, **notice)
        await uow.commit()
        return snap


async def unit_page(page: int, *, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Another page of the units in scope (reads only)."""
    async with uow:
        s = uow.session
        person, draft = await _current(s, conv, (Step.CHOOSE_UNIT,), clock.tz)
        units = await units_in_scope(s, await inspector_scope(s, person))
        pages = max(1, -(-len(units) // UNIT_PAGE))
        page = min(max(page, 0), pages - 1)
        chunk = units[page * UNIT_PAGE:(page + 1) * UNIT_PAGE]
        return await _snapshot(s, draft, clock.tz, units=unit_choices(chunk), page=page, pages=pages)


async def search_unit(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person, draft = await _current(s, conv, (Step.CHOOSE_UNIT,), clock.tz)
        return await _pick_unit(s, clock, draft, await inspector_scope(s, person), text, conv, uow)


async def choose_unit(unit_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person, draft = await _current(s, conv, (Step.CHOOSE_UNIT,), clock.tz)
        unit = await s.get(Unit, unit_id)
        if unit is None or not unit.active:
            raise DomainError("inspect.unknown_unit", text=str(unit_id))
        if not in_scope(unit, await inspector_scope(s, person)):
            raise DomainError("inspect.out_of_scope", unit=unit.name)
        return await _choose_unit(s, clock, draft, unit, conv, uow)


async def _advance(s: AsyncSession, clock: Clock, draft: InspectionDraft, step: Step, conv: ConvRef,
                   uow: UnitOfWork, **extra: object) -> Snapshot:
    await _move(s, clock, draft, step, conv)
    await s.flush()
    snap = await _snapshot(s, draft, clock.tz, **extra)
    await uow.commit()
    return snap


async def choose_target(
    assignment_id: int | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """One of the unit's open targets, or None: a general visit (no verified value)."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.CHOOSE_TARGET,), clock.tz)
        if assignment_id is not None:
            a = await s.get(Assignment, assignment_id)
            target = await s.get(Target, a.target_id) if a else None
            if a is None or a.unit_id != draft.unit_id or target is None or target.closed:
                raise DomainError("inspect.not_this_unit")
        draft.assignment_id, draft.general = assignment_id, assignment_id is None
        return await _advance(s, clock, draft, Step.AWAIT_LOCATION, conv, uow)


async def give_location(
    latitude: float, longitude: float, accuracy_m: float | None, *, forwarded: bool, venue: bool,
    conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock,
) -> Snapshot:
    """The inspector's current position: a fixed point shared from the phone, in China."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_LOCATION,), clock.tz)
        if forwarded:
            raise DomainError("inspect.location_forwarded")
        if venue:
            raise DomainError("inspect.location_venue")
        if not plausible_location(latitude, longitude):
            raise DomainError("inspect.location_implausible", lat=f"{latitude:.4f}", lon=f"{longitude:.4f}")
        draft.latitude, draft.longitude, draft.accuracy_m = latitude, longitude, accuracy_m
        return await _advance(s, clock, draft, Step.AWAIT_PHOTOS, conv, uow, location_taken=True)


@dataclass(frozen=True)
class IncomingPhoto:
    facts: PhotoFacts
    storage_key: str
    mime_type: str
    telegram_file_id: str
    telegram_file_unique_id: str | None
    compressed: bool  # sent as a Telegram photo, not as a file


async def add_photo(
    p: IncomingPhoto, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """A site photo, already stored: recorded once by content, analysed once, flagged for this visit."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person, draft = await _current(s, conv, (Step.AWAIT_PHOTOS,), clock.tz)
        f = p.facts
        evidence = await record_file(s, clock, person, sha256=f.sha256, size=f.size, mime_type=p.mime_type,
                                     storage_key=p.storage_key, telegram_file_id=p.telegram_file_id,
                                     telegram_file_unique_id=p.telegram_file_unique_id, kind="inspection_photo")
        assert evidence.id is not None
        row = await s.get(EvidenceFacts, evidence.id)
        if row is None:
            row = EvidenceFacts(evidence_id=evidence.id, is_image=f.is_image, has_exif=f.has_exif,
                                taken_at=f.taken_at, latitude=f.latitude, longitude=f.longitude, width=f.width,
                                height=f.height, phash=f.phash)
            s.add(row)
        photos = list(draft.photos or [])
        known = [i for i, item in enumerate(photos) if item["evidence_id"] == evidence.id]
        if not known:
            photos.append({"evidence_id": evidence.id, "compressed": p.compressed})
        number = (known[0] if known else len(photos) - 1) + 1
        compressed = bool(photos[number - 1]["compressed"])
        draft.photos = photos
        facts = _facts(row, f.sha256, f.size, compressed)
        site = await _site(s, draft)
        assert draft.unit_id is not None
        flags = await photo_flag_dicts(s, facts, number=number, compressed=compressed, visit_at=draft.created_at,
                                       unit_id=draft.unit_id, site=site, tz=clock.tz)
        distance = None
        if site is not None and facts.latitude is not None and facts.longitude is not None:
            distance = round(distance_m(site.latitude, site.longitude, facts.latitude, facts.longitude))
        note = PhotoNote(number=number, compressed=compressed, distance_m=distance, flags=tuple(flags),
                         taken_at=local_time(facts.taken_at, clock.tz) if facts.taken_at else None,
                         duplicate=bool(known))
        return await _advance(s, clock, draft, Step.AWAIT_PHOTOS, conv, uow, last_photo=note)


async def photos_done(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_PHOTOS,), clock.tz)
        if not draft.photos:
            raise DomainError("inspect.need_photo")
        return await _advance(s, clock, draft, Step.AWAIT_FINDINGS, conv, uow)


async def give_findings(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_FINDINGS,), clock.tz)
        clean = text.strip()
        if len(clean) < 2:
            raise DomainError("inspect.findings_required")
        draft.findings = clean[:2000]
        step = Step.AWAIT_RATING if draft.general else Step.AWAIT_VALUE
        return await _advance(s, clock, draft, step, conv, uow)


async def give_value(text: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """The value verified on site, in the target's measure (None: not verified)."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_VALUE,), clock.tz)
        if text is None:
            draft.verified_value = draft.verified_text = None
        else:
            target = await _target_of(s, draft)
            try:
                parsed = parse_value(text, target.measure)
            except ValueParseError as exc:
                raise DomainError(exc.key, **exc.params) from None
            draft.verified_value, draft.verified_text = parsed.value, parsed.text
        return await _advance(s, clock, draft, Step.AWAIT_RATING, conv, uow)


async def rate(rating: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """good / acceptable / poor; the summary with every flag follows."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        _, draft = await _current(s, conv, (Step.AWAIT_RATING,), clock.tz)
        if rating not in RATINGS:
            raise DomainError("inspect.bad_rating")
        draft.rating = rating
        return await _advance(s, clock, draft, Step.CONFIRM, conv, uow)


async def cancel(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> bool:
    """Drop the open draft (nothing is written); False if there was none."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await _person(s, conv.user_id)
        draft = await _open_draft(s, person)
        await conversations.put(s, clock, CONVERSATION, conv.key, None)
        if draft is not None:
            draft.status = "cancelled"
            await _move(s, clock, draft, Step.CANCELLED, conv)
        await uow.commit()
        return draft is not None


async def confirm(draft_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
) -> Snapshot:
    """Write the inspection and its photos with their flags, in the transaction of the update that
    confirmed it. A second press (or a redelivered update) writes nothing and answers like the first."""
    async with uow:
        s = uow.session
        draft = await s.get(InspectionDraft, draft_id)
        person = await _person(s, conv.user_id)
        if draft is None or draft.person_id != person.id:
            raise DomainError("inspect.no_draft")
        if draft.status == "confirmed":
            return await _snapshot(s, draft, clock.tz, notice="inspect.already_confirmed")
        if draft.status != "open" or Step(draft.step) != Step.CONFIRM:
            raise StepMismatch(await _snapshot(s, draft, clock.tz))
        await updates.claim(s, update_id, clock)
        unit = await s.get(Unit, draft.unit_id)
        assert unit is not None and draft.rating is not None
        if not in_scope(unit, await inspector_scope(s, person)):
            raise DomainError("inspect.out_of_scope", unit=unit.name)
        flags, per_photo = await draft_flags(s, draft, draft.created_at, clock.tz)
        claimed = await _claimed(s, draft.assignment_id)
        inspection = Inspection(
            inspector_person_id=person.id, unit_id=unit.id, assignment_id=draft.assignment_id,
            visited_at=draft.created_at, latitude=draft.latitude, longitude=draft.longitude,
            accuracy_m=draft.accuracy_m, findings=draft.findings or "", claimed_value=claimed,
            verified_value=draft.verified_value, rating=draft.rating, flags=flags, update_id=update_id,
            draft_id=draft.id,
        )
        s.add(inspection)
        await s.flush()
        for item in draft.photos or []:
            s.add(InspectionPhoto(inspection_id=inspection.id, evidence_id=item["evidence_id"],
                                  compressed=bool(item.get("compressed")), flags=per_photo.get(item["evidence_id"])))
        target = await _target_of(s, draft) if draft.assignment_id else None
        audit.record(s, clock, actor=f"person:{person.code}", action="inspection.create", entity="inspection",
                     key=str(inspection.id), before=None,
                     after={"unit": unit.code, "target": target.code if target else None,
                            "visited_at": draft.created_at, "location": [draft.latitude, draft.longitude],
                            "accuracy_m": draft.accuracy_m, "claimed": claimed, "verified": draft.verified_value,
                            "rating": draft.rating, "photos": len(draft.photos or []),
                            "flags": [f["kind"] for f in flags]})
        draft.status = "confirmed"
        draft.inspection_id = inspection.id
        return await _advance(s, clock, draft, Step.DONE, conv, uow)


async def resume(*, conv: ConvRef, uow: UnitOfWork, clock: Clock) -> Snapshot | None:
    """The open draft of this inspector, to re-prompt its step (after a restart or a stray message)."""
    async with uow:
        s = uow.session
        person = await _person(s, conv.user_id)
        draft = await _open_draft(s, person)
        return await _snapshot(s, draft, clock.tz) if draft else None

