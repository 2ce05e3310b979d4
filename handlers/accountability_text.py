"""How the accountability lines read in chat (/accountability) and the reply to /outcome."""

from __future__ import annotations

from config.i18n import Translator
from services.assessment.accountability import KINDS, Accountability, Line
from services.core.text import chunks


def reasons(line: Line, tr: Translator) -> str:
    sep = "；" if tr.lang == "zh" else "; "
    return sep.join(tr(r.key, **r.params) for r in line.reasons)


def outcome(line: Line, tr: Translator) -> str:
    o = line.outcome
    if o is None:
        return tr("acc.outcome_none")
    return tr("acc.outcome", status=tr(f"acc.status.{o.status}"), note=o.note or "—", who=o.recorded_by)


def line_text(line: Line, tr: Translator) -> str:
    people = tr("acc.people", names="、".join(line.people)) if line.people else ""
    return tr("acc.line", number=line.number, who=line.who, code=line.code, reasons=reasons(line, tr),
              people=people, outcome=outcome(line, tr))


def listing(acc: Accountability, tr: Translator) -> list[str]:
    status = tr("res.preview") if acc.live else tr(f"res.status.{acc.status}")
    out = [tr("acc.head", year=acc.year), status]
    if not acc.lines:
        out.append(tr("acc.empty"))
        return chunks(out)
    for kind in KINDS:
        mine = [line for line in acc.lines if line.kind == kind]
        if mine:
            out += ["", tr(f"acc.kind.{kind}")] + [line_text(line, tr) for line in mine]
    out += ["", tr("acc.hint")]
    return chunks(out)


def recorded(line: Line, tr: Translator) -> str:
    return tr("acc.recorded", number=line.number, who=line.who, code=line.code, outcome=outcome(line, tr))
