"""The /inspect dialogue as a service: a site visit, one step per update (the dialogue skeleton,
services/core/dialogue.py). Only ``confirm`` writes an inspection, with its photos and their flags, audited.

Steps: /inspect [unit] → CHOOSE_UNIT → CHOOSE_TARGET → AWAIT_LOCATION → AWAIT_PHOTOS → AWAIT_FINDINGS →
(AWAIT_VALUE, not for a general visit) → AWAIT_RATING → CONFIRM → done. The visit's time is when it began.
Who may visit which unit: services/inspection/scope.py; the photos step: inspect_photos.py; the flags before Confirm:
flags.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.inspection import Inspection, InspectionPhoto
from models.people import Person
from models.plan import Assignment, Target, Unit
from services.core import audit
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DomainError
from services.inspection import holds
from services.inspection.evidence import plausible_location
from services.inspection.flags import claimed_value, site_of, visit_flags
from services.inspection.scope import UnitChoice, in_scope, inspector_scope, unit_choices, units_in_scope
from services.plan.values import ValueParseError, parse_value

UNIT_PAGE = 10
MAX_MATCHES = 30
RATINGS = ("good", "acceptable", "poor")


class Step(StrEnum):
    CHOOSE_UNIT = "choose_unit"
    CHOOSE_TARGET = "choose_target"
    AWAIT_LOCATION = "await_location"
    AWAIT_PHOTOS = "await_photos"
    AWAIT_FINDINGS = "await_findings"
    AWAIT_VALUE = "await_value"
    AWAIT_RATING = "await_rating"
    CONFIRM = "confirm"
    DONE = DONE


@dataclass(frozen=True)
class TargetChoice:
    assignment_id: int
    code: str
    title: str


@dataclass(frozen=True)
class PhotoNote:
    """What the bot says about the photo just received."""

    number: int
    compressed: bool
    taken_at: str | None  # local time, "2027-03-22 08:30"
    distance_m: int | None  # from the site to the EXIF GPS position
    flags: tuple[dict[str, Any], ...]
    duplicate: bool = False


@dataclass(frozen=True)
class Snapshot:
    """What the inspector is shown about the draft at any step."""

    serial: int
    step: Step
    unit_code: str | None = None
    unit_name: str | None = None
    general: bool = False
    target_code: str | None = None
    title: str | None = None
    measure: str = ""
    planned: Decimal | None = None
    claimed: Decimal | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    has_site: bool = True
    photos: int = 0
    findings: str | None = None
    verified_value: Decimal | None = None
    verified_text: str | None = None
    rating: str | None = None
    units: tuple[UnitChoice, ...] = ()
    page: int = 0
    pages: int = 1
    targets: tuple[TargetChoice, ...] = ()
    flags: tuple[dict[str, Any], ...] = ()
    last_photo: PhotoNote | None = None
    inspection_id: int | None = None
    location_taken: bool = False
    notice: str | None = None
    notice_params: dict[str, object] = field(default_factory=dict)


def visit_at(draft: Draft) -> datetime:
    return datetime.fromisoformat(draft.data["visit_at"])


async def _target_rows(s: AsyncSession, unit_id: int) -> list[tuple[Assignment, Target]]:
    return list((await s.exec(
        select(Assignment, Target).join(Target, col(Target.id) == col(Assignment.target_id))
        .where(Assignment.unit_id == unit_id, Target.closed == False)  # noqa: E712
        .order_by(col(Target.deadline), col(Target.code)))).all())


class InspectDialogue(Dialogue[Snapshot]):
    name = "inspect"
    no_draft = "inspect.no_draft"

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Snapshot:
        d, step = draft.data, Step(draft.step)
        verified = d.get("verified_value")
        base: dict[str, Any] = {
            "serial": draft.serial, "step": step, "general": bool(d.get("general")), "latitude": d.get("latitude"),
            "longitude": d.get("longitude"), "accuracy_m": d.get("accuracy_m"), "photos": len(d.get("photos") or []),
            "findings": d.get("findings"), "verified_value": Decimal(verified) if verified is not None else None,
            "verified_text": d.get("verified_text"), "rating": d.get("rating"), "inspection_id": d.get("inspection_id"),
        }
        if step == Step.CHOOSE_UNIT and "units" not in extra:
            person = await s.get(Person, d["person_id"])
            assert person is not None
            units = await units_in_scope(s, await inspector_scope(s, person))
            base.update(units=unit_choices(units[:UNIT_PAGE]), pages=max(1, -(-len(units) // UNIT_PAGE)))
        if d.get("unit_id") is not None:
            unit = await s.get(Unit, d["unit_id"])
            assert unit is not None
            base.update(unit_code=unit.code, unit_name=unit.name)
            if step == Step.CHOOSE_TARGET:
                rows = await _target_rows(s, d["unit_id"])
                base["targets"] = tuple(TargetChoice(a.id or 0, t.code, t.title) for a, t in rows)
            base["has_site"] = await site_of(s, d["unit_id"], d.get("assignment_id")) is not None
        if d.get("assignment_id") is not None:
            a = await s.get(Assignment, d["assignment_id"])
            target = await s.get(Target, a.target_id) if a else None
            assert a is not None and target is not None
            base.update(target_code=target.code, title=target.title, measure=target.measure, planned=a.planned_value,
                        claimed=await claimed_value(s, d["assignment_id"]))
        if step == Step.CONFIRM:
            base["flags"] = tuple((await visit_flags(s, d, visit_at(draft), clock.tz))[0])
        elif step == Step.DONE and d.get("inspection_id") is not None:
            inspection = await s.get(Inspection, d["inspection_id"])
            if inspection is not None:
                base.update(flags=tuple(inspection.flags or ()), claimed=inspection.claimed_value)
        base.update({k: v for k, v in extra.items() if v is not None})
        return Snapshot(**base)


DIALOGUE = InspectDialogue()
cancel = DIALOGUE.cancel
resume = DIALOGUE.resume


async def _pick_unit(turn: Turn[Snapshot], scope: frozenset[str] | None, text: str) -> Snapshot:
    """Typed text: a code or name (or part of one). One unit in scope: chosen; several: their buttons."""
    query = text.strip().casefold()
    units = (await turn.session.exec(select(Unit).where(Unit.active == True).order_by(Unit.code))).all()  # noqa: E712
    exact = [u for u in units if query in (u.code.casefold(), u.name.casefold())]
    matches = exact or [u for u in units if query and (query in u.code.casefold() or query in u.name.casefold())]
    if not matches:
        raise DomainError("inspect.unknown_unit", text=text.strip()[:40])
    inside = [u for u in matches if in_scope(u, scope)]
    if not inside:
        raise DomainError("inspect.out_of_scope", unit=matches[0].name if len(matches) == 1 else text.strip()[:40])
    if len(inside) == 1:
        return await _choose_unit(turn, inside[0])
    return await DIALOGUE.move(turn, Step.CHOOSE_UNIT, units=unit_choices(inside[:MAX_MATCHES]), pages=1,
                               notice="inspect.several_units", notice_params={"count": len(inside)})


async def _choose_unit(turn: Turn[Snapshot], unit: Unit) -> Snapshot:
    turn.draft.data.update(unit_id=unit.id, assignment_id=None, general=False)
    return await DIALOGUE.move(turn, Step.CHOOSE_TARGET)


async def begin(query: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """/inspect [unit]: a fresh draft; the units in scope, or straight to the unit typed."""
    async def start(s: AsyncSession, person: Person | None) -> Snapshot:
        assert person is not None
        scope = await inspector_scope(s, person)
        draft = await DIALOGUE.open(s, clock, conv, Step.CHOOSE_UNIT, {
            "person_id": person.id, "visit_at": clock.now().isoformat(), "photos": []}, serial=update_id)
        turn = Turn(s, clock, conv, person, draft)
        notice: dict[str, Any] = {}
        if query:
            try:
                return await _pick_unit(turn, scope, query)
            except DomainError as exc:  # shown above the list of units; the dialogue starts anyway
                notice = {"notice": exc.key, "notice_params": exc.params}
        return await DIALOGUE.move(turn, Step.CHOOSE_UNIT, **notice)
    return await DIALOGUE.begin(conv, update_id, uow, clock, start)


async def unit_page(page: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Another page of the units in scope (the draft stays where it is)."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        units = await units_in_scope(turn.session, await inspector_scope(turn.session, turn.person))
        pages = max(1, -(-len(units) // UNIT_PAGE))
        at = min(max(page, 0), pages - 1)
        chunk = units[at * UNIT_PAGE:(at + 1) * UNIT_PAGE]
        return await DIALOGUE.snapshot(turn.session, clock, turn.draft, units=unit_choices(chunk), page=at,
                                       pages=pages)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CHOOSE_UNIT,), work=work)


async def search_unit(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        return await _pick_unit(turn, await inspector_scope(turn.session, turn.person), text)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CHOOSE_UNIT,), work=work)


async def choose_unit(unit_id: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
                      ) -> Snapshot:
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        assert turn.person is not None
        unit = await turn.session.get(Unit, unit_id)
        if unit is None or not unit.active:
            raise DomainError("inspect.unknown_unit", text=str(unit_id))
        if not in_scope(unit, await inspector_scope(turn.session, turn.person)):
            raise DomainError("inspect.out_of_scope", unit=unit.name)
        return await _choose_unit(turn, unit)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CHOOSE_UNIT,), work=work)


async def choose_target(assignment_id: int | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                        clock: Clock) -> Snapshot:
    """One of the unit's open targets, or None: a general visit (no verified value)."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        if assignment_id is not None:
            a = await turn.session.get(Assignment, assignment_id)
            target = await turn.session.get(Target, a.target_id) if a else None
            if a is None or a.unit_id != turn.draft.data["unit_id"] or target is None or target.closed:
                raise DomainError("inspect.not_this_unit")
        turn.draft.data.update(assignment_id=assignment_id, general=assignment_id is None)
        return await DIALOGUE.move(turn, Step.AWAIT_LOCATION)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.CHOOSE_TARGET,), work=work)


async def give_location(
    latitude: float, longitude: float, accuracy_m: float | None, *, forwarded: bool, venue: bool,
    conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock,
) -> Snapshot:
    """The inspector's current position: a fixed point shared from the phone, in China."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        if forwarded:
            raise DomainError("inspect.location_forwarded")
        if venue:
            raise DomainError("inspect.location_venue")
        if not plausible_location(latitude, longitude):
            raise DomainError("inspect.location_implausible", lat=f"{latitude:.4f}", lon=f"{longitude:.4f}")
        turn.draft.data.update(latitude=latitude, longitude=longitude, accuracy_m=accuracy_m)
        return await DIALOGUE.move(turn, Step.AWAIT_PHOTOS, location_taken=True)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_LOCATION,), work=work)


async def photos_done(*, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        if not turn.draft.data.get("photos"):
            raise DomainError("inspect.need_photo")
        return await DIALOGUE.move(turn, Step.AWAIT_FINDINGS)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_PHOTOS,), work=work)


async def give_findings(text: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
                        ) -> Snapshot:
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        clean = text.strip()
        if len(clean) < 2:
            raise DomainError("inspect.findings_required")
        turn.draft.data["findings"] = clean[:2000]
        return await DIALOGUE.move(turn, Step.AWAIT_RATING if turn.draft.data.get("general") else Step.AWAIT_VALUE)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_FINDINGS,), work=work)


async def give_value(text: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock
                     ) -> Snapshot:
    """The value verified on site, in the target's measure (None: not verified)."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        d = turn.draft.data
        if text is None:
            d.update(verified_value=None, verified_text=None)
        else:
            snap = await DIALOGUE.snapshot(turn.session, clock, turn.draft)
            try:
                parsed = parse_value(text, snap.measure)
            except ValueParseError as exc:
                raise DomainError(exc.key, **exc.params) from None
            d.update(verified_value=str(parsed.value), verified_text=parsed.text)
        return await DIALOGUE.move(turn, Step.AWAIT_RATING)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_VALUE,), work=work)


async def rate(rating: str, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """good / acceptable / poor; the summary with every flag follows."""
    async def work(turn: Turn[Snapshot]) -> Snapshot:
        if rating not in RATINGS:
            raise DomainError("inspect.bad_rating")
        turn.draft.data["rating"] = rating
        return await DIALOGUE.move(turn, Step.CONFIRM)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(Step.AWAIT_RATING,), work=work)


async def confirm(serial: int, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork, clock: Clock) -> Snapshot:
    """Write the inspection and its photos with their flags, in the transaction of the update that
    confirmed it. A second press (or a redelivered update) writes nothing and answers like the first."""
    async def write(turn: Turn[Snapshot]) -> Snapshot:
        s, d, person = turn.session, turn.draft.data, turn.person
        assert person is not None and d.get("rating") is not None
        unit = await s.get(Unit, d["unit_id"])
        assert unit is not None
        if not in_scope(unit, await inspector_scope(s, person)):
            raise DomainError("inspect.out_of_scope", unit=unit.name)
        visited = visit_at(turn.draft)
        flags, per_photo = await visit_flags(s, d, visited, clock.tz)
        claimed = await claimed_value(s, d.get("assignment_id"))
        verified = Decimal(d["verified_value"]) if d.get("verified_value") is not None else None
        inspection = Inspection(
            inspector_person_id=person.id, unit_id=unit.id, assignment_id=d.get("assignment_id"), visited_at=visited,
            latitude=d.get("latitude"), longitude=d.get("longitude"), accuracy_m=d.get("accuracy_m"),
            findings=d.get("findings") or "", claimed_value=claimed, verified_value=verified, rating=d["rating"],
            flags=flags, update_id=update_id)
        s.add(inspection)
        await s.flush()
        photos = d.get("photos") or []
        for item in photos:
            s.add(InspectionPhoto(inspection_id=inspection.id, evidence_id=item["evidence_id"],
                                  compressed=bool(item.get("compressed")), flags=per_photo.get(item["evidence_id"])))
        snap = await DIALOGUE.snapshot(s, clock, turn.draft)
        audit.record(s, clock, actor=f"person:{person.code}", action="inspection.create", entity="inspection",
                     key=str(inspection.id), before=None,
                     after={"unit": unit.code, "target": snap.target_code, "visited_at": visited,
                            "location": [d.get("latitude"), d.get("longitude")], "accuracy_m": d.get("accuracy_m"),
                            "claimed": claimed, "verified": verified, "rating": d["rating"], "photos": len(photos),
                            "flags": [f["kind"] for f in flags]})
        d["inspection_id"] = inspection.id
        await holds.request(s, clock, inspection)  # flagged off site or re-used: the office confirms the value
        return await DIALOGUE.move(turn, Step.DONE)
    return await DIALOGUE.confirm(serial, conv, update_id, uow, clock, at=(Step.CONFIRM,), work=write,
                                  already="inspect.already_confirmed")
