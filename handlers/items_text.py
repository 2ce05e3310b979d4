"""What /items, /rectify and an item's card show: lights, where each unit's part stands, and the buttons the
reader may press (items.*)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from config.i18n import Translator
from handlers.common import buttons
from services.core.text import MAX_MESSAGE, utf16_len
from services.items.items import Card, Page
from services.items.lights import ICON, Light
from services.items.records import ItemView, NoteView, PartView

BUTTON_TEXT = 28
LINE_TEXT = 60
CARD_TASK = 1000
NOTE_TEXT = 120


def short(text: str, width: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def at(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def when(deadline: date, today: date, tr: Translator) -> str:
    """The deadline and how it stands: overdue by n days, due today, or n days left."""
    days = (deadline - today).days
    if days < 0:
        return tr("items.deadline_overdue", date=deadline.isoformat(), days=-days)
    if days == 0:
        return tr("items.deadline_today", date=deadline.isoformat())
    return tr("items.deadline_left", date=deadline.isoformat(), days=days)


def part_state(p: PartView, item: ItemView, tr: Translator, tz: ZoneInfo) -> str:
    """Where one unit's part stands, in words."""
    if p.state == "assigned":
        return tr("items.part_unsigned_late" if p.sign_late else "items.part_assigned", by=at(p.sign_due_at, tz))
    if p.state == "signed":
        text = tr("items.part_signed", name=p.signer or "?", at=at(p.signed_at, tz))
        return text + (tr("items.part_returned", times=p.returns, reason=short(p.decision_note or "", LINE_TEXT))
                       if p.returns else "")
    if p.state == "reported":
        return tr("items.part_reported", name=item.opener, at=at(p.reported_at, tz))
    if p.state == "closed":
        return tr("items.part_closed", name=p.decider or "?", at=at(p.closed_at, tz))
    return tr("items.part_rejected", name=p.decider or "?", reason=short(p.decision_note or "", LINE_TEXT))


def item_line(item: ItemView, today: date, tr: Translator, tz: ZoneInfo) -> str:
    """One item in a list: light, number, task, units, deadline; the part's state when there is one."""
    units = item.units if len(item.parts) <= 3 else tr("items.unit_count", count=len(item.parts))
    text = tr("items.line", icon=ICON[item.light], number=item.id, task=short(item.task, LINE_TEXT), units=units,
              deadline=when(item.deadline, today, tr))
    if item.flagged:
        text += " ⚑"
    if len(item.parts) == 1:
        text += "\n    " + part_state(item.parts[0], item, tr, tz)
    else:
        counts: dict[Light, int] = {}
        for p in item.parts:
            counts[p.light] = counts.get(p.light, 0) + 1
        text += "\n    " + " ".join(f"{ICON[k]}{counts[k]}" for k in Light if k in counts)
    return text


def _counts(page: Page) -> str:
    return " ".join(f"{ICON[k]} {page.counts[k]}" for k in Light if page.counts.get(k))


def listing(page: Page, today: date, tr: Translator, tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of the list: a head with the counts by light, the items, a button per item, paging buttons."""
    rect = page.filter.inspections
    if page.total == 0:
        return tr("items.rectify_empty" if rect else "items.list_empty"), None
    head = tr("items.rectify_title" if rect else f"items.list_title.{page.role}", count=page.total,
              counts=_counts(page))
    if page.filter.labels:
        head += "\n" + tr("items.filtered", words=" ".join(page.filter.labels))
    lines = [head, *(item_line(i, today, tr, tz) for i in page.items)]
    if page.pages > 1:
        lines.append(tr("items.page", page=page.page + 1, pages=page.pages))
    plain = Translator(tr.lang, html=False)
    rows = [[(f"{ICON[i.light]} #{i.id} {short(i.task, BUTTON_TEXT)}", f"it:view:{i.id}")] for i in page.items]
    key = page.filter.key()
    nav = [(plain("items.btn_prev"), f"it:pg:{page.page - 1}:{key}")] if page.page > 0 else []
    nav += [(plain("items.btn_next"), f"it:pg:{page.page + 1}:{key}")] if page.page + 1 < page.pages else []
    return "\n\n".join(lines), buttons(*rows, nav)


def _origin(item: ItemView, tr: Translator) -> str:
    number = item.inspection_id or item.alert_id or item.notice_id
    return tr(f"items.source_line.{item.source}", number=number or "")


def _note(n: NoteView, tr: Translator, tz: ZoneInfo) -> str:
    return tr("items.note_line", kind=tr(f"items.note.{n.kind}"), name=n.author, at=at(n.created_at, tz),
              text=short(n.text, NOTE_TEXT) or "—", files=n.files)


def _buttons(c: Card, tr: Translator) -> InlineKeyboardMarkup | None:
    plain = Translator(tr.lang, html=False)
    rows: list[list[tuple[str, str]]] = []
    for p in c.parts:
        unit = short(p.unit_name, 10)
        acts = c.actions.get(p.id, [])
        if "sign" in acts:
            rows.append([(plain("items.btn_sign_unit", unit=unit), f"it:sign:{p.id}")])
        if "progress" in acts:
            rows.append([(plain("items.btn_progress_unit", unit=unit), f"it:prog:{p.id}"),
                         (plain("items.btn_done_unit", unit=unit), f"it:done:{p.id}")])
        if "verify" in acts:
            n = f"{p.id}:{p.reports}"
            rows.append([(plain("items.btn_approve_unit", unit=unit), f"it:ok:{n}"),
                         (plain("items.btn_issues"), f"it:iss:{n}"), (plain("items.btn_reject"), f"it:rej:{n}")])
        if p.reports or "verify" in acts:
            rows.append([(plain("items.btn_files_unit", unit=unit), f"it:files:{p.id}")])
    if c.item.files:
        rows.append([(plain("items.btn_attachments", count=c.item.files), f"it:att:{c.item.id}")])
    return buttons(*rows) if rows else None


def _parts(c: Card, tr: Translator, tz: ZoneInfo, *, notes: bool) -> list[str]:
    lines = []
    for p in c.parts:
        lines.append(tr("items.card_part", icon=ICON[p.light], unit=p.unit_name,
                        state=part_state(p, c.item, tr, tz)))
        if notes:
            lines += ["    " + _note(n, tr, tz) for n in c.notes.get(p.id, [])[-1:]]
    if c.hidden:
        lines.append(tr("items.card_hidden", count=c.hidden))
    return lines


def card(c: Card, today: date, tr: Translator, tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    """An item: its light, task, origin, opener and deadline, then each shown part with its latest note."""
    item = c.item
    lines = [tr("items.card_head", icon=ICON[item.light], number=item.id) + (" " + tr("items.flagged_mark")
                                                                              if item.flagged else ""),
             tr("items.card_task", task=short(item.task, CARD_TASK)), _origin(item, tr),
             tr("items.card_opened", name=item.opener, at=at(item.created_at, tz),
                deadline=when(item.deadline, today, tr))]
    if item.state == "closed":
        lines.append(tr("items.card_closed"))
    if item.files:
        lines.append(tr("items.card_files", count=item.files))
    lines.append("")
    text = "\n".join(lines + _parts(c, tr, tz, notes=True))
    if utf16_len(text) > MAX_MESSAGE:  # long notes: the parts without them (the notes stay a press away)
        text = "\n".join(lines + _parts(c, tr, tz, notes=False))
    return text, _buttons(c, tr)
