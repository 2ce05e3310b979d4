"""Warning notices (预警通知单): a red pace warning for a unit becomes a notice the unit must answer within
``Rules.warning_answer_working_days`` working days with the reason it is behind (落后原因) and its next steps
(下一步措施), optionally a photo (the ``warning`` dialogue: services/alerts/warning.py).

In the scheduler's tick (``due``): every red pace alert of the tick without a notice gets one — a row of
``warning_notices`` and its own alert of kind ``warning`` (red, to the unit's cadres: stage 0), carried by the
tick's push like any alert. An unanswered notice climbs like an unacknowledged alert: to the linked leaders and
the group head on the first working day after its answer-by day, then to the office after
``ack_timeout_working_days`` more. Answering stops the climb and tells the linked leaders; it does not turn the
light: the pace alert resolves only when the pace recovers, and then an unanswered notice stops climbing too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.alerts import Alert, WarningNotice
from services.alerts import text as alert_text
from services.core import audit
from services.core.clock import FixedClock
from services.progress.standings import Standing

KIND = "warning"
LAST_STAGE = 2
PART = 100  # new notices made and flushed before the event loop gets a turn


async def due(session: AsyncSession, now: datetime, cal: Any, rules: Any, allowed: Callable[..., bool],
              pace: list[tuple[Alert, Any, int]], by_assignment: dict[int, Standing], result: Any
              ) -> list[tuple[Alert, Standing, int]]:
    """The notices to tell at ``now``: new ones for the red pace alerts in ``pace`` (the tick's), and the
    unanswered ones that climb a step. Notices whose pace recovered stop (their alert is resolved)."""
    today = now.date()
    pending: list[tuple[Alert, Standing, int]] = []
    rows = (await session.exec(select(Alert, WarningNotice).join(WarningNotice, col(WarningNotice.alert_id) == col(
        Alert.id)).where(Alert.kind == KIND, Alert.state == "open"))).all()
    recovered = set()
    for i, (_, n) in enumerate(rows, 1):  # the pace alerts as this tick left them (resolved, not yet flushed)
        if i % PART == 0:
            await asyncio.sleep(0)
        pace_alert = await session.get(Alert, n.pace_alert_id) if n.pace_alert_id else None
        if pace_alert is not None and pace_alert.state == "resolved":
            recovered.add(pace_alert.id)
    for alert, notice in rows:
        if notice.pace_alert_id is None or notice.pace_alert_id in recovered:
            alert.state = "resolved"
            session.add(alert)
            result.resolved += 1
            continue
        standing = by_assignment.get(alert.assignment_id or 0)
        if standing is None or alert.stage >= LAST_STAGE or not allowed(True, now, cal, rules):
            continue
        since = notice.answer_by if alert.stage == 0 else alert.stage_at.astimezone(now.tzinfo).date()
        wait = 1 if alert.stage == 0 else rules.ack_timeout_working_days
        if cal.workdays_between(since, today) >= wait:
            alert.stage += 1
            alert.stage_at = now
            session.add(alert)
            result.escalated += 1
            pending.append((alert, standing, alert.stage))
            if len(pending) % PART == 0:  # flushed PART at a time, the event loop's turn between
                await session.flush()
                await asyncio.sleep(0)
    reds = [(a, s) for a, s, _ in pace if a.kind == "pace" and a.level == "red" and a.state != "resolved"]
    if not reds:
        return pending
    known = (await session.exec(select(WarningNotice, Alert).join(Alert, col(Alert.id) == col(
        WarningNotice.alert_id)).where(col(WarningNotice.pace_alert_id).in_([a.id for a, _ in reds])))).all()
    have = {n.pace_alert_id for n, _ in known}
    for notice, alert in known:  # a pace alert red again (reopened): its unanswered notice stands again
        if alert.state == "resolved" and notice.answered_at is None:
            alert.state, alert.stage, alert.stage_at = "open", 0, now
            session.add(alert)
    clock = FixedClock(now, now.tzinfo)  # type: ignore[arg-type]
    answer_by = cal.add_workdays(today, rules.warning_answer_working_days)
    new = [(pace_alert, standing) for pace_alert, standing in reds if pace_alert.id not in have]
    for start in range(0, len(new), PART):  # one flush for each PART new notices, the event loop's turn between
        fresh = [(pace_alert, standing, Alert(
            key=f"{KIND}|{pace_alert.id}", kind=KIND, level="red", period=pace_alert.period,
            assignment_id=standing.assignment_id, created_at=now, stage=0, stage_at=now,
            details={**alert_text.details(standing), "answer_by": answer_by.isoformat()}))
            for pace_alert, standing in new[start:start + PART]]
        session.add_all([alert for _, _, alert in fresh])
        await session.flush()
        notices = [WarningNotice(alert_id=alert.id or 0, pace_alert_id=pace_alert.id,
                                 assignment_id=standing.assignment_id, unit_id=standing.unit_id, created_at=now,
                                 answer_by=answer_by)
                   for pace_alert, standing, alert in fresh]
        session.add_all(notices)
        await session.flush()
        for (pace_alert, standing, alert), notice in zip(fresh, notices, strict=True):
            audit.record(session, clock, actor="scheduler", action="warning.issue", entity="warning_notice",
                         key=str(notice.id), after={"alert": alert.id, "pace_alert": pace_alert.id,
                                                    "unit": standing.unit_code, "target": standing.target_code,
                                                    "answer_by": answer_by})
            result.created(alert.level)
            pending.append((alert, standing, 0))
        await asyncio.sleep(0)
    return pending
