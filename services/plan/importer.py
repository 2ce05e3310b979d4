"""Import the plan workbook: read, validate everything, then apply it atomically (or not at all).

``import_plan`` is what the CLI and the bot call; ``render_report`` turns its report into text in
the admin's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from config.i18n import normalise_language, t
from models.db import UnitOfWork
from services.core.clock import Clock
from services.plan.apply import Applier
from services.plan.checks import ClassWeights, warnings
from services.plan.prune import prune as prune_missing
from services.plan.spec import SHEET_BY_KEY, SHEETS, Problem
from services.plan.state import assignments_with_progress, load_existing
from services.plan.validate import referenced, validate
from services.plan.workbook import ParsedPlan, read_workbook

__all__ = ["ImportReport", "Problem", "assignments_with_progress", "import_plan", "render_report"]

COUNT_KEYS = ("created", "updated", "unchanged", "pruned")
LIST_LIMIT = 20  # codes shown per list before "… and N more"
VALUE_LIMIT = 40


@dataclass
class ImportReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # sheet -> created/updated/unchanged/pruned
    missing: dict[str, list[str]] = field(default_factory=dict)  # sheet -> codes in the database, not the file
    protected: list[str] = field(default_factory=list)  # "sheet:code" kept although prune was asked
    dry_run: bool = False
    prune: bool = False
    warnings: list[Problem] = field(default_factory=list)  # services/plan/checks.py: never refuse

    @property
    def changed(self) -> bool:
        return any(c.get("created", 0) or c.get("updated", 0) or c.get("pruned", 0) for c in self.counts.values())

    @property
    def ok(self) -> bool:
        return not self.problems


def _entered(uow: UnitOfWork) -> bool:
    try:
        uow.session  # noqa: B018 - raises outside ``async with``
    except RuntimeError:
        return False
    return True


_SHEET_ORDER = {"": -1, **{s.key: i for i, s in enumerate(SHEETS)}}


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (_SHEET_ORDER.get(p.sheet, 99), p.row or 0))


async def import_plan(source: Path | bytes, *, db_uow: UnitOfWork, clock: Clock, actor: str,
                      dry_run: bool = False, prune: bool = False,
                      class_weights: ClassWeights | None = None) -> ImportReport:
    """Validate the workbook against the database and, when it has no problem, apply it.

    Commits only when the workbook is valid and this is not a dry run. ``db_uow`` may be entered
    by the caller already; otherwise it is entered (and left) here.
    """
    parsed = read_workbook(source)
    if isinstance(parsed, list):
        return ImportReport(problems=_sorted(parsed), dry_run=dry_run, prune=prune)
    if _entered(db_uow):
        return await _import(parsed, db_uow, clock, actor, dry_run, prune, class_weights)
    async with db_uow:
        return await _import(parsed, db_uow, clock, actor, dry_run, prune, class_weights)


async def _import(plan: ParsedPlan, uow: UnitOfWork, clock: Clock, actor: str, dry_run: bool,
                  prune: bool, class_weights: ClassWeights | None = None) -> ImportReport:
    existing = await load_existing(uow.session)
    problems = plan.problems + validate(plan, existing)
    if problems:
        return ImportReport(problems=_sorted(problems), dry_run=dry_run, prune=prune)
    warned = _sorted(warnings(plan, existing, class_weights))
    applier = Applier(uow.session, clock, actor, plan, existing, prune=prune, write=not dry_run)
    await applier.run()
    await prune_missing(applier, referenced(plan))
    report = ImportReport(counts=applier.counts, missing=applier.missing, protected=sorted(applier.protected),
                          dry_run=dry_run, prune=prune, warnings=warned)
    if not dry_run:
        await uow.commit()
    return report


# ---------------------------------------------------------------------------------------- report


def _sheet_name(sheet: str, lang: str) -> str:
    return t(f"plan.sheet.{sheet}", lang)


def _column_name(sheet: str, column: str, lang: str) -> str:
    spec = SHEET_BY_KEY.get(sheet)
    col = next((c for c in spec.columns if c.key == column), None) if spec else None
    if col is None:
        return column  # a header the workbook had, or a column letter
    return col.label if lang == "zh" else col.key


def _short(text: str) -> str:
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def _codes(codes: list[str], lang: str) -> str:
    shown = "、".join(codes[:LIST_LIMIT]) if lang == "zh" else ", ".join(codes[:LIST_LIMIT])
    if len(codes) > LIST_LIMIT:
        shown += t("plan.report.more", lang, count=len(codes) - LIST_LIMIT)
    return shown


def problem_text(problem: Problem, lang: str) -> str:
    """One line: where (sheet, row, column, value) and what is wrong."""
    if problem.sheet:
        where = t("plan.loc.sheet", lang, sheet=_sheet_name(problem.sheet, lang))
    else:
        where = t("plan.loc.file", lang)
    if problem.row is not None:
        where = t("plan.loc.row", lang, where=where, row=problem.row)
    if problem.column:
        where = t("plan.loc.column", lang, where=where, column=_column_name(problem.sheet, problem.column, lang))
    if problem.value:
        where = t("plan.loc.value", lang, where=where, value=_short(problem.value))
    return t("plan.problem.line", lang, where=where, message=t(problem.key, lang, **problem.params))


def render_report(report: ImportReport, lang: str) -> str:
    """The report as text for the CLI or a chat message."""
    lang = normalise_language(lang)
    if report.problems:
        lines = [t("plan.report.failed", lang, count=len(report.problems))]
        lines += [problem_text(p, lang) for p in report.problems]
        return "\n".join(lines)
    lines = []
    if report.dry_run:
        lines.append(t("plan.report.dry_run", lang))
    if not report.changed:
        lines.append(t("plan.report.nothing_changed", lang))
    elif not report.dry_run:
        lines.append(t("plan.report.done", lang))
    for spec in SHEETS:
        counts = report.counts.get(spec.key)
        if counts:
            lines.append(t("plan.report.counts", lang, sheet=_sheet_name(spec.key, lang),
                           **{k: counts.get(k, 0) for k in COUNT_KEYS}))
    for spec in SHEETS:
        codes = report.missing.get(spec.key)
        if codes:
            key = "plan.report.pruned" if report.prune else "plan.report.missing"
            lines.append(t(key, lang, sheet=_sheet_name(spec.key, lang), count=len(codes), codes=_codes(codes, lang)))
    roles = report.missing.get("memberships")
    if roles:
        lines.append(t("plan.report.missing_roles", lang, count=len(roles), codes=_codes(roles, lang)))
    if report.protected:
        shown = []
        for item in report.protected:
            sheet, _, code = item.partition(":")
            shown.append(f"{_sheet_name(sheet, lang)} {code}" if sheet in SHEET_BY_KEY else item)
        lines.append(t("plan.report.protected", lang, count=len(shown), codes=_codes(shown, lang)))
    if report.missing and not report.prune:
        lines.append(t("plan.report.prune_hint", lang))
    if report.warnings:
        lines.append(t("plan.report.warnings", lang, count=len(report.warnings)))
        lines += [problem_text(w, lang) for w in report.warnings]
    return "\n".join(lines)
