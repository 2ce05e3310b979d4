"""A leader's portfolio: their linked items (联系点: an investment project, a key project, an enterprise,
a lagging village — models/plan.LeaderLink) and the line of the leading group they head (分线履职:
the targets whose leading_group_id is that group), each assignment with its pace (services/progress)
and its unresolved alerts and warning notice (预警通知单: open, or answered with the reason and next steps).
``/portfolio`` shows it; ``weekly_digest`` pushes it to every leader once
per ISO week, on Monday from 08:00 county time, through the outbox."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import Translator, normalise_language
from models.alerts import Alert, AlertDelivery
from models.core import OutboxMessage
from models.db import UnitOfWork
from models.enums import LinkKind, Role
from models.people import Person, RoleMembership
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit
from services.core import outbox
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.core.text import chunks
from services.plan.values import format_value
from services.progress import notices
from services.progress.notices import NoticeLine
from services.progress.standings import Standing, standings

DIGEST_KIND = "portfolio.digest"
DIGEST_FROM = time(8, 0)
MAX_LINES = 8  # assignments shown per linked item, most urgent first
WORST = 5  # assignments of a group's line shown
ICON = {"overdue": "⛔", "red": "🔴", "yellow": "🟡", "on_track": "🟢", "done": "✅", "not_started": "⚪"}
STATUSES = ("overdue", "red", "yellow", "on_track", "done", "not_started")


@dataclass(frozen=True)
class LinkedItem:
    kind: str  # models.enums.LinkKind
    label: str  # the target's title (code), or the unit's name
    standings: list[Standing]  # most urgent first
    alerts: dict[int, int]  # assignment id → unresolved alerts


@dataclass(frozen=True)
class GroupLine:
    code: str
    name: str
    targets: int
    standings: list[Standing]  # most urgent first
    alerts: dict[int, int]

    @property
    def counts(self) -> Counter[str]:
        return Counter(s.pace.status.value for s in self.standings)


@dataclass(frozen=True)
class Portfolio:
    person_id: int
    name: str
    as_of: date
    items: list[LinkedItem] = field(default_factory=list)
    groups: list[GroupLine] = field(default_factory=list)
    notices: dict[int, NoticeLine] = field(default_factory=dict)  # assignment id → its latest warning notice

    @property
    def empty(self) -> bool:
        return not self.items and not self.groups


async def _alerts(s: AsyncSession, assignment_ids: list[int]) -> dict[int, int]:
    if not assignment_ids:
        return {}
    found = await s.exec(select(Alert.assignment_id, func.count()).where(
        col(Alert.assignment_id).in_(assignment_ids), Alert.state != "resolved").group_by(col(Alert.assignment_id)))
    return {a: int(n) for a, n in found.all() if a is not None}


async def build(s: AsyncSession, person: Person, as_of: date, tz: ZoneInfo) -> Portfolio:
    """The portfolio of one leader as of a day (targets of that day's year for linked units and groups;
    a linked target whatever its year)."""
    assert person.id is not None
    links = (await s.exec(select(LeaderLink).where(LeaderLink.leader_person_id == person.id)
                          .order_by(col(LeaderLink.id)))).all()
    groups = (await s.exec(select(LeadingGroup).where(LeadingGroup.head_person_id == person.id)
                           .order_by(col(LeadingGroup.code)))).all()
    wanted: dict[int, list[int]] = {}  # link id → assignment ids
    labels: dict[int, str] = {}
    for link in links:
        assert link.id is not None
        query = select(Assignment.id).join(Target, col(Target.id) == col(Assignment.target_id))
        if link.target_id is not None:
            target = await s.get(Target, link.target_id)
            labels[link.id] = f"{target.title}（{target.code}）" if target else "?"
            query = query.where(Assignment.target_id == link.target_id)
        elif link.unit_id is not None:
            unit = await s.get(Unit, link.unit_id)
            labels[link.id] = unit.name if unit else "?"
            query = query.where(Assignment.unit_id == link.unit_id, Target.year == as_of.year)
        else:
            continue
        wanted[link.id] = [a for a in (await s.exec(query)).all() if a is not None]
    group_targets: dict[int, list[int]] = {}
    for g in groups:
        assert g.id is not None
        group_targets[g.id] = list((await s.exec(select(Target.id).where(
            Target.leading_group_id == g.id, Target.year == as_of.year))).all())
    group_assignments = {gid: list((await s.exec(select(Assignment.id).where(
        col(Assignment.target_id).in_(tids or [-1])))).all()) for gid, tids in group_targets.items()}
    every = sorted({a for ids in [*wanted.values(), *group_assignments.values()] for a in ids})
    found = {st.assignment_id: st for st in await standings(s, as_of=as_of, tz=tz, assignment_ids=every)} \
        if every else {}
    alerts = await _alerts(s, every)

    def pick(ids: list[int]) -> list[Standing]:
        return sorted((found[a] for a in ids if a in found), key=lambda st: st.urgency)

    items = [LinkedItem(kind=link.kind, label=labels[link.id], standings=pick(wanted[link.id]),
                        alerts={a: alerts[a] for a in wanted[link.id] if a in alerts})
             for link in links if link.id in wanted]
    lines = [GroupLine(code=g.code, name=g.name, targets=len(group_targets[g.id]),
                       standings=pick(group_assignments[g.id]),
                       alerts={a: alerts[a] for a in group_assignments[g.id] if a in alerts})
             for g in groups if g.id is not None]
    return Portfolio(person_id=person.id, name=person.name, as_of=as_of, items=items, groups=lines,
                     notices=await notices.latest(s, every))


async def is_leader(s: AsyncSession, person: Person) -> bool:
    return (await s.exec(select(RoleMembership.id).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.LEADER.value))).first() is not None


async def portfolio(user_id: int, *, uow: UnitOfWork, clock: Clock) -> Portfolio:
    """/portfolio: the asking leader's portfolio today."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        if not await is_leader(s, person):
            raise DomainError("portfolio.not_leader")
        return await build(s, person, clock.now().date(), clock.tz)


# ---------------------------------------------------------------------------------- text
def _standing(st: Standing, alerts: int, tr: Translator, what: str, p: Portfolio | None = None) -> str:
    def v(x):  # type: ignore[no-untyped-def]
        return format_value(x, st.measure, tr.lang) if x is not None else "—"

    return tr("pf.assignment", icon=ICON.get(st.pace.status.value, "•"), what=what, effective=v(st.effective),
              planned=v(st.planned),
              percent=f"{st.pace.percent_complete:.0f}", status=tr(f"pf.status.{st.pace.status.value}"),
              alerts=tr("pf.alerts", count=alerts) if alerts else "") + _notice(st, tr, p)


def _notice(st: Standing, tr: Translator, p: Portfolio | None) -> str:
    """The assignment's warning notice (预警通知单), open or answered, on a line of its own."""
    found = p.notices.get(st.assignment_id) if p is not None else None
    text = notices.line(found, p.as_of, tr) if found is not None and p is not None else None
    return "\n    " + text if text else ""


def render(p: Portfolio, tr: Translator, *, digest: bool = False) -> list[str]:
    """The portfolio as messages (HTML)."""
    lines = [tr("pf.digest_head" if digest else "pf.head", name=p.name, date=p.as_of.isoformat())]
    if p.empty:
        lines.append(tr("pf.empty"))
        return chunks(lines)
    if p.items:
        lines += ["", tr("pf.links_head")]
    for item in p.items:
        lines.append(tr("pf.link", kind=tr(f"pf.kind.{item.kind}"), label=item.label))
        if not item.standings:
            lines.append(tr("pf.no_assignments"))
        by_target = item.kind in (LinkKind.INVESTMENT_PROJECT, LinkKind.KEY_PROJECT)
        lines += [_standing(st, item.alerts.get(st.assignment_id, 0), tr,
                            st.unit_name if by_target else tr("pf.target", title=st.title, code=st.target_code), p)
                  for st in item.standings[:MAX_LINES]]
        if len(item.standings) > MAX_LINES:
            lines.append(tr("pf.more", count=len(item.standings) - MAX_LINES))
    for g in p.groups:
        counts = g.counts
        lines += ["", tr("pf.group_head", name=g.name, code=g.code),
                  tr("pf.group_counts", targets=g.targets, assignments=len(g.standings),
                     done=counts["done"], on_track=counts["on_track"], yellow=counts["yellow"], red=counts["red"],
                     overdue=counts["overdue"], not_started=counts["not_started"],
                     alerts=sum(g.alerts.values()))]
        behind = [st for st in g.standings if st.pace.status.value in ("overdue", "red", "yellow")][:WORST]
        if behind:
            lines.append(tr("pf.group_worst"))
            lines += [_standing(st, g.alerts.get(st.assignment_id, 0), tr,
                                tr("pf.target_unit", title=st.title, code=st.target_code, unit=st.unit_name), p)
                      for st in behind]
        elif g.standings:
            lines.append(tr("pf.group_fine"))
    return chunks(lines)


# ---------------------------------------------------------------------------------- the weekly digest
def week_of(moment: datetime) -> str:
    iso = moment.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


DIGEST_LIMIT = 600  # one phone screen, like an alert push
DIGEST_WORST = 5


def _every(p: Portfolio) -> list[Standing]:
    """Each assignment of the portfolio once (an assignment may sit in a linked item and the group's line)."""
    seen: dict[int, Standing] = {}
    for st in [*(st for i in p.items for st in i.standings), *(st for g in p.groups for st in g.standings)]:
        seen.setdefault(st.assignment_id, st)
    return sorted(seen.values(), key=lambda st: (st.urgency[0], -_behind(st), st.target_code))


def _behind(st: Standing) -> Decimal:
    """How far behind as a share of the planned change (the largest gap first)."""
    span = st.planned - st.baseline
    return st.pace.gap / span if span and st.pace.gap > 0 else Decimal(0)


def digest_text(p: Portfolio, tr: Translator) -> str:
    """The weekly digest in one screen: how many assignments in each state, the open alerts and warning notices,
    and the few worst lines; the whole portfolio is a button away (``pf:pg``, paged from the database)."""
    every = _every(p)
    counts = Counter(st.pace.status.value for st in every)
    alerts = sum(n for i in p.items for n in i.alerts.values()) + sum(n for g in p.groups for n in g.alerts.values())
    waiting = sum(1 for n in p.notices.values() if n.answered_by is None and n.open)
    head = [tr("pf.digest_head", name=p.name, date=p.as_of.isoformat()),
            tr("pf.digest_scope", links=len(p.items), groups=len(p.groups), assignments=len(every)),
            " · ".join(tr("pf.digest_count", icon=ICON[k], status=tr(f"pf.status.{k}"), count=counts[k])
                       for k in STATUSES if counts[k]) or tr("pf.empty"),
            tr("pf.digest_alerts", alerts=alerts, notices=waiting)]
    behind = [st for st in every if st.pace.status.value in ("overdue", "red", "yellow")]
    body = [tr("pf.digest_line", icon=ICON.get(st.pace.status.value, "•"), title=_cut(st.title, 14),
               unit=_cut(st.unit_name, 8), percent=f"{st.pace.percent_complete:.0f}") for st in behind[:DIGEST_WORST]]
    if behind:
        head.append(tr("pf.group_worst"))
    shown = list(body)
    while True:
        tail = [tr("pf.more", count=len(behind) - len(shown))] if len(shown) < len(behind) else []
        text = "\n".join(head + shown + tail)
        if len(text) <= DIGEST_LIMIT or not shown:
            return text
        shown.pop()


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def digest_buttons(p: Portfolio, push_id: int, tr: Translator, *, open_alerts: bool) -> dict[str, object]:
    """The whole portfolio (a new message, paged) and, while any alert is open, acknowledge them all."""
    row = [{"text": tr("pf.btn_all"), "callback_data": "pf:pg"}]
    if open_alerts:
        row.append({"text": tr("push.btn_ack_all"), "callback_data": f"pf:ack:{push_id}"})
    return {"inline_keyboard": [row]}


async def weekly_digest(moment: datetime, *, uow: UnitOfWork, clock: Clock) -> int:
    """On Monday from 08:00 (county time): queue each reachable leader's digest — one screen (``digest_text``)
    with a button to the whole portfolio and one acknowledging their open alerts — once per ISO week (key
    ``digest:<person id>:<yyyy-Www>:1``; a second run that week queues nothing). Any other day or hour does
    nothing. Leaders with no linked item and no group get nothing. Returns how many leaders were queued a
    digest."""
    local = moment.astimezone(clock.tz)
    if local.weekday() != 0 or local.time() < DIGEST_FROM:
        return 0
    week = week_of(local)
    queued = 0
    async with uow:
        s = uow.session
        leaders = (await s.exec(
            select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
            .where(RoleMembership.role == Role.LEADER.value, Person.active == True,  # noqa: E712
                   col(Person.telegram_user_id).is_not(None), col(Person.unreachable_at).is_(None))
            .distinct().order_by(col(Person.id)))).all()
        for person in leaders:
            assert person.telegram_user_id is not None
            first = f"digest:{person.id}:{week}:1"
            done = (await s.exec(select(OutboxMessage.id).where(
                OutboxMessage.chat_id == person.telegram_user_id, OutboxMessage.dedup_key == first))).first()
            if done is not None:
                continue
            p = await build(s, person, local.date(), clock.tz)
            if p.empty:
                continue
            tr = Translator(normalise_language(person.language))
            row = await outbox.enqueue_to_person(s, clock, person, text=digest_text(p, tr), kind=DIGEST_KIND,
                                                 parse_mode="HTML", dedup_key=first)
            if row is not None:
                await s.flush()
                row.reply_markup = digest_buttons(p, row.id or 0, tr, open_alerts=await _open_alerts(s, person))
                s.add(row)
            queued += 1
        await uow.commit()
    return queued


async def _open_alerts(s: AsyncSession, person: Person) -> bool:
    """Whether the leader was told of an alert nobody has acknowledged yet."""
    return (await s.exec(select(AlertDelivery.id).join(Alert, col(Alert.id) == col(AlertDelivery.alert_id)).where(
        AlertDelivery.person_id == person.id, Alert.state == "open", Alert.kind != "warning"))).first() is not None
