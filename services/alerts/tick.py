"""The scheduler's one job: ``tick(now)`` derives every reminder and alert due from the database.

Nothing is scheduled ahead: each tick looks at where every assignment stands and what was already
said. A missed tick therefore catches up at the next one; a key (kind, assignment, level, period)
is never sent twice to one person; a person's alerts of one tick become one push that fits one screen
(services/alerts/push.py), whose full list is paged from the database (services/alerts/inbox.py).

Rules (see README "Reminders and alerts"):
- deadline reminders to the unit's cadres at T-7, T-3, T-1 working days and on the day;
- overdue: an escalating alert on the first overdue working day, and a reminder to the cadres on
  every working day after;
- missing report: a nudge when no report came for longer than the target's report interval;
- pace: yellow to the cadres, red to the cadres and the linked leaders at once, one alert per
  episode (it resolves when the pace recovers); a red one also becomes a warning notice the unit must
  answer (services/alerts/warning_notices.py);
- escalation of yellow, red and overdue alerts that nobody acknowledged within the configured
  working days: the linked leaders (联系点) and the head of the target's leading group, then the
  target office;
- ordinary reminders wait for working hours on a working day; red alerts only for quiet hours.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.alerts import Alert, AlertDelivery
from models.db import UnitOfWork
from services.alerts import idle, overdue, reading, recipients, warning_notices
from services.alerts import push as alert_push
from services.alerts import text as alert_text
from services.calendar.workdays import WorkCalendar, read_calendar, warn_unknown_years
from services.core import outbox
from services.core.clock import FixedClock
from services.progress.standings import Standing, paused_gc

ESCALATING = ("yellow", "red", "overdue")
LAST_STAGE = 2
PART = reading.PART  # rows read before the event loop gets a turn
FLUSH = 100  # new rows made and flushed (or standings looked at) before the event loop gets a turn


@dataclass(frozen=True)
class Rules:
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    ack_timeout_working_days: int = 1
    warning_answer_working_days: int = 3


@dataclass(frozen=True)
class Candidate:
    kind: str
    level: str
    period: str
    standing: Standing
    stage: int = 0
    urgent: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.standing.assignment_id}|{self.level}|{self.period}"


@dataclass
class Message:
    """One delivery as --dry-run prints it."""

    person: str
    chat_id: int
    kind: str
    level: str
    key: str
    text: str


@dataclass
class Push:
    """One person's push of a tick, as it is sent (--dry-run prints these)."""

    person: str
    chat_id: int
    alerts: int
    text: str
    markup: dict[str, Any]


@dataclass
class TickResult:
    alerts_created: int = 0
    created_by_level: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    resolved: int = 0
    messages: list[Message] = field(default_factory=list)  # one per alert and person told
    pushes: list[Push] = field(default_factory=list)  # one per person told
    # Alerts nobody could be told of (nobody who would hear of them has joined yet): (kind, level, key).
    unheard: list[tuple[str, str, str]] = field(default_factory=list)
    outbox_rows: int = 0

    def created(self, level: str) -> None:
        self.alerts_created += 1
        self.created_by_level[level] = self.created_by_level.get(level, 0) + 1


def in_quiet_hours(moment: time, rules: Rules) -> bool:
    start, end = rules.quiet_start, rules.quiet_end
    return (moment >= start or moment < end) if start > end else start <= moment < end


def _deadline_stage(s: Standing, today: date, cal: WorkCalendar) -> str | None:
    if today > s.deadline:
        return None
    if today == s.deadline:
        return "T0"
    left = cal.workdays_between(today, s.deadline)
    for limit, name in ((1, "T-1"), (3, "T-3"), (7, "T-7")):
        if left <= limit:
            return name
    return None


def candidates(s: Standing, today: date, cal: WorkCalendar, tz: Any) -> list[Candidate]:
    """The conditions one assignment is in today."""
    if s.closed or s.pace.status.value == "done":
        return []
    out = []
    stage = _deadline_stage(s, today, cal)
    if stage is not None:
        out.append(Candidate("deadline", "info", stage, s))
    if today > s.deadline:
        out.append(Candidate("overdue", "overdue", s.deadline.isoformat(), s))
        if cal.workdays_between(s.deadline, today) >= 2:
            out.append(Candidate("overdue_daily", "info", today.isoformat(), s))
    elif s.pace.status.value in ("yellow", "red"):
        red = s.pace.status.value == "red"
        out.append(Candidate("pace", s.pace.status.value, today.isoformat(), s, stage=1 if red else 0, urgent=red))
    last = s.last_report_at.astimezone(tz).date() if s.last_report_at else date(s.year, 1, 1)
    if s.report_interval_days > 0 and (today - last).days > s.report_interval_days and last <= today:
        windows = (today - last).days // s.report_interval_days
        due = last + timedelta(days=windows * s.report_interval_days)
        out.append(Candidate("missing_report", "info", due.isoformat(), s))
    return out


def allowed(c_urgent: bool, now: datetime, cal: WorkCalendar, rules: Rules) -> bool:
    """Ordinary pushes: working days, outside quiet hours. Red: outside quiet hours, any day."""
    if in_quiet_hours(now.timetz().replace(tzinfo=None), rules):
        return False
    return c_urgent or cal.is_workday(now.date())


@dataclass
class Raised:
    """The alerts already raised that the tick's conditions may continue, read in a few queries (not one each)."""

    by_key: dict[str, Alert]
    open_pace: dict[tuple[int, str], Alert]  # (assignment, level) -> its pace alert not resolved


async def _known(session: AsyncSession, found: dict[str, Candidate]) -> Raised:
    keys = list(found)
    by_key: dict[str, Alert] = {}
    for start in range(0, len(keys), PART):
        rows = await session.exec(select(Alert).where(col(Alert.key).in_(keys[start:start + PART])))
        by_key |= {a.key: a for a in rows.all()}
        await asyncio.sleep(0)
    open_pace = await reading.rows_of(session, select(Alert).where(Alert.kind == "pace", Alert.state != "resolved"))
    return Raised(by_key, {(a.assignment_id or 0, a.level): a for a in open_pace})


def _episode(known: Raised, c: Candidate, now: datetime) -> Alert | None:
    """The alert already standing for this condition (pace: any period of the same episode). A condition
    that ended and came back under the same key (a pace red again the same day, an overdue target that
    was resolved by another tick) reopens that alert: a key is one row, never a second one."""
    if c.kind == "pace" and (c.standing.assignment_id, c.level) in known.open_pace:
        return known.open_pace[(c.standing.assignment_id, c.level)]
    alert = known.by_key.get(c.key)
    if alert is not None and alert.state == "resolved":
        alert.state, alert.stage, alert.stage_at = "open", c.stage, now
        alert.acknowledged_at = alert.acknowledged_by_person_id = None
    return alert


async def tick(
    now: datetime, *, uow: UnitOfWork, rules: Rules | None = None, calendar: WorkCalendar | None = None,
    dry_run: bool = False, memory: idle.Memory | None = None,
) -> TickResult:
    """Everything due at ``now``, in one transaction (rolled back with ``dry_run``). With ``memory`` (kept by the
    caller from tick to tick), a tick that finds nothing moved since the last tick that changed nothing returns
    that tick's result at once (services/alerts/idle.py).

    The standings are read first, apart (services/alerts/reading.py), and the transaction that writes begins
    after them, so SQLite's write lock is held only while the alerts are written; the work on the event loop
    comes in parts (``PART`` rows read, ``FLUSH`` rows made) with a turn of the loop between them."""
    # The cyclic GC waits until everything the tick made is freed again (reference counting frees it): a
    # collection meanwhile would go through tens of thousands of objects with the loop held. The GC is the
    # process's, so other work goes without it for as long as a tick lasts.
    with paused_gc():
        return await _tick(now, uow=uow, rules=rules, calendar=calendar, dry_run=dry_run, memory=memory)


async def _tick(
    now: datetime, *, uow: UnitOfWork, rules: Rules | None = None, calendar: WorkCalendar | None = None,
    dry_run: bool = False, memory: idle.Memory | None = None,
) -> TickResult:
    rules = rules or Rules()
    tz = now.tzinfo
    assert tz is not None, "tick needs an aware time"
    clock = FixedClock(now, tz)  # type: ignore[arg-type]
    today = now.date()
    result = TickResult()
    async with uow:
        s = uow.session
        cal = calendar or await read_calendar(s)
        flags = (allowed(False, now, cal, rules), allowed(True, now, cal, rules))
        before = await idle.mark(s, now, flags) if memory is not None else None
        if memory is not None and before is not None and (again := memory.same(before)) is not None:
            return again  # type: ignore[no-any-return]
        await uow.commit()  # nothing written yet: the reads above end here, the write lock is not held meanwhile
        current = await reading.standings_apart(s, today, tz)  # type: ignore[arg-type]
        found: dict[str, Candidate] = {}
        for n, standing in enumerate(current, 1):
            for c in candidates(standing, today, cal, tz):
                found[c.key] = c
            if n % FLUSH == 0:
                await asyncio.sleep(0)
        by_assignment = {st.assignment_id: st for st in current}
        result.resolved = await _resolve(s, clock, found, by_assignment)
        pending: list[tuple[Alert, Standing, int]] = []
        known = await _known(s, found)
        fresh = 0
        for n, c in enumerate(found.values(), 1):
            if n % PART == 0:
                await asyncio.sleep(0)
            if not allowed(c.urgent, now, cal, rules):
                continue
            alert = _episode(known, c, now)
            if alert is None:
                alert = Alert(key=c.key, kind=c.kind, level=c.level, period=c.period,
                              assignment_id=c.standing.assignment_id, created_at=now, stage=c.stage, stage_at=now,
                              details=alert_text.details(c.standing))
                result.created(alert.level)
                fresh += 1
                if fresh % FLUSH == 0:
                    await s.flush()  # the new alerts' ids, FLUSH at a time in the order they were found
                    await asyncio.sleep(0)
            s.add(alert)
            pending.append((alert, c.standing, alert.stage))
        await s.flush()
        result.escalated = await _escalate(s, now, cal, rules, pending, by_assignment)
        pending += await warning_notices.due(s, now, cal, rules, allowed, list(pending), by_assignment, result)
        pending += await overdue.due(s, now, cal, rules, allowed, result)
        await _deliver(s, clock, pending, result)
        if not cal.known(today.year):
            await warn_unknown_years({today.year}, session=s, clock=clock)
        await s.flush()
        after = await idle.mark(s, now, flags) if memory is not None else None
        if dry_run:
            await uow.rollback()
        else:
            await uow.commit()
        for n, obj in enumerate(list(s.identity_map.values()), 1):  # let go of the tens of thousands of
            s.expunge(obj)  # objects read and made in parts: closing the session would do it all at once
            if n % (4 * PART) == 0:
                await asyncio.sleep(0)
    if memory is not None and after is not None and not dry_run:
        memory.keep(before, after, result)
    return result


async def _resolve(session: AsyncSession, clock: FixedClock, found: dict[str, Candidate],
                   by_assignment: dict[int, Standing]) -> int:
    """Open alerts whose condition is over (pace recovered, target done) stop escalating."""
    still = {(c.kind, c.standing.assignment_id, c.level) for c in found.values()}
    rows = await reading.rows_of(session, select(Alert).where(col(Alert.kind).in_(["pace", "overdue"]),
                                                      Alert.state != "resolved"))
    n = 0
    for alert in rows:
        if (alert.kind, alert.assignment_id, alert.level) not in still:
            alert.state = "resolved"
            session.add(alert)
            n += 1
            if n % FLUSH == 0:  # the changes flushed FLUSH at a time, the event loop's turn between
                await session.flush()
                await asyncio.sleep(0)
    await session.flush()
    return n


async def _escalate(session: AsyncSession, now: datetime, cal: WorkCalendar, rules: Rules,
                    pending: list[tuple[Alert, Standing, int]], by_assignment: dict[int, Standing]) -> int:
    """Unacknowledged yellow/red/overdue alerts go one step up after the configured working days."""
    rows = await reading.rows_of(session, select(Alert).where(
        col(Alert.level).in_(ESCALATING), Alert.state == "open", Alert.stage < LAST_STAGE,
        Alert.kind != warning_notices.KIND))  # a warning notice climbs when unanswered
    listed = {id(a) for a, _, _ in pending}
    n = 0
    for alert in rows:
        standing = by_assignment.get(alert.assignment_id or 0)
        if standing is None or not allowed(alert.level == "red", now, cal, rules):
            continue
        since = alert.stage_at.astimezone(now.tzinfo).date()
        if cal.workdays_between(since, now.date()) < rules.ack_timeout_working_days:
            continue
        alert.stage += 1
        alert.stage_at = now
        session.add(alert)
        n += 1
        if id(alert) not in listed:
            pending.append((alert, standing, alert.stage))
        if n % FLUSH == 0:
            await session.flush()
            await asyncio.sleep(0)
    await session.flush()
    return n


async def _deliver(session: AsyncSession, clock: FixedClock, pending: list[tuple[Alert, Standing, int]],
                   result: TickResult) -> None:
    """Tell everyone each alert's stage reaches and who was not told yet; one message per person."""
    per_person: dict[int, list[tuple[Alert, Standing]]] = {}
    above_unit: set[int] = set()  # people told as leaders or office: they get "ask the unit"
    people = {}
    records: dict[tuple[int, int], AlertDelivery] = {}
    already: dict[int, set[int]] = {}
    ids = [alert.id for alert, _, _ in pending]
    for start in range(0, len(ids), PART):  # who was told of what: one query per PART alerts, not one each
        rows = await session.exec(select(AlertDelivery.alert_id, AlertDelivery.person_id).where(
            col(AlertDelivery.alert_id).in_(ids[start:start + PART])))
        for alert_id, person_id in rows.all():
            already.setdefault(alert_id, set()).add(person_id)
        await asyncio.sleep(0)
    reach = await recipients.reach(session, clock.now().date())  # everyone who may be told, in a few queries
    added = 0
    for n, (alert, standing, _) in enumerate(pending):
        if n % FLUSH == 0:
            await asyncio.sleep(0)
        told = already.setdefault(alert.id or 0, set())
        if isinstance(standing, overdue.Subject):
            reached = overdue.ladder(reach, alert, standing)
        else:
            reached = reach.ladder(alert, standing)
        if not reached and not told:
            result.unheard.append((alert.kind, alert.level, alert.key))
        for person, stage in reached:
            if person.id in told or person.id is None:
                continue
            people[person.id] = person
            if stage >= 1:
                above_unit.add(person.id)
            per_person.setdefault(person.id, []).append((alert, standing))
            record = AlertDelivery(alert_id=alert.id, person_id=person.id, stage=stage, created_at=clock.now())
            session.add(record)
            records[(alert.id or 0, person.id)] = record
            told.add(person.id)
            added += 1
            if added % FLUSH == 0:
                await session.flush()
                await asyncio.sleep(0)
    await session.flush()
    texts: dict[tuple[int | None, str | None], str] = {}
    for person_id, items in per_person.items():
        person = people[person_id]
        leader = person_id in above_unit
        text, whole = alert_push.build(items, person, by_unit=leader)
        row = await outbox.enqueue_to_person(session, clock, person, text=text, kind="alerts", parse_mode="HTML")
        push_id = 0
        if row is not None:
            await session.flush()
            push_id = row.id or 0
            row.reply_markup = alert_push.buttons(items, person, push_id, by_unit=leader, whole=whole)
            session.add(row)
            result.outbox_rows += 1
            for alert, _ in items:
                records[(alert.id or 0, person_id)].outbox_id = push_id
        result.pushes.append(Push(person.code, person.telegram_user_id or 0, len(items), text,
                                  alert_push.buttons(items, person, push_id, by_unit=leader, whole=whole)))
        for n, (alert, standing) in enumerate(items, 1):
            if (alert.id, person.language) not in texts:  # an alert reads the same to everyone of a language
                texts[(alert.id, person.language)] = alert_text.block(alert, standing, person)
            result.messages.append(Message(person.code, person.telegram_user_id or 0, alert.kind, alert.level,
                                           alert.key, texts[(alert.id, person.language)]))
            if n % (FLUSH // 2) == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(0)
