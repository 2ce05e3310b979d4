"""Sheets of the results workbook added by issue #15 (services/assessment/export.py writes the rest): each
unit's completion per category with the weights as applied, and the survey counted per session (the unit's
own QR link apart, answers refused as the unit's own counted apart)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from openpyxl import Workbook

from config.i18n import t
from services.assessment.sheets import Sheet, sheet_name
from services.assessment.survey_sessions import OWN_UNIT, SessionCount
from services.progress.economy import Economy
from services.scoring.results import UnitResult


def category_name(key: str, lang: str) -> str:
    return t(f"cat.{key}", lang)


def categories(wb: Workbook, taken: set[str], units: list[UnitResult], lang: str) -> None:
    sheet = Sheet(wb.create_sheet(sheet_name(t("exp.sheet.categories", lang), taken)), lang, [
        ("unit_class", 10, "text"), ("unit_code", 12, "text"), ("unit_name", 24, "text"), ("category", 14, "text"),
        ("completion", 10, "score"), ("category_weight", 10, "score")])
    for u in units:
        for key, c in u.categories.items():
            sheet.add([u.unit_class, u.unit_code, u.unit_name, category_name(key, lang), c,
                       u.category_weights.get(key)])
    sheet.finish()


def sessions(wb: Workbook, taken: set[str], rows: list[SessionCount], lang: str, tz: ZoneInfo) -> None:
    sheet = Sheet(wb.create_sheet(sheet_name(t("exp.sheet.survey_sessions", lang), taken)), lang, [
        ("unit_code", 12, "text"), ("unit_name", 20, "text"), ("session", 14, "text"), ("inspector", 10, "text"),
        ("window", 30, "text"), ("satisfied", 9, "int"), ("basic", 9, "int"), ("unsatisfied", 9, "int"),
        ("own_unit", 12, "int")])
    for r in rows:
        window = (f"{r.opens_at.astimezone(tz):%Y-%m-%d %H:%M} – {r.closes_at.astimezone(tz):%H:%M}"
                  if r.opens_at and r.closes_at else "")
        c = r.counts
        sheet.add([r.unit_code, r.unit_name, f"#{r.session}" if r.session else t("exp.own_link", lang), r.inspector,
                   window, c.get("satisfied", 0), c.get("basic", 0), c.get("unsatisfied", 0), c.get(OWN_UNIT, 0)])
    sheet.finish()


def economy_sheet(wb: Workbook, taken: set[str], e: Economy, lang: str) -> None:
    """The county's economic focus (services/progress/economy.py): categories, investment targets, pillar
    industries, key projects."""
    sheet = Sheet(wb.create_sheet(sheet_name(t("exp.sheet.economy", lang), taken)), lang, [
        ("eco_section", 14, "text"), ("eco_name", 28, "text"), ("measure", 8, "text"), ("eco_targets", 8, "int"),
        ("eco_assignments", 8, "int"), ("eco_done", 8, "int"), ("eco_planned", 14, "value"),
        ("eco_effective", 14, "value"), ("eco_stage", 12, "text")])
    for section, rows in (("eco.categories", e.categories), ("eco.investment", e.investment),
                          ("eco.pillars", e.pillars)):
        for x in rows:
            name = category_name(x.key, lang) if section == "eco.categories" else (
                f"{x.label} ({x.key})" if section == "eco.investment" else x.key)
            sheet.add([t(section, lang), name, x.measure, len(x.targets), x.assignments, x.done, x.planned,
                       x.effective, ""])
    for p in e.key_projects:
        sheet.add([t("eco.projects", lang), f"{p.title} ({p.code})", p.measure, 1, p.units, None, p.planned,
                   p.effective, t(f"pf.status.{p.stage}", lang)])
    sheet.finish()
