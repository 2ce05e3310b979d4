"""The flags of a site visit before Confirm: where the inspector stood against the site, what each photo's
EXIF says (off site, no metadata, stale), photos used before (the same bytes, or the same scene), and a
verified value far from the claimed one. The rules of each flag are in services/inspection/evidence.py;
this module applies them to a visit's draft and words their parameters for the chat."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import EvidenceFile
from models.inspection import EvidenceFacts
from models.plan import Assignment, Target, Unit
from services.core.audit import jsonable
from services.inspection.evidence import Flag, PhotoFacts, Site, integrity_flag, location_flags, photo_flags, site_for
from services.inspection.visits import prior_uses
from services.progress.standings import latest_reports


def local_time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


async def site_of(s: AsyncSession, unit_id: int, assignment_id: int | None) -> Site | None:
    """Where the visit should be: the assignment's site, else the unit's."""
    unit = await s.get(Unit, unit_id)
    assert unit is not None
    a = await s.get(Assignment, assignment_id) if assignment_id else None
    point = (a.site_latitude, a.site_longitude, a.site_radius_m) if a else (None, None, None)
    return site_for(point, (unit.latitude, unit.longitude, unit.radius_m))


async def claimed_value(s: AsyncSession, assignment_id: int | None) -> Decimal | None:
    """What the unit last reported on the assignment (None: nothing, or a general visit)."""
    if assignment_id is None:
        return None
    last = (await latest_reports(s, [assignment_id])).get(assignment_id)
    return last.value if last else None


def trusted_facts(row: EvidenceFacts, sha256: str, size: int, compressed: bool) -> PhotoFacts:
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


async def visit_flags(
    s: AsyncSession, visit: dict[str, Any], visit_at: datetime, tz: ZoneInfo
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """Every flag of the visit ``visit`` (a draft's data: unit, assignment, location, photos, verified value):
    location, per photo, integrity; and the flags of each photo by evidence id."""
    unit_id, assignment_id = visit["unit_id"], visit.get("assignment_id")
    site = await site_of(s, unit_id, assignment_id)
    lat, lon = visit.get("latitude"), visit.get("longitude")
    shared = (lat, lon) if lat is not None and lon is not None else None
    out = _dicts([f for f in location_flags(site, shared, []) if f.kind in ("no_site", "off_site")])
    per_photo: dict[int, list[dict[str, Any]]] = {}
    for number, item in enumerate(visit.get("photos") or [], start=1):
        evidence = await s.get(EvidenceFile, item["evidence_id"])
        row = await s.get(EvidenceFacts, item["evidence_id"])
        if evidence is None or row is None:
            continue
        compressed = bool(item.get("compressed"))
        facts = trusted_facts(row, evidence.sha256, evidence.size, compressed)
        flags = await photo_flag_dicts(s, facts, number=number, compressed=compressed, visit_at=visit_at,
                                       unit_id=unit_id, site=site, tz=tz)
        per_photo[item["evidence_id"]] = flags
        out += flags
    if assignment_id is not None and visit.get("verified_value") is not None:
        a = await s.get(Assignment, assignment_id)
        target = await s.get(Target, a.target_id) if a else None
        assert target is not None
        flag = integrity_flag(await claimed_value(s, assignment_id), Decimal(visit["verified_value"]),
                              direction=target.direction)
        if flag is not None:
            out += _dicts([flag])
    return out, per_photo
