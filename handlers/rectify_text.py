"""What the 整改 dialogues and lists show: text and buttons from the catalogue (rect.*)."""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.core.text import MAX_MESSAGE
from services.inspection.rectify import Item, Snapshot, Step

MAX_BUTTON = 40  # characters of a description shown on a button
LISTED_TEXT = 80  # characters of a description or reason shown in a list



def _short(text: str, width: int = MAX_BUTTON) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def when(deadline: date, today: date, tr: Translator) -> str:
    """The deadline, and how it stands: overdue by n days, due today, or n days left."""
    days = (deadline - today).days
    if days < 0:
        return tr("rect.deadline_overdue", date=deadline.isoformat(), days=-days)
    if days == 0:
        return tr("rect.deadline_today", date=deadline.isoformat())
    return tr("rect.deadline_left", date=deadline.isoformat(), days=days)


def item_line(item: Item, today: date, tr: Translator, width: int | None = None) -> str:
    """One item in a list (texts cut to ``width``) or above a prompt: number, problem, unit, deadline, status."""
    r = item.row

    def cut(text: str) -> str:
        return _short(text, width) if width else text

    text = tr("rect.item_line", number=r.id, description=cut(r.description), unit=item.unit_name,
              deadline=when(r.deadline, today, tr) if r.status == "open" else r.deadline.isoformat())
    if r.status == "submitted":
        text += "\n" + tr("rect.status_submitted", name=item.opener_name)
    elif r.status == "accepted":
        text += "\n" + tr("rect.status_accepted", name=item.opener_name)
    elif r.rejections:
        text += "\n" + tr("rect.status_rejected", times=r.rejections, reason=cut(r.decision_note or ""))
    return text


def listing(owned: list[Item], to_review: list[Item], today: date,
            tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """/rectify: the person's own items (Close on the open ones), then the closings waiting for them."""
    if not owned and not to_review:
        return tr("rect.list_empty"), None
    parts, rows, plain = [], [], Translator(tr.lang, html=False)  # button labels are not HTML
    if owned:
        parts.append(tr("rect.list_owned", count=len(owned)))
        parts += [item_line(i, today, tr, LISTED_TEXT) for i in owned]
        rows += [[(plain("rect.btn_close", number=i.row.id, text=_short(i.row.description)),
                   f"rect:close:{i.row.id}")] for i in owned if i.row.status == "open"]
    if to_review:
        parts.append(tr("rect.list_review", count=len(to_review)))
        parts += [tr("rect.review_line", number=i.row.id, description=_short(i.row.description, LISTED_TEXT),
                     unit=i.unit_name, name=i.owner_name) for i in to_review]
        rows += [[(plain("rect.btn_review", number=i.row.id, text=_short(i.row.description)),
                   f"rect:review:{i.row.id}")] for i in to_review]
    shown, size = [], 0
    for part in parts:  # what fits in one message; the buttons still lead to every item
        if size + len(part) > MAX_MESSAGE:
            shown.append(tr("rect.list_more"))
            break
        shown.append(part)
        size += len(part) + 2
    return "\n\n".join(shown), buttons(*rows) if rows else None


def _open_summary(s: Snapshot, tr: Translator) -> str:
    d = s.draft
    return tr("rect.open_summary", number=d["inspection_id"], unit=d["unit"], description=d.get("description", ""),
              owner=d.get("owner", ""), deadline=d.get("deadline", ""))


def prompt(s: Snapshot, tr: Translator, today: date) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message that asks for the input of the dialogue's current step (or tells how it ended)."""
    d, cancel = s.draft, (tr("rect.btn_cancel"), "rect:x")
    head = item_line(s.item, today, tr) + "\n\n" if s.item is not None else ""
    if s.step == Step.OPEN_DESCRIPTION:
        text = tr("rect.open_title", number=d["inspection_id"], unit=d["unit"])
        if d.get("findings"):
            text += "\n" + tr("rect.findings", findings=d["findings"])
        return text + "\n" + tr("rect.ask_description"), None
    if s.step == Step.OPEN_OWNER:
        rows = [[(name, f"rect:o:{pid}")] for pid, name in d["candidates"]]
        return tr("rect.ask_owner", unit=d["unit"]), buttons(*rows, [cancel])
    if s.step == Step.OPEN_DEADLINE:
        return tr("rect.ask_deadline", owner=d["owner"], today=today.isoformat()), None
    if s.step == Step.OPEN_CONFIRM:
        return _open_summary(s, tr), buttons([(tr("rect.btn_confirm"), f"rect:y:{s.serial}"), cancel])
    if s.step == Step.CLOSE_NOTE:
        return head + tr("rect.ask_note"), None
    if s.step == Step.CLOSE_PHOTOS:
        return tr("rect.ask_photos", count=len(d.get("photos") or [])), buttons([(tr("rect.btn_done"), "rect:done")])
    if s.step == Step.CLOSE_CONFIRM:
        return (head + tr("rect.close_summary", note=d.get("note", ""), count=len(d.get("photos") or [])),
                buttons([(tr("rect.btn_submit"), f"rect:y:{s.serial}"), cancel]))
    if s.step == Step.REJECT_REASON:
        assert s.item is not None
        return head + tr("rect.ask_reason", name=s.item.owner_name), None
    return ended(s, tr), None


def ended(s: Snapshot, tr: Translator) -> str:
    """How a finished dialogue ended (also the answer to a second Confirm)."""
    if s.notice:
        return tr(s.notice, number=s.item.row.id if s.item else "?")
    assert s.item is not None
    r = s.item.row
    if s.kind == "open":
        return tr("rect.opened_done", number=r.id, name=s.item.owner_name, deadline=r.deadline.isoformat())
    if s.kind == "close":
        return tr("rect.submitted_done", number=r.id, name=s.item.opener_name)
    return tr("rect.rejected_done", number=r.id, name=s.item.owner_name)
