"""What results look like in a chat (HTML parse mode): a unit's summary (the public-notice push), its
whole breakdown (/score), a class's ranking table (/ranking). Pure text from the catalogue
(scoring.po), shared by the outbox pushes of services/assessment/rounds.py and the handlers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from config.i18n import Translator
from services.core.text import chunks
from services.plan.values import format_value
from services.scoring.formula import display
from services.scoring.results import AssignmentLine, ItemLine, UnitResult

# A class longer than this is shown (table and chart) as its top and bottom EDGE units with a gap between.
FULL_LIMIT = 40
EDGE = 20


def rows(units: list[UnitResult], limit: int = FULL_LIMIT, edge: int = EDGE) -> list[UnitResult | int]:
    """The units to show of a class in rank order; a long class keeps its top and bottom ``edge`` units
    (the bottom is what the ranking is for) with the count left out between them."""
    ordered = sorted(units, key=lambda u: (u.rank, u.unit_code))
    if len(ordered) <= limit:
        return list(ordered)
    return [*ordered[:edge], len(ordered) - 2 * edge, *ordered[-edge:]]


def _d(value: Decimal | None) -> str:
    return "—" if value is None else display(value)


def percent(ratio: Decimal | None) -> str:
    return "—" if ratio is None else display(ratio * 100) + "%"


def grade(u: UnitResult, tr: Translator) -> str:
    return tr(f"grade.{u.grade}")


def summary(u: UnitResult, tr: Translator) -> str:
    """Total, rank, grade and each component, in a few lines."""
    out = [tr("res.unit_head", name=u.unit_name, code=u.unit_code, unit_class=u.unit_class),
           tr("res.total_line", total=_d(u.total), rank=u.rank, size=u.class_size, grade=grade(u, tr)),
           tr("res.components", completion=_d(u.completion), peer=_d(u.peer), peer_count=u.peer_count,
              inspection=_d(u.inspection), inspection_count=u.inspection_count),
           tr("res.adjustments", bonus=_d(u.bonus), deduction=_d(u.deduction), correction=_d(u.correction))]
    out += _redistributed(u, tr)
    out += _categories(u, tr)
    if u.survey.answers:
        out.append(tr("res.survey", rate=percent(u.survey.rate), answers=u.survey.answers,
                      unsatisfied=u.survey.unsatisfied))
    else:
        out.append(tr("res.survey_none"))
    if u.survey.veto:
        out.append(tr("res.survey_veto"))
    out += [tr("res.veto_line", reason=v.reason) for v in u.vetoes]
    if u.bottom:
        out.append(tr("res.bottom"))
    if u.caps:
        sep = "、" if tr.lang == "zh" else "; "
        out.append(tr("res.capped", reasons=sep.join(tr(f"exp.cap.{c}") for c in u.caps)))
    return "\n".join(out)


def _categories(u: UnitResult, tr: Translator) -> list[str]:
    """Completion per category and the category weights as applied (issue #15), when the class has them."""
    if not u.categories:
        return []
    sep = "、" if tr.lang == "zh" else ", "
    parts = sep.join(tr("res.category", name=tr(f"cat.{k}"), completion=_d(c),
                        weight=u.category_weights.get(k, Decimal(0)).quantize(Decimal("0.0001")))
                     for k, c in u.categories.items())
    return [tr("res.categories", parts=parts)]


def _redistributed(u: UnitResult, tr: Translator) -> list[str]:
    """Why the total is not the rules' weighted sum: a component without scores, its weight shared out."""
    missing = [name for name, value in (("peer", u.peer), ("inspection", u.inspection)) if value is None]
    if not missing or not u.weights:
        return []
    sep = "、" if tr.lang == "zh" else ", "
    names = sep.join(tr(f"score.component.{m}") for m in missing)
    applied = sep.join(f"{tr(f'score.component.{k}')} {w.quantize(Decimal('0.0001'))}"
                       for k, w in u.weights.items() if w)
    return [tr("score.redistributed", component=names), tr("res.weights_applied", weights=applied)]


def _line(a: AssignmentLine, tr: Translator) -> str:
    def v(x: Decimal | None) -> str:
        return "—" if x is None else format_value(x, a.measure, tr.lang)

    notes = [tr(f"score.note.{a.note}")] if a.note else []
    if a.verified and a.claimed is not None:
        notes.append(tr("res.verified", claimed=v(a.claimed)))
    return tr("res.assignment", code=a.target_code, title=a.target_title, value=v(a.value), planned=v(a.planned),
              ratio=percent(a.ratio), points=_d(a.points), weight=_d(a.weight), mark="✅" if a.complete else "▫️",
              note=tr("res.notes", notes="；".join(notes) if tr.lang == "zh" else "; ".join(notes)) if notes else "")


def _item(i: ItemLine, tr: Translator) -> str:
    if i.points is None:
        return tr("res.item_plain", kind=tr(f"res.kind.{i.kind}"), reason=i.reason)
    return tr("res.item", kind=tr(f"res.kind.{i.kind}"), points=_d(i.points), reason=i.reason)


def detail(u: UnitResult, tr: Translator, *, status: str, live: bool) -> list[str]:
    """The whole breakdown of a unit for /score, in as many messages as it takes."""
    head = [tr("res.preview") if live else tr(f"res.status.{status}"), summary(u, tr), "", tr("res.lines_head")]
    body = [_line(a, tr) for a in u.lines] or [tr("res.no_lines")]
    items = [_item(i, tr) for i in [*u.items, *u.vetoes]]
    if items:
        body += ["", tr("res.items_head"), *items]
    if u.failed_targets:
        body += ["", tr("res.failed_targets", codes=", ".join(u.failed_targets))]
    return chunks(head + body)


def table(year: int, unit_class: str, units: list[UnitResult], tr: Translator, *, status: str,
          live: bool) -> list[str]:
    """A class's ranking: rank, name, total, grade, flags; a long class shows its top and bottom."""
    lines = [tr("res.table_head", year=year, unit_class=unit_class, count=len(units)),
             tr("res.preview") if live else tr(f"res.status.{status}")]
    for row in rows(units):
        if isinstance(row, int):
            lines.append(tr("res.table_gap", count=row))
            continue
        flags = ("🔻" if row.bottom else "") + ("⛔" if row.vetoed else "")
        lines.append(tr("res.table_row", rank=row.rank, name=row.unit_name, code=row.unit_code,
                        total=_d(row.total), grade=grade(row, tr), flags=flags))
    lines.append(tr("res.table_legend"))
    return chunks(lines)


def publish_push(u: UnitResult, tr: Translator, year: int, until: datetime) -> str:
    """The public-notice message to a unit's cadres."""
    return "\n".join([tr("res.published_head", year=year), summary(u, tr),
                      tr("res.published_tail", until=until.strftime("%Y-%m-%d %H:%M"))])
