"""/history <target code> [unit code]: the confirmed reports of an assignment, corrections and adjustments."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from telegram import Update

from config.i18n import Translator
from handlers.common import deps, reply, who
from handlers.context import Context
from services.core.errors import DomainError
from services.plan.values import format_value
from services.progress.history import Entry, History, history

SHOWN = 20  # at most the latest 20 entries
MAX_TEXT = 4000


def _adjusted(text: str | None, field: str | None, h: History, tr: Translator) -> str:
    if not text:
        return "—"
    return format_value(Decimal(text), h.measure, tr.lang) if field == "planned_value" else text


def _entry(e: Entry, h: History, tr: Translator, tz: ZoneInfo) -> str:
    when = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if e.kind == "adjustment":
        return tr("history.adjustment", when=when, who=e.who, field=tr(f"history.field.{e.field}"),
                  old=_adjusted(e.old, e.field, h, tr), new=_adjusted(e.new, e.field, h, tr),
                  reason=_short(e.reason), status=tr(f"history.status.{e.status}"))
    assert e.value is not None
    line = tr("history.report", when=when, who=e.who, number=e.number, value=format_value(e.value, h.measure, tr.lang),
              files=e.files)
    if e.kind == "correction":
        line += "\n" + tr("history.correction", number=e.supersedes or "—", reason=_short(e.reason))
    if e.note:
        line += "\n" + tr("history.note", note=_short(e.note))
    return line


def _short(text: str | None, limit: int = 200) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def show_history(update: Update, context: Context) -> None:
    """All confirmed reports of one assignment, oldest first (the latest 20)."""
    d = deps(context)
    _, tr = await who(update, context)
    args = context.args or []
    if not args:
        await reply(update, tr("history.usage"))
        return
    user = update.effective_user
    assert user is not None
    try:
        h = await history(user.id, args[0], args[1] if len(args) > 1 else None, uow=d.db.read_uow())
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    head = tr("history.title", title=h.title, code=h.target_code, unit=h.unit_name)
    if not h.entries:
        await reply(update, head + "\n" + tr("history.empty"))
        return
    entries = [_entry(e, h, tr, d.settings.tz) for e in h.entries[-SHOWN:]]
    while True:  # the latest entries that fit Telegram's 4,096 characters
        more = [tr("history.more", shown=len(entries), total=len(h.entries))] if len(entries) < len(h.entries) else []
        text = "\n\n".join([head, *more, *entries])
        if len(text) <= MAX_TEXT or len(entries) == 1:
            break
        entries = entries[1:]
    await reply(update, text)
