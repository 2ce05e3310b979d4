"""The year's results as a workbook (``duban assess export``): an About sheet (year, status, cut-off, the
rules' hash), the ranking of each class (one sheet per class), each unit's breakdown, each assignment's
line, peer / inspection / survey statistics, vetoes and adjustments (bonus, deduction, corrections),
appeals and the leading groups.

Peer, inspection and survey figures are counts and means only: no scorer, no respondent is named
anywhere (the snapshot holds none). Headers in the configured language; numbers are typed cells with
the unrounded value (scores show 2 decimals)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from config.i18n import t
from models.db import UnitOfWork
from services.assessment import appeal_records as appeals
from services.assessment import export_more as more
from services.assessment import rounds, survey_sessions
from services.assessment.appeal_records import AppealView
from services.assessment.rounds import Results
from services.assessment.sheets import Sheet as _Sheet
from services.assessment.sheets import sheet_name as _sheet_name
from services.assessment.survey_sessions import SessionCount
from services.core import cells
from services.core.clock import Clock
from services.progress.economy import Economy, economy
from services.scoring.results import UnitResult


@dataclass(frozen=True)
class Exported:
    year: int
    status: str
    units: int
    classes: int
    path: Path


def _yes(flag: bool, lang: str) -> str:
    return t("exp.yes", lang) if flag else ""


def _grade(u: UnitResult, lang: str) -> str:
    return t(f"grade.{u.grade}", lang)


def write(path: Path, res: Results, appeals: list[AppealView], lang: str, tz: ZoneInfo,
          sessions: list[SessionCount] | None = None, eco: Economy | None = None) -> Exported:
    county = res.county
    wb = Workbook()
    taken: set[str] = set()
    about = wb.active
    assert about is not None
    about.title = _sheet_name(t("exp.sheet.about", lang), taken)
    status = t("exp.preview", lang) if res.live else t(f"res.status.{res.status}", lang)
    for key, value in (("year", county.year), ("status", status), ("cutoff", county.cutoff.isoformat()),
                       ("rules_hash", county.rules_hash), ("units", len(county.units)),
                       ("appeal_until", res.appeal_until.astimezone(tz).strftime("%Y-%m-%d %H:%M")
                        if res.appeal_until else "")):
        cells.append(about, [t(f"exp.about.{key}", lang), value])
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 22, 70

    classes = county.by_class()
    for unit_class, units in classes.items():
        sheet = _Sheet(wb.create_sheet(_sheet_name(t("exp.sheet.ranking", lang, unit_class=unit_class), taken)),
                       lang, [("rank", 6, "int"), ("unit_code", 12, "text"), ("unit_name", 24, "text"),
                              ("total", 10, "score"), ("grade", 10, "text"), ("vetoed", 8, "text"),
                              ("bottom", 10, "text")])
        for u in sorted(units, key=lambda x: (x.rank, x.unit_code)):
            sheet.add([u.rank, u.unit_code, u.unit_name, u.total, _grade(u, lang), _yes(u.vetoed, lang),
                       _yes(u.bottom, lang)], highlight=u.bottom)
        sheet.finish()

    units = sorted(county.units, key=lambda x: (x.unit_class, x.rank, x.unit_code))
    sheet = _Sheet(wb.create_sheet(_sheet_name(t("exp.sheet.units", lang), taken)), lang, [
        ("unit_class", 10, "text"), ("rank", 6, "int"), ("class_size", 8, "int"), ("unit_code", 12, "text"),
        ("unit_name", 24, "text"), ("completion", 10, "score"), ("peer", 10, "score"), ("inspection", 10, "score"),
        ("w_completion", 9, "score"), ("w_peer", 9, "score"), ("w_inspection", 9, "score"), ("bonus", 8, "score"),
        ("deduction", 8, "score"), ("correction", 8, "score"), ("survey_rate", 10, "percent"),
        ("total", 10, "score"), ("grade", 8, "text"), ("vetoed", 8, "text"), ("veto_reasons", 14, "text"),
        ("bottom", 10, "text"), ("failed_targets", 30, "text"), ("caps", 24, "text")])
    for u in units:
        sheet.add([u.unit_class, u.rank, u.class_size, u.unit_code, u.unit_name, u.completion, u.peer, u.inspection,
                   u.weights.get("completion"), u.weights.get("peer"), u.weights.get("inspection"), u.bonus,
                   u.deduction, u.correction, u.survey.rate, u.total, _grade(u, lang), _yes(u.vetoed, lang),
                   ", ".join(t(f"exp.veto.{r}", lang) for r in u.veto_reasons), _yes(u.bottom, lang),
                   ", ".join(u.failed_targets), ", ".join(t(f"exp.cap.{c}", lang) for c in u.caps)],
                  highlight=u.bottom)
    sheet.finish()
    more.categories(wb, taken, units, lang)

    sheet = _Sheet(wb.create_sheet(_sheet_name(t("exp.sheet.lines", lang), taken)), lang, [
        ("unit_code", 12, "text"), ("unit_name", 20, "text"), ("target_code", 12, "text"),
        ("target_title", 28, "text"), ("mode", 8, "text"), ("measure", 8, "text"), ("baseline", 12, "value"),
        ("planned", 12, "value"), ("claimed", 12, "value"), ("value", 12, "value"), ("verified", 8, "text"),
        ("ratio", 10, "percent"), ("weight", 8, "value"), ("points", 10, "score"), ("complete", 8, "text"),
        ("note", 20, "text")])
    for u in units:
        for a in u.lines:
            sheet.add([u.unit_code, u.unit_name, a.target_code, a.target_title, t(f"exp.mode.{a.mode}", lang),
                       a.measure, a.baseline, a.planned, a.claimed, a.value, _yes(a.verified, lang), a.ratio,
                       a.weight, a.points, _yes(a.complete, lang),
                       t(f"score.note.{a.note}", lang) if a.note else ""])
    sheet.finish()

    sheet = _Sheet(wb.create_sheet(_sheet_name(t("exp.sheet.stats", lang), taken)), lang, [
        ("unit_code", 12, "text"), ("unit_name", 20, "text"), ("peer_count", 9, "int"), ("peer", 10, "score"),
        ("inspection_count", 9, "int"), ("inspection", 10, "score"), ("answers", 9, "int"),
        ("satisfied", 9, "int"), ("basic", 9, "int"), ("unsatisfied", 9, "int"), ("survey_rate", 10, "percent"),
        ("below_minimum", 10, "text"), ("survey_veto", 10, "text")])
    for u in units:
        sv = u.survey
        sheet.add([u.unit_code, u.unit_name, u.peer_count, u.peer, u.inspection_count, u.inspection, sv.answers,
                   sv.satisfied, sv.basic, sv.unsatisfied, sv.rate, _yes(sv.below_minimum, lang),
                   _yes(sv.veto, lang)])
    sheet.finish()

    sheet = _Sheet(wb.create_sheet(_sheet_name(t("exp.sheet.items", lang), taken)), lang, [
        ("unit_code", 12, "text"), ("unit_name", 20, "text"), ("kind", 10, "text"), ("points", 8, "score"),
        ("reason", 40, "text"), ("evidence", 30, "text")])
    for u in units:
        for i in [*u.items, *u.vetoes]:
            sheet.add([u.unit_code, u.unit_name, t(f"res.kind.{i.kind}", lang), i.points, i.reason, i.evidence])
    sheet.finish()

    sheet = _Sheet(wb.create_sheet(_sheet_name(t("exp.sheet.appeals", lang), taken)), lang, [
        ("appeal", 6, "int"), ("unit_code", 12, "text"), ("unit_name", 20, "text"), ("appellant", 10, "text"),
        ("filed_at", 17, "text"), ("reason", 40, "text"), ("appeal_status", 10, "text"),
        ("correction", 9, "score"), ("decision_reason", 40, "text"), ("decided_by", 10, "text")])
    for ap in appeals:
        sheet.add([ap.id, ap.unit_code, ap.unit_name, ap.person_name,
                   ap.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), ap.reason,
                   t(f"appeal.status.{ap.status}", lang), ap.correction, ap.decision_reason, ap.decided_by])
    sheet.finish()

    sheet = _Sheet(wb.create_sheet(_sheet_name(t("exp.sheet.groups", lang), taken)), lang, [
        ("group_code", 10, "text"), ("group_name", 28, "text"), ("group_complete", 10, "text"),
        ("failing", 60, "text"), ("group_head", 16, "text")])
    for g in county.groups:
        sheet.add([g.code, g.name, t("exp.group_rewarded", lang) if g.complete else t("exp.group_withheld", lang),
                   "; ".join(f"{target}/{unit}" for target, unit in g.failing),
                   f"{g.head_name}（{g.head_code}）" if g.head_code else ""])
    sheet.finish()
    more.sessions(wb, taken, sessions or [], lang, tz)
    if eco is not None:
        more.economy_sheet(wb, taken, eco, lang)

    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return Exported(year=county.year, status=res.status, units=len(county.units), classes=len(classes), path=path)


async def export(path: Path, year: int | None, *, uow: UnitOfWork, clock: Clock, lang: str,
                 tz: ZoneInfo | None = None) -> Exported:
    """Write the workbook of ``year`` (the latest round without one): stored results once published,
    a live preview while the round is open. ``uow`` is used twice, one read after the other."""
    res = await rounds.results(year, uow=uow, clock=clock, tz=tz)
    filed = await appeals.appeals(res.year, uow=uow)
    sessions = await survey_sessions.counts(res.year, uow=uow)
    async with uow:  # the economic focus as of the cut-off (or today, before it)
        eco = await economy(uow.session, res.year, min(res.county.cutoff, clock.now().date()), tz or clock.tz)
    return write(path, res, filed, lang, tz or clock.tz, sessions, eco)
