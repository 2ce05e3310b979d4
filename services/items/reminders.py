"""Which reminders of supervision items are due at an instant (the scheduler's tick turns them into alerts of
kind ``item``: services/alerts/overdue.py). For every part still the unit's to do, of an open item:

- not signed for in time (assigned, past its ``sign_due_at``): ``sign``, yellow, to the unit's cadres and its
  linked leaders at once (it climbs), then to the office while nobody acknowledges it;
- a flagged item (挂牌督办): ``daily``, every working day, to the cadres with the linked leaders copied, in the
  part's light; once it has been red for the acknowledgement time, the office is copied too;
- an item not flagged, at the usual steps: 7, 3 and 1 working days before the deadline and on the day
  (``T-7`` … ``T0``, to the cadres), and once overdue: ``overdue``, red, to the cadres, climbing to the linked
  leaders and then the office while nobody acknowledges it.

A reminder's key (``item|p<part>|<step>|<period>``) is never sent twice to one person; the period is the
deadline (or the day, for the daily reminder), so a changed deadline reminds afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.items import ItemPart, SupervisionItem
from models.plan import Unit
from services.calendar.workdays import WorkCalendar
from services.items.lights import OPEN_STATES, Light, light

LEVEL = {Light.RED: "red", Light.YELLOW: "yellow", Light.GREEN: "info"}
ESCALATING = ("sign", "overdue")


@dataclass(frozen=True)
class Reminder:
    key: str
    step: str  # sign / T-7 / T-3 / T-1 / T0 / overdue / daily
    level: str  # info / yellow / red
    period: str
    stage: int  # 0 the unit's cadres, 1 and its linked leaders, 2 and the office
    item_id: int
    part_id: int
    unit_id: int
    unit_name: str
    task: str
    deadline: date
    flagged: bool
    state: str
    sign_due_at: datetime
    light: Light

    @property
    def escalates(self) -> bool:
        return self.step in ESCALATING


def _deadline_step(today: date, deadline: date, cal: WorkCalendar) -> str | None:
    if today == deadline:
        return "T0"
    left = cal.workdays_between(today, deadline)
    return next((name for limit, name in ((1, "T-1"), (3, "T-3"), (7, "T-7")) if left <= limit), None)


async def due(session: AsyncSession, now: datetime, cal: WorkCalendar, *, red_days: int = 1) -> list[Reminder]:
    """Every reminder due at ``now`` (aware, in the county's zone); ``red_days``: working days a flagged part
    stays red before the office is copied."""
    rows = (await session.exec(
        select(ItemPart, SupervisionItem, Unit).join(SupervisionItem, col(SupervisionItem.id) == col(ItemPart.item_id))
        .join(Unit, col(Unit.id) == col(ItemPart.unit_id))
        .where(SupervisionItem.state == "open", col(ItemPart.state).in_(OPEN_STATES))
        .order_by(col(SupervisionItem.deadline), col(ItemPart.id)))).all()
    today, out = now.date(), []
    for part, item, unit in rows:
        lt = light(state=part.state, deadline=item.deadline, sign_due_at=part.sign_due_at, now=now, cal=cal)
        make = partial(_reminder, part, item, unit, lt)
        if item.flagged:
            long_red = lt == Light.RED and cal.workdays_between(item.deadline, today) >= red_days
            out.append(make("daily", LEVEL[lt], today.isoformat(), 2 if long_red else 1))
            continue
        if part.state == "assigned" and now >= part.sign_due_at:
            out.append(make("sign", "yellow", part.sign_due_at.astimezone(now.tzinfo).date().isoformat(), 1))
        if today > item.deadline:
            out.append(make("overdue", "red", item.deadline.isoformat(), 0))
        elif (step := _deadline_step(today, item.deadline, cal)) is not None:
            out.append(make(step, "info" if step == "T-7" else "yellow", item.deadline.isoformat(), 0))
    return out


def _reminder(part: ItemPart, item: SupervisionItem, unit: Unit, lt: Light, step: str, level: str, period: str,
              stage: int) -> Reminder:
    return Reminder(f"item|p{part.id}|{step}|{period}", step, level, period, stage, item.id or 0, part.id or 0,
                    unit.id or 0, unit.name, item.task, item.deadline, item.flagged, part.state, part.sign_due_at, lt)
