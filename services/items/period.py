"""The parts of supervision items that were red on a day (for the criticism notice of a period): each part's
state on that day rebuilt from its timestamps, then judged by the one light function (services/items/lights.py).

On the cut-off day a part was: closed, if closed by its end; waiting for the verifier, if its latest report
came by then and was not sent back later; else still the unit's to do (and red when its deadline had passed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.items import ItemPart, SupervisionItem
from services.calendar.workdays import read_calendar
from services.items.lights import Light, light


@dataclass(frozen=True)
class RedPart:
    item_id: int
    part_id: int
    unit_id: int
    source: str
    task: str
    deadline: date
    days_late: int


def state_on(part: ItemPart, end: datetime) -> str:
    """Where the part stood at ``end`` (aware), from its timestamps."""
    if part.closed_at is not None and part.closed_at <= end:
        return part.state
    reported = part.reported_at is not None and part.reported_at <= end
    if reported and (part.state in ("reported", "closed", "rejected")
                     or (part.decided_at is not None and part.decided_at > end)):
        return "reported"
    return "signed" if part.signed_at is not None and part.signed_at <= end else "assigned"


async def red_on(session: AsyncSession, day: date, end: datetime) -> list[RedPart]:
    """The parts red at ``end`` (the end of ``day``), of items opened by then; oldest deadline first."""
    cal = await read_calendar(session)
    rows = (await session.exec(
        select(ItemPart, SupervisionItem).join(SupervisionItem, col(SupervisionItem.id) == col(ItemPart.item_id))
        .where(col(SupervisionItem.created_at) <= end, col(SupervisionItem.deadline) < day)
        .order_by(col(SupervisionItem.deadline), col(ItemPart.id)))).all()
    out = []
    for part, item in rows:
        lt = light(state=state_on(part, end), deadline=item.deadline, sign_due_at=part.sign_due_at, now=end, cal=cal)
        if lt == Light.RED:
            out.append(RedPart(item.id or 0, part.id or 0, part.unit_id, item.source, item.task, item.deadline,
                               (day - item.deadline).days))
    return out
