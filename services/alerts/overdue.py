"""Supervision items (督办件) in the scheduler tick: the reminders services/items/reminders.py finds due become
alerts of kind ``item``, on the ladder of other alerts — the unit's cadres, then the unit's linked leaders (or
the office when it has none), then the office. ``due`` returns (alert, subject, stage) triples; ``ladder``
the people each stage reaches; a subject renders itself (``Subject.block``). An alert whose reminder is no longer
due (signed, reported, closed, a day passed) is resolved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.alerts import Alert
from models.people import Person
from services.alerts import recipients as alert_people
from services.items.lights import ICON
from services.items.pushes import short
from services.items.reminders import Reminder
from services.items.reminders import due as items_due

KIND = "item"
FLUSH = 200  # new alerts flushed at once
TASK_SHOWN = 120


@dataclass(frozen=True)
class Subject:
    """What an item reminder's alert shows (in place of an assignment's standing)."""

    reminder: Reminder

    @property
    def unit_id(self) -> int:
        return self.reminder.unit_id

    @property
    def unit_name(self) -> str:
        return self.reminder.unit_name

    @property
    def deadline(self) -> date:
        return self.reminder.deadline

    def block(self, alert: Alert, person: Person) -> str:
        """One alert's text (HTML, in the person's language, with the light's icon)."""
        r, lang = self.reminder, person.language
        step = "soon" if r.step.startswith("T-") else r.step.lower()
        text = f"{ICON[r.light]} #{alert.id} " + th(
            f"items.alert.{step}", lang, number=r.item_id, unit=r.unit_name, task=short(r.task, TASK_SHOWN),
            deadline=r.deadline.isoformat(), left=r.step.removeprefix("T-"))
        if r.step == "daily" and r.state == "assigned":
            text += "\n" + th("items.alert.unsigned", lang)
        if r.flagged:
            text += "\n" + th("items.flagged_line", lang)
        return text + ("\n" + th("alert.escalated", lang) if alert.stage >= 1 and r.escalates else "")


async def due(session: AsyncSession, now: datetime, cal: Any, rules: Any, allowed: Callable[..., bool],
              result: Any) -> list[tuple[Alert, Subject, int]]:
    """Alerts for the item reminders due at ``now``, created or climbing the ladder as working days pass."""
    reminders = await items_due(session, now, cal, red_days=rules.ack_timeout_working_days)
    keys = {r.key for r in reminders}
    for alert in (await session.exec(select(Alert).where(Alert.kind == KIND, Alert.state != "resolved"))).all():
        if alert.key not in keys:
            alert.state = "resolved"  # signed, reported, closed or a day passed since
            session.add(alert)
            result.resolved += 1
    pending: list[tuple[Alert, Subject, int]] = []
    if not allowed(False, now, cal, rules):
        return pending
    today = now.date()
    known: dict[str, Alert] = {}
    for start in range(0, len(reminders), 500):  # one query per 500 reminders, not one each
        keys_now = [r.key for r in reminders[start:start + 500]]
        known |= {a.key: a for a in (await session.exec(select(Alert).where(col(Alert.key).in_(keys_now)))).all()}
    fresh = 0
    for r in reminders:
        alert = known.get(r.key)
        if alert is None:
            alert = Alert(key=r.key, kind=KIND, level=r.level, period=r.period, created_at=now, stage=r.stage,
                          stage_at=now, details={"item_id": r.item_id, "part_id": r.part_id, "step": r.step})
            session.add(alert)
            result.created(alert.level)
            fresh += 1
            if fresh % FLUSH == 0:  # ids in the order the reminders came, FLUSH at a time
                await session.flush()
        elif alert.state == "resolved":  # the same condition again (a part sent back, then late again)
            alert.state, alert.stage, alert.stage_at = "open", r.stage, now
            alert.acknowledged_at = alert.acknowledged_by_person_id = None
            session.add(alert)
        elif alert.state == "open" and r.escalates and alert.stage < 2:
            since = alert.stage_at.astimezone(now.tzinfo).date()
            if cal.workdays_between(since, today) >= rules.ack_timeout_working_days:
                alert.stage += 1
                alert.stage_at = now
                session.add(alert)
                result.escalated += 1
        elif alert.stage < r.stage:  # a flagged part red long enough: the office is copied
            alert.stage = r.stage
            session.add(alert)
        pending.append((alert, Subject(r), alert.stage))
    await session.flush()  # the last new alerts' ids
    return pending


def ladder(reach: alert_people.Reach, alert: Alert, subject: Subject) -> list[tuple[Person, int]]:
    """The unit's cadres; from stage 1 its linked leaders (the office when it has none); at stage 2 the office:
    from the people the tick read at once (services/alerts/recipients.py ``reach``)."""
    unit = subject.unit_id
    steps: list[list[Person]] = [reach.cadres_by_name(unit), [], []]
    if alert.stage >= 1:
        steps[1] = reach.unit_leaders(unit)
        if not steps[1] or alert.stage >= 2:
            steps[2] = reach.office()
    return alert_people.flatten(steps)
