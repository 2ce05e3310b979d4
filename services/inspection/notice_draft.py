"""A criticism notice (通报批评) composed from data: the period, the facts per unit, the document.

The document is an official one and is always in Chinese, whatever the reader's language, so its
wording lives here (not in the UI catalogues). Its form follows a county notice: title, addressees,
preamble, 一、基本情况, 二、存在问题 (per unit, numbered facts), 三、工作要求, issuer and date.

Facts of a period (``Findings``), per unit, units with none left out:
- inspections in the period rated poor, or flagged ``integrity`` (claimed vs verified), one fact per visit;
- supervision items red on the cut-off day (the period's last day, or today if earlier): past their deadline
  and neither closed nor waiting for verification by then (services/items/period.py) — rectifications (整改,
  items from an inspection) and the other 督办件 are counted apart;
- assignments of the period's year at red or overdue pace on the cut-off day (``progress.standings``).
Inactive units and closed targets are left out.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from zoneinfo import ZoneInfo

import cn2an
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.inspection import Inspection
from models.plan import Assignment, Target, Unit
from services.core.errors import DomainError
from services.core.text import TELEGRAM_LIMIT, split_text, utf16_len
from services.items.period import RedPart, red_on
from services.plan.values import format_value
from services.progress.pace import PaceStatus
from services.progress.standings import Standing, end_of_day, standings

ISSUER = "县目标办"
EXCERPT = 80
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|H([12])|(\d{1,2})))?$")
_HALF = {1: "上半年", 2: "下半年"}


@dataclass(frozen=True)
class Period:
    code: str  # canonical: 2027-Q1, 2027-03, 2027-H1, 2027
    start: date
    end: date
    label: str  # 2027年第一季度

    @property
    def title(self) -> str:
        return f"关于{self.label}目标任务推进情况的通报"


def parse_period(text: str | None) -> Period:
    """``2027-Q1``, ``2027-03``, ``2027-H1`` or ``2027`` (any case, full-width too); DomainError otherwise."""
    typed = (text or "").strip()
    m = _PERIOD.match(unicodedata.normalize("NFKC", typed).upper().replace(" ", ""))
    year = int(m[1]) if m else 0
    if m is None or not 2000 <= year <= 2099 or (m[4] is not None and not 1 <= int(m[4]) <= 12):
        raise DomainError("notice.bad_period", text=typed[:40] or "—")
    if m[2]:
        q = int(m[2])
        start, end = date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
        return Period(f"{year}-Q{q}", start, end, f"{year}年第{cn2an.an2cn(q)}季度")
    if m[3]:
        h = int(m[3])
        return Period(f"{year}-H{h}", date(year, 6 * h - 5, 1), _month_end(year, 6 * h), f"{year}年{_HALF[h]}")
    if m[4]:
        month = int(m[4])
        return Period(f"{year}-{month:02d}", date(year, month, 1), _month_end(year, month), f"{year}年{month}月")
    return Period(str(year), date(year, 1, 1), date(year, 12, 31), f"{year}年度")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ------------------------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Fact:
    kind: str  # inspection / rectification / item / pace
    order: tuple[int, str]  # within a unit: kind rank, then date or code
    text: str
    poor: bool = False
    integrity: bool = False


@dataclass
class UnitFacts:
    unit_id: int
    code: str
    name: str
    facts: list[Fact] = field(default_factory=list)


@dataclass
class Findings:
    period: Period
    cutoff: date  # the period's last day, or today if earlier
    inspections: int = 0  # visits in the period, all ratings
    poor: int = 0
    integrity: int = 0
    overdue_items: int = 0  # rectifications (整改) red on the cut-off day
    red_items: int = 0  # other supervision items (督办件) red on the cut-off day
    behind: int = 0
    units: list[UnitFacts] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.units


def _excerpt(text: str | None, limit: int = EXCERPT) -> str:
    clean = " ".join((text or "").split()).rstrip("。；;，,. ")
    return clean if len(clean) <= limit else clean[: limit - 1] + "……"


def _value(value: object, measure: str) -> str:
    if value is None:
        return "—"
    try:
        return format_value(Decimal(str(value)), measure, "zh")
    except ArithmeticError:
        return str(value)


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _integrity(visit: Inspection) -> dict[str, object] | None:
    for flag in visit.flags or ():
        if isinstance(flag, dict) and flag.get("kind") == "integrity":
            params = flag.get("params")
            return params if isinstance(params, dict) else {}
    return None


def _visit_fact(visit: Inspection, target: Target | None, tz: ZoneInfo, integrity: dict[str, object] | None) -> Fact:
    when = visit.visited_at.astimezone(tz).date()
    what = f"对“{target.title}”（{target.code}）" if target else "对该单位"
    text = f"{cn_date(when)}，督查组{what}进行实地督查"
    if visit.rating == "poor":
        text += "，现场评定为“差”"
    if findings := _excerpt(visit.findings):
        text += f"，发现问题：{findings}"
    if integrity is not None:
        measure = target.measure if target else ""
        claimed = visit.claimed_value if visit.claimed_value is not None else integrity.get("claimed")
        verified = visit.verified_value if visit.verified_value is not None else integrity.get("verified")
        text += f"；该单位上报完成{_value(claimed, measure)}，现场核实为{_value(verified, measure)}，上报数据与实际不符"
    return Fact("inspection", (0, when.isoformat()), text + "。", poor=visit.rating == "poor",
                integrity=integrity is not None)


def _item_fact(item: RedPart, cutoff: date) -> Fact:
    if item.source == "inspection":
        text = (f"督查发现的问题“{_excerpt(item.task, 60)}”，整改时限为{cn_date(item.deadline)}，"
                f"截至{cn_date(cutoff)}已逾期{item.days_late}天，仍未完成整改并通过验收。")
        return Fact("rectification", (1, item.deadline.isoformat()), text)
    text = (f"督办事项“{_excerpt(item.task, 60)}”（督办件第{item.item_id}号），办理时限为{cn_date(item.deadline)}，"
            f"截至{cn_date(cutoff)}已逾期{item.days_late}天，仍未办结销号。")
    return Fact("item", (1, item.deadline.isoformat()), text)


def _pace_fact(s: Standing, cutoff: date) -> Fact:
    m = s.measure
    done = _value(s.effective, m) if s.effective is not None else "未上报进度"
    claimed = f"（单位上报{_value(s.claimed, m)}）" if s.claimed is not None and s.claimed != s.effective else ""
    head = f"“{s.title}”（{s.target_code}）计划完成{_value(s.planned, m)}"
    if s.pace.status == PaceStatus.OVERDUE:
        text = (f"{head}，完成时限为{cn_date(s.deadline)}，截至{cn_date(cutoff)}已逾期{-s.pace.days_left}天，"
                f"实际完成{done}{claimed}，仅完成计划的{s.pace.percent_complete.normalize():f}%，逾期未完成。")
        return Fact("pace", (2, "0" + s.target_code), text)
    expected = s.pace.expected.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{head}，截至{cn_date(cutoff)}应完成{_value(expected, m)}，实际完成{done}{claimed}"
    if s.pace.ratio is not None:
        text += f"，仅为序时进度的{_percent(s.pace.ratio)}，进度严重滞后。"
    else:
        text += "，未达到目标要求。"
    return Fact("pace", (2, "1" + s.target_code), text)


async def gather(session: AsyncSession, period: Period, *, today: date, tz: ZoneInfo) -> Findings:
    """The facts of ``period`` as of ``today``; DomainError if the period has not begun."""
    if period.start > today:
        raise DomainError("notice.period_not_started", period=period.code)
    cutoff = min(period.end, today)
    findings = Findings(period=period, cutoff=cutoff)
    start_at, end_at = datetime.combine(period.start, time.min, tzinfo=tz), end_of_day(period.end, tz)
    per_unit: dict[int, list[Fact]] = {}
    in_period = (col(Inspection.visited_at) >= start_at, col(Inspection.visited_at) <= end_at)
    findings.inspections = int((await session.exec(select(func.count()).where(*in_period))).one())
    visits = (await session.exec(
        select(Inspection, Target).join(Assignment, col(Assignment.id) == col(Inspection.assignment_id), isouter=True)
        .join(Target, col(Target.id) == col(Assignment.target_id), isouter=True)
        .where(*in_period).order_by(col(Inspection.visited_at), col(Inspection.id)))).all()
    for visit, target in visits:
        integrity = _integrity(visit)
        if visit.rating == "poor" or integrity is not None:
            per_unit.setdefault(visit.unit_id, []).append(_visit_fact(visit, target, tz, integrity))
    cutoff_at = end_of_day(cutoff, tz)
    for item in await red_on(session, cutoff, cutoff_at):
        per_unit.setdefault(item.unit_id, []).append(_item_fact(item, cutoff))
    for s in await standings(session, as_of=cutoff, tz=tz):
        if s.pace.status in (PaceStatus.RED, PaceStatus.OVERDUE) and not s.closed and s.year == period.start.year:
            per_unit.setdefault(s.unit_id, []).append(_pace_fact(s, cutoff))
    units = (await session.exec(select(Unit).where(col(Unit.id).in_(list(per_unit)), Unit.active == True)  # noqa: E712
                                .order_by(col(Unit.code)))).all()
    for unit in units:  # facts of inactive units are left out, and not counted
        assert unit.id is not None
        facts = sorted(per_unit[unit.id], key=lambda f: f.order)
        findings.units.append(UnitFacts(unit.id, unit.code, unit.name, facts))
        findings.poor += sum(f.poor for f in facts)
        findings.integrity += sum(f.integrity for f in facts)
        findings.overdue_items += sum(f.kind == "rectification" for f in facts)
        findings.red_items += sum(f.kind == "item" for f in facts)
        findings.behind += sum(f.kind == "pace" for f in facts)
    return findings


# ---------------------------------------------------------------------------------------- document
ADDRESSEES = "各乡镇、县级各部门、各有关单位："
PREAMBLE = ("　　为全面掌握{label}目标任务推进情况，县目标办按照“只看现场不听汇报、只看实绩不查资料”的要求，"
            "采取实地督查、进度监测等方式，对各责任单位目标任务推进情况进行了督查。现将有关情况通报如下：")
REQUIREMENTS = (
    "三、工作要求",
    "（一）限期整改。被通报单位要高度重视，对照通报指出的问题逐项制定整改措施，明确责任人和完成时限，"
    "于通报印发之日起15日内将整改情况书面报县目标办。",
    "（二）举一反三。各单位要引以为戒、举一反三，全面自查目标任务推进中的薄弱环节，如实上报进度数据，"
    "坚决杜绝虚报瞒报、弄虚作假。",
    "（三）加快进度。进度滞后的单位要倒排工期、挂图作战，集中力量攻坚，确保按期完成年度目标任务。",
    "（四）严肃问责。县目标办将持续跟踪督办，对整改不力、进度持续滞后的单位，按照有关规定严肃追责问责，"
    "并取消当年评优资格。",
)


def _overview(f: Findings) -> str:
    first = (f"{f.period.label}，县目标办共组织实地督查{f.inspections}次" if f.inspections
             else f"{f.period.label}，县目标办对各责任单位目标任务推进情况进行了监测")
    if f.poor:
        first += f"，其中现场评定为“差”的{f.poor}次"
    if f.integrity:
        first += f"，发现上报数据与现场核实不符{f.integrity}起"
    later = [f"逾期未完成整改事项{f.overdue_items}项"] if f.overdue_items else []
    if f.red_items:
        later.append(f"逾期未办结督办事项{f.red_items}项")
    if f.behind:
        later.append(f"进度严重滞后或逾期未完成的目标任务{f.behind}项")
    text = "　　" + first + (f"；截至{cn_date(f.cutoff)}，" + "，".join(later) if later else "")
    return text + f"。共有{len(f.units)}个责任单位存在上述问题，现予以通报批评。"


def compose(f: Findings, issued: date) -> tuple[str, str]:
    """The notice's title and full text (title first)."""
    title = f.period.title
    lines = [title, "", ADDRESSEES, PREAMBLE.format(label=f.period.label), "", "一、基本情况", _overview(f), "",
             "二、存在问题"]
    for n, unit in enumerate(f.units, 1):
        lines.append(f"（{cn2an.an2cn(n)}）{unit.name}")
        lines.extend(f"　　{i}. {fact.text}" for i, fact in enumerate(unit.facts, 1))
    lines += ["", *REQUIREMENTS, "", ISSUER, cn_date(issued)]
    return title, "\n".join(lines)


def publish_parts(title: str, body: str) -> list[str]:
    """The messages that publish a notice (HTML), each within Telegram's limit; with several, each says which
    it is. The title line is bold."""
    marker = "（共{total}条，第{n}条）"
    pieces = split_text(body, TELEGRAM_LIMIT - utf16_len(marker.format(total=999, n=999)) - 1)
    out = []
    for n, piece in enumerate(pieces, 1):
        first, _, rest = piece.partition("\n")
        html = (f"<b>{escape(first, quote=False)}</b>" if n == 1 and first.strip() == title.strip()
                else escape(first, quote=False))
        html += ("\n" + escape(rest, quote=False)) if rest else ""
        if len(pieces) > 1:
            html += "\n" + marker.format(total=len(pieces), n=n)
        out.append(html)
    return out
