"""The county's economic focus (经济工作重点, issue #15 §4): for a year, as of a day, the totals of every
category (产业培育, 项目争取, 项目落实, 招商引资, 其他) and of every pillar industry (支柱产业, the targets'
``pillar`` column) per measure — planned and effective (services/progress/standings.py, the one rule) —,
each investment target on its own (enterprises attracted, investment signed and arrived are such targets),
and the stage of the key projects (the targets county leaders are linked to as 重点项目): how far along,
and the worst pace among their units. "Lower is better" targets (accidents) are never summed. Admins see it
with /portfolio; the results workbook has it as a sheet."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import Translator
from models.db import UnitOfWork
from models.enums import LinkKind, Role
from models.people import Person, RoleMembership
from models.plan import LeaderLink, Target
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.core.text import chunks
from services.plan.values import format_value
from services.progress.portfolio import Portfolio, build, is_leader
from services.progress.standings import URGENCY, Standing, standings

ZERO = Decimal(0)
CATEGORY_ORDER = ("industry", "project_acquisition", "project_delivery", "investment", "other")


@dataclass
class Total:
    key: str  # a category, a pillar, or a target code
    label: str  # the target's title for a target; else the key
    measure: str
    targets: set[str] = field(default_factory=set)
    assignments: int = 0
    planned: Decimal = ZERO
    effective: Decimal = ZERO
    done: int = 0  # assignments whose pace says done

    @property
    def percent(self) -> Decimal | None:
        return None if self.planned == 0 else 100 * self.effective / self.planned


@dataclass(frozen=True)
class KeyProject:
    code: str
    title: str
    measure: str
    leaders: list[str]
    planned: Decimal
    effective: Decimal
    stage: str  # done / on_track / yellow / red / overdue / not_started: the worst of its units
    units: int


@dataclass(frozen=True)
class Economy:
    year: int
    as_of: date
    categories: list[Total]
    pillars: list[Total]
    investment: list[Total]
    key_projects: list[KeyProject]


def _add(total: Total, st: Standing) -> None:
    total.targets.add(st.target_code)
    total.assignments += 1
    total.planned += st.planned - st.baseline
    total.effective += (st.effective - st.baseline) if st.effective is not None else ZERO
    total.done += st.pace.status.value == "done"


async def economy(s: AsyncSession, year: int, as_of: date, tz: ZoneInfo) -> Economy:
    """The county view of ``year`` at the end of ``as_of``."""
    targets = {t.id: t for t in (await s.exec(select(Target).where(Target.year == year))).all()}
    rows = [st for st in await standings(s, as_of=as_of, tz=tz) if st.target_id in targets]
    cats: dict[tuple[str, str], Total] = {}
    pillars: dict[tuple[str, str], Total] = {}
    invest: dict[str, Total] = {}
    by_target: dict[int, list[Standing]] = defaultdict(list)
    for st in rows:
        by_target[st.target_id].append(st)
        if st.direction == "lower":
            continue
        t = targets[st.target_id]
        _add(cats.setdefault((t.category, st.measure), Total(t.category, t.category, st.measure)), st)
        if t.pillar:
            _add(pillars.setdefault((t.pillar, st.measure), Total(t.pillar, t.pillar, st.measure)), st)
        if t.category == "investment":
            _add(invest.setdefault(t.code, Total(t.code, t.title, st.measure)), st)
    links = (await s.exec(select(LeaderLink.target_id, Person.name)
                          .join(Person, col(Person.id) == col(LeaderLink.leader_person_id))
                          .where(LeaderLink.kind == LinkKind.KEY_PROJECT.value,
                                 col(LeaderLink.target_id).in_(sorted(targets) or [-1]))
                          .order_by(col(LeaderLink.id)))).all()
    leaders: dict[int, list[str]] = defaultdict(list)
    for tid, name in links:
        if tid is not None and name not in leaders[tid]:
            leaders[tid].append(name)
    projects = []
    for tid, names in leaders.items():
        t, mine = targets[tid], by_target.get(tid, [])
        worst = min((st.pace.status.value for st in mine), key=lambda v: URGENCY.get(v, 9), default="not_started")
        projects.append(KeyProject(
            t.code, t.title, t.measure, names, sum((st.planned - st.baseline for st in mine), ZERO),
            sum(((st.effective - st.baseline) if st.effective is not None else ZERO for st in mine), ZERO),
            worst, len(mine)))
    order = {c: n for n, c in enumerate(CATEGORY_ORDER)}
    return Economy(year, as_of,
                   sorted(cats.values(), key=lambda x: (order.get(x.key, 9), x.measure)),
                   sorted(pillars.values(), key=lambda x: (x.key, x.measure)),
                   sorted(invest.values(), key=lambda x: x.key),
                   sorted(projects, key=lambda p: p.code))


async def is_admin(s: AsyncSession, person: Person) -> bool:
    return (await s.exec(select(RoleMembership.id).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN.value))).first() is not None


async def views(user_id: int, *, uow: UnitOfWork, clock: Clock) -> tuple[Portfolio | None, Economy | None]:
    """/portfolio: a leader's own portfolio, an admin's county view (this year, today), or both; DomainError
    ``portfolio.not_leader`` for anyone else."""
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        leader, admin = await is_leader(s, person), await is_admin(s, person)
        if not leader and not admin:
            raise DomainError("portfolio.not_leader")
        today = clock.now().date()
        own = await build(s, person, today, clock.tz) if leader else None
        county = await economy(s, today.year, today, clock.tz) if admin else None
        return own, county


# ---------------------------------------------------------------------------------- text
def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _total(x: Total, tr: Translator, name: str) -> str:
    return tr("eco.total", name=name, targets=len(x.targets), assignments=x.assignments, done=x.done,
              effective=format_value(x.effective, x.measure, tr.lang),
              planned=format_value(x.planned, x.measure, tr.lang), percent=_pct(x.percent))


def render(e: Economy, tr: Translator) -> list[str]:
    """The county view as messages (HTML)."""
    lines = [tr("eco.head", year=e.year, date=e.as_of.isoformat()), "", tr("eco.categories")]
    lines += [_total(x, tr, tr(f"cat.{x.key}")) for x in e.categories] or [tr("eco.none")]
    lines += ["", tr("eco.investment")]
    lines += [_total(x, tr, f"{x.label}（{x.key}）" if tr.lang == "zh" else f"{x.label} ({x.key})")
              for x in e.investment] or [tr("eco.none")]
    lines += ["", tr("eco.pillars")]
    lines += [_total(x, tr, x.key) for x in e.pillars] or [tr("eco.none")]
    lines += ["", tr("eco.projects")]
    for p in e.key_projects:
        percent = None if p.planned == 0 else 100 * p.effective / p.planned
        lines.append(tr("eco.project", title=p.title, code=p.code, leaders="、".join(p.leaders),
                        effective=format_value(p.effective, p.measure, tr.lang),
                        planned=format_value(p.planned, p.measure, tr.lang), percent=_pct(percent),
                        stage=tr(f"pf.status.{p.stage}"), units=p.units))
    if not e.key_projects:
        lines.append(tr("eco.none"))
    return chunks(lines)
