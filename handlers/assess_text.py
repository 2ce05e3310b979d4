"""What /assess shows: the list of units to score and each step of the scoring dialogue (peer.* keys)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.assessment.assess import KINDS, Snapshot, Step, Task, Tasks, score_text

MAX_BUTTONS = 60  # units listed as buttons in one message (Telegram allows 100)
NAME_WIDTH = 24
FINDINGS_WIDTH = 60



def _short(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _plain(tr: Translator) -> Translator:
    return Translator(tr.lang, html=False)


def _button(task: Task, both: bool, tr: Translator) -> str:
    plain = _plain(tr)
    name = _short(task.unit_name, NAME_WIDTH)
    kind = plain(f"peer.kind_short.{task.kind}") + " · " if both else ""
    if task.score is None:
        return plain("peer.btn_pending", kind=kind, unit=name)
    return plain("peer.btn_done", kind=kind, unit=name, score=score_text(task.score))


def listing(tasks: Tasks, tr: Translator) -> tuple[str, InlineKeyboardMarkup]:
    """The scorer's units of the round: counts per kind, then a button per unit (still to score first)."""
    lines = [tr("peer.list_title", year=tasks.year, cutoff=tasks.cutoff.isoformat())]
    for kind in KINDS:
        done, total = tasks.counts(kind)
        if total:
            lines.append(tr(f"peer.list_count.{kind}", done=done, total=total))
    pending = sum(t.score is None for t in tasks.tasks)
    lines.append(tr("peer.list_hint") if pending else tr("peer.list_all_done"))
    both = len({t.kind for t in tasks.tasks}) > 1
    shown = tasks.tasks[:MAX_BUTTONS]
    if len(tasks.tasks) > len(shown):
        lines.append(tr("peer.list_more", shown=len(shown), total=len(tasks.tasks)))
    return "\n".join(lines), buttons(*[[(_button(t, both, tr), f"as:u:{t.id}")] for t in shown])


def _head(s: Snapshot, tr: Translator) -> str:
    t = s.task
    return tr("peer.unit_head", kind=_plain(tr)(f"peer.kind.{t.kind}"), unit=t.unit_name, code=t.unit_code,
              year=t.year)


def _visits(s: Snapshot, tr: Translator) -> str:
    if not s.visits:
        return tr("peer.no_visits")
    plain = _plain(tr)
    lines = [tr("peer.visits_title", count=s.visit_total)]
    for v in s.visits:
        lines.append(tr("peer.visit_line", date=v.day.isoformat(), rating=plain(f"inspect.rating.{v.rating}"),
                        findings=_short(v.findings, FINDINGS_WIDTH) or "—"))
    if s.visit_total > len(s.visits):
        lines.append(tr("peer.visits_more", count=s.visit_total - len(s.visits)))
    return "\n".join(lines)


def prompt(s: Snapshot, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the current step's input (or tells how the dialogue ended)."""
    cancel = (tr("peer.btn_cancel"), "as:x")
    d, head = s.draft, _head(s, tr)
    if s.step == Step.SCORE:
        parts = [head]
        if s.task.kind == "inspection":
            parts.append(_visits(s, tr))
        if s.task.score is not None:
            parts.append(tr("peer.current_score", score=score_text(s.task.score)))
        parts.append(tr("peer.ask_score"))
        return "\n\n".join(parts), buttons([cancel])
    if s.step == Step.COMMENT:
        return (head + "\n\n" + tr("peer.ask_comment", score=score_text(d["score"])),
                buttons([(tr("peer.btn_skip"), "as:skip"), cancel]))
    if s.step == Step.CONFIRM:
        text = tr("peer.summary", unit=s.task.unit_name, code=s.task.unit_code,
                  kind=_plain(tr)(f"peer.kind.{s.task.kind}"), score=score_text(d["score"]),
                  comment=d.get("comment") or _plain(tr)("peer.no_comment"))
        return text, buttons([(tr("peer.btn_confirm"), f"as:y:{s.serial}"), (tr("peer.btn_edit"), "as:e")],
                             [cancel])
    return ended(s, tr), buttons([(tr("peer.btn_list"), "as:list")])


def ended(s: Snapshot, tr: Translator) -> str:
    key = s.notice or ("peer.changed" if s.changed else "peer.saved")
    text = tr(key, unit=s.task.unit_name, score=score_text(s.task.score))
    return text + "\n" + (tr("peer.pending_left", count=s.pending) if s.pending else tr("peer.all_done"))
