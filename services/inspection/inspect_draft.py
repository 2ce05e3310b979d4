"""The /inspect draft: its steps, what the inspector is shown of it, scope, and the flags before Confirm."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.enums import Role
from models.inspection import EvidenceFacts, Inspection, InspectionDraft
from models.people import Person, RoleMembership
from models.plan import Assignment, Target, Unit
from services.core import conversations
from services.core.audit import jsonable
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.errors import DomainError, StepMismatch
from services.inspection.evidence import Flag, PhotoFacts, Site, integrity_flag, location_flags, photo_flags, site_for
from services.inspection.visits import prior_uses
from services.people.viewer import active_person as _person
from services.progress.standings import latest_reports

CONVERSATION = "inspect"
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
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class UnitChoice:
    unit_id: int
    code: str
    name: str


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

    draft_id: int
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


# --- scope ---------------------------------------------------------------------------------------


async def inspector_scope(session: AsyncSession, person: Person) -> frozenset[str] | None:
    """Unit codes and classes (casefolded) of the person's inspector memberships; None = every unit."""
    rows = (
        await session.exec(
            select(RoleMembership.scope).where(
                RoleMembership.person_id == person.id, RoleMembership.role == Role.INSPECTOR.value
            )
        )
    ).all()
    if not rows:
        raise DomainError("inspect.not_inspector")
    tokens: set[str] = set()
    for scope in rows:
        parts = {p.strip().casefold() for p in (scope or "").split(";") if p.strip()}
        if not parts:
            return None
        tokens |= parts
    return frozenset(tokens)


def in_scope(unit: Unit, scope: frozenset[str] | None) -> bool:
    if scope is None:
        return True
    return unit.code.casefold() in scope or bool(unit.unit_class and unit.unit_class.casefold() in scope)


async def units_in_scope(session: AsyncSession, scope: frozenset[str] | None) -> list[Unit]:
    rows = (await session.exec(select(Unit).where(Unit.active == True).order_by(col(Unit.code)))).all()  # noqa: E712
    return [u for u in rows if in_scope(u, scope)]


def unit_choices(units: list[Unit]) -> tuple[UnitChoice, ...]:
    return tuple(UnitChoice(u.id or 0, u.code, u.name) for u in units)


# --- the draft -----------------------------------------------------------------------------------


async def _open_draft(session: AsyncSession, person: Person) -> InspectionDraft | None:
    return (
        await session.exec(
            select(InspectionDraft).where(InspectionDraft.person_id == person.id, InspectionDraft.status == "open")
        )
    ).first()


async def _move(session: AsyncSession, clock: Clock, draft: InspectionDraft, step: Step, conv: ConvRef) -> None:
    draft.step = step.value
    draft.updated_at = clock.now()
    session.add(draft)
    state = step.value if step not in (Step.DONE, Step.CANCELLED) else None
    await conversations.put(session, clock, CONVERSATION, conv.key, state)


async def _current(
    s: AsyncSession, conv: ConvRef, expected: tuple[Step, ...], tz: ZoneInfo
) -> tuple[Person, InspectionDraft]:
    person = await _person(s, conv.user_id)
    draft = await _open_draft(s, person)
    if draft is None:
        raise DomainError("inspect.no_draft")
    if Step(draft.step) not in expected:
        raise StepMismatch(await _snapshot(s, draft, tz))
    return person, draft


async def _target_rows(s: AsyncSession, unit_id: int) -> list[tuple[Assignment, Target]]:
    return list(
        (
            await s.exec(
                select(Assignment, Target)
                .join(Target, col(Target.id) == col(Assignment.target_id))
                .where(Assignment.unit_id == unit_id, Target.closed == False)  # noqa: E712
                .order_by(col(Target.deadline), col(Target.code))
            )
        ).all()
    )


async def _site(s: AsyncSession, draft: InspectionDraft) -> Site | None:
    unit = await s.get(Unit, draft.unit_id)
    assert unit is not None
    a = await s.get(Assignment, draft.assignment_id) if draft.assignment_id else None
    point = (a.site_latitude, a.site_longitude, a.site_radius_m) if a else (None, None, None)
    return site_for(point, (unit.latitude, unit.longitude, unit.radius_m))


async def _claimed(s: AsyncSession, assignment_id: int | None) -> Decimal | None:
    if assignment_id is None:
        return None
    last = (await latest_reports(s, [assignment_id])).get(assignment_id)
    return last.value if last else None


def _facts(row: EvidenceFacts, sha256: str, size: int, compressed: bool) -> PhotoFacts:
    """Facts for the flags: a compressed photo's metadata is not trusted (Telegram strips EXIF)."""
    facts = PhotoFacts(sha256, size, row.width, row.height, row.taken_at, row.latitude, row.longitude, row.phash,
                       row.has_exif, row.is_image)
    return replace(facts, taken_at=None, latitude=None, longitude=None, has_exif=False) if compressed else facts


def _dicts(flags: list[Flag], **extra: object) -> list[dict[str, Any]]:
    return [{"kind": f.kind, "params": jsonable({**f.params, **extra})} for f in flags]


async def photo_flag_dicts(
    s: AsyncSession, facts: PhotoFacts, *, number: int, compressed: bool, visit_at: datetime, unit_id: int,
    site: Site | None, tz: ZoneInfo,
) -> list[dict[str, Any]]:
    """One photo's flags: EXIF off site, no metadata, stale, re-used (naming the earlier use)."""
    uses, labels = await prior_uses(s, facts, unit_id, tz)
    flags = [f for f in location_flags(site, None, [facts]) if f.kind == "exif_off_site"]
    for flag in photo_flags(facts, visit_at, uses):
        if flag.kind in ("reused_exact", "reused_similar"):
            params = {k: v for k, v in flag.params.items() if k != "visit_label"}
            flag = Flag(flag.kind, {**params, **labels[str(flag.params["visit_label"])]})
        elif flag.kind == "no_metadata" and compressed:
            flag = Flag(flag.kind, {**flag.params, "compressed": True})
        elif flag.kind == "stale" and isinstance(taken := flag.params.get("taken_at"), datetime):
            flag = Flag(flag.kind, {**flag.params, "taken_at": local_time(taken, tz)})
        flags.append(flag)
    out = _dicts(flags, photo=number)
    for item in out:
        item["params"].pop("index", None)
        item["params"].pop("sha256", None)
    return out


async def draft_flags(
    s: AsyncSession, draft: InspectionDraft, visit_at: datetime, tz: ZoneInfo
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """Every flag of the visit (location, per photo, integrity) and the flags of each photo by evidence id."""
    assert draft.unit_id is not None
    site = await _site(s, draft)
    shared = (draft.latitude, draft.longitude) if draft.latitude is not None and draft.longitude is not None else None
    out = _dicts([f for f in location_flags(site, shared, []) if f.kind in ("no_site", "off_site")])
    per_photo: dict[int, list[dict[str, Any]]] = {}
    for number, item in enumerate(draft.photos or [], start=1):
        evidence = await s.get(EvidenceFile, item["evidence_id"])
        row = await s.get(EvidenceFacts, item["evidence_id"])
        if evidence is None or row is None:
            continue
        facts = _facts(row, evidence.sha256, evidence.size, bool(item.get("compressed")))
        flags = await photo_flag_dicts(s, facts, number=number, compressed=bool(item.get("compressed")),
                                       visit_at=visit_at, unit_id=draft.unit_id, site=site, tz=tz)
        per_photo[item["evidence_id"]] = flags
        out += flags
    if draft.assignment_id is not None and draft.verified_value is not None:
        target = await _target_of(s, draft)
        flag = integrity_flag(await _claimed(s, draft.assignment_id), draft.verified_value,
                              direction=target.direction)
        if flag is not None:
            out += _dicts([flag])
    return out, per_photo


async def _target_of(s: AsyncSession, draft: InspectionDraft) -> Target:
    a = await s.get(Assignment, draft.assignment_id)
    assert a is not None
    target = await s.get(Target, a.target_id)
    assert target is not None
    return target


def local_time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


async def _snapshot(s: AsyncSession, draft: InspectionDraft, tz: ZoneInfo, **extra: Any) -> Snapshot:
    assert draft.id is not None
    step = Step(draft.step)
    base: dict[str, Any] = {
        "draft_id": draft.id, "step": step, "general": draft.general, "latitude": draft.latitude,
        "longitude": draft.longitude, "accuracy_m": draft.accuracy_m, "photos": len(draft.photos or []),
        "findings": draft.findings, "verified_value": draft.verified_value, "verified_text": draft.verified_text,
        "rating": draft.rating, "inspection_id": draft.inspection_id,
    }
    if step == Step.CHOOSE_UNIT and "units" not in extra:
        person = await s.get(Person, draft.person_id)
        assert person is not None
        units = await units_in_scope(s, await inspector_scope(s, person))
        base.update(units=unit_choices(units[:UNIT_PAGE]), pages=max(1, -(-len(units) // UNIT_PAGE)))
    if draft.unit_id is not None:
        unit = await s.get(Unit, draft.unit_id)
        assert unit is not None
        base.update(unit_code=unit.code, unit_name=unit.name)
        if step == Step.CHOOSE_TARGET:
            rows = await _target_rows(s, draft.unit_id)
            base["targets"] = tuple(TargetChoice(a.id or 0, t.code, t.title) for a, t in rows)
        base["has_site"] = await _site(s, draft) is not None
    if draft.assignment_id is not None:
        a = await s.get(Assignment, draft.assignment_id)
        target = await _target_of(s, draft)
        assert a is not None
        base.update(target_code=target.code, title=target.title, measure=target.measure, planned=a.planned_value,
                    claimed=await _claimed(s, draft.assignment_id))
    if step == Step.CONFIRM:
        base["flags"] = tuple((await draft_flags(s, draft, draft.created_at, tz))[0])
    elif step == Step.DONE and draft.inspection_id is not None:
        inspection = await s.get(Inspection, draft.inspection_id)
        if inspection is not None:
            base.update(flags=tuple(inspection.flags or ()), claimed=inspection.claimed_value)
    base.update(extra)
    return Snapshot(**base)
