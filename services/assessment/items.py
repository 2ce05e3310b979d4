"""The office's bonus (加分), deduction (扣分) and one-vote veto (一票否决) items of a year's assessment,
and appeal corrections. Each has a reason (and evidence); every change is audited; items are revoked,
never deleted; nothing changes once the year's round is closed. services/scoring counts the items
that are not revoked (see its docstring for the limits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import AssessmentItem, AssessmentRound
from models.db import UnitOfWork
from models.plan import Unit
from services.core import audit
from services.core.clock import Clock
from services.core.errors import DomainError

KINDS = ("bonus", "deduction", "veto", "correction")
MAX_POINTS = Decimal(100)
MAX_PLACES = 4


@dataclass(frozen=True)
class ItemView:
    id: int
    year: int
    unit_code: str
    unit_name: str
    kind: str
    points: Decimal | None
    reason: str
    evidence: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


def parse_points(text: str | Decimal | int | None) -> Decimal | None:
    """Points as typed (``2``, ``1.5``); DomainError ``assess.item.bad_points`` if not a number."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise DomainError("assess.item.bad_points", value=str(text)) from None
    if not value.is_finite():
        raise DomainError("assess.item.bad_points", value=str(text))
    return value


def _validate(kind: str, points: Decimal | None, reason: str) -> None:
    if kind not in KINDS:
        raise DomainError("assess.item.bad_kind", kind=kind, kinds=", ".join(KINDS[:3]))
    if not reason.strip():
        raise DomainError("assess.item.reason_required")
    if kind == "veto":
        if points is not None:
            raise DomainError("assess.item.veto_no_points")
        return
    if points is None:
        raise DomainError("assess.item.points_required", kind=kind)
    if kind != "correction" and points <= 0:
        raise DomainError("assess.item.points_positive", value=str(points))
    if kind == "correction" and points == 0:
        raise DomainError("assess.item.correction_nonzero")
    if abs(points) > MAX_POINTS or -points.as_tuple().exponent > MAX_PLACES:  # type: ignore[operator]
        raise DomainError("assess.item.points_range", value=str(points), max=str(MAX_POINTS), places=MAX_PLACES)


async def _refuse_if_closed(session: AsyncSession, year: int) -> None:
    status = (await session.exec(select(AssessmentRound.status).where(AssessmentRound.year == year))).first()
    if status == "closed":
        raise DomainError("assess.item.round_closed", year=year)


def _view(item: AssessmentItem, unit: Unit) -> ItemView:
    assert item.id is not None
    return ItemView(id=item.id, year=item.year, unit_code=unit.code, unit_name=unit.name, kind=item.kind,
                    points=item.points, reason=item.reason, evidence=item.evidence, created_by=item.created_by,
                    created_at=item.created_at, revoked_at=item.revoked_at, revoked_reason=item.revoked_reason)


def _snapshot(item: AssessmentItem, unit_code: str) -> dict[str, object]:
    return {"year": item.year, "unit": unit_code, "kind": item.kind, "points": item.points, "reason": item.reason,
            "evidence": item.evidence, "appeal_id": item.appeal_id, "revoked_at": item.revoked_at,
            "revoked_reason": item.revoked_reason}


async def add_item(year: int, unit_code: str, kind: str, points: Decimal | str | int | None, reason: str,
                   evidence: str = "", *, actor: str, uow: UnitOfWork, clock: Clock,
                   appeal_id: int | None = None) -> ItemView:
    """Record an item. bonus/deduction: points > 0; veto: no points; correction (an accepted appeal):
    signed points ≠ 0. DomainError (nothing written) on any bad input or a closed round."""
    kind = (kind or "").strip().lower()
    reason, evidence = (reason or "").strip(), (evidence or "").strip()
    value = parse_points(points)
    _validate(kind, value, reason)
    async with uow:
        session = uow.session
        unit = (await session.exec(select(Unit).where(Unit.code == unit_code.strip()))).first()
        if unit is None or not unit.active:
            raise DomainError("assess.item.unknown_unit", unit=unit_code)
        await _refuse_if_closed(session, year)
        assert unit.id is not None
        item = AssessmentItem(year=year, unit_id=unit.id, kind=kind, points=value, reason=reason, evidence=evidence,
                              appeal_id=appeal_id, created_by=actor[:64], created_at=clock.now())
        session.add(item)
        await session.flush()
        audit.record(session, clock, actor=actor, action="assessment_item.add", entity="assessment_item",
                     key=str(item.id), after=_snapshot(item, unit.code))
        await uow.commit()
        return _view(item, unit)


async def revoke_item(item_id: int, reason: str, *, actor: str, uow: UnitOfWork, clock: Clock) -> ItemView:
    """Revoke an item (kept, no longer counted). DomainError if unknown, already revoked, no reason,
    or the round is closed."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("assess.item.reason_required")
    async with uow:
        session = uow.session
        item = await session.get(AssessmentItem, item_id)
        if item is None:
            raise DomainError("assess.item.not_found", id=item_id)
        if item.revoked_at is not None:
            raise DomainError("assess.item.already_revoked", id=item_id)
        await _refuse_if_closed(session, item.year)
        unit = await session.get(Unit, item.unit_id)
        assert unit is not None
        before = _snapshot(item, unit.code)
        item.revoked_at, item.revoked_reason = clock.now(), reason
        session.add(item)
        audit.record(session, clock, actor=actor, action="assessment_item.revoke", entity="assessment_item",
                     key=str(item_id), before=before, after=_snapshot(item, unit.code))
        await uow.commit()
        return _view(item, unit)


async def list_items(year: int, *, uow: UnitOfWork) -> list[ItemView]:
    """Every item of the year, revoked ones included, oldest first."""
    async with uow:
        rows = (await uow.session.exec(
            select(AssessmentItem, Unit).join(Unit, col(Unit.id) == col(AssessmentItem.unit_id))
            .where(AssessmentItem.year == year).order_by(col(AssessmentItem.id))
        )).all()
        return [_view(item, unit) for item, unit in rows]
