"""/items (督办) and /rectify, an item's card and the buttons that act on a part at once — transport only; the
rules are in services/items/items.py and services/items/lifecycle.py.

/items [light] [unit] [opener]: the reader's open items, worst light first (``it:pg:<page>:<filter>`` turns the
page, read again from the database); /rectify: the items opened from inspections (整改). ``it:view:<item>``: the
card. ``it:sign:<part>`` (签收), ``it:ok:<part>:<report>`` (核查: approve, 销号), ``it:files:<part>`` (the latest
report's files), ``it:att:<item>`` (the item's own files). The buttons of rectifications that came before
(``rect:review:<n>``, ``rect:ok:<n>[:<closing>]``) do what they did, on the item that rectification became.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.constants import ParseMode

from config.i18n import Translator
from handlers.common import button_data, buttons, deps, drop_buttons, reply, who
from handlers.context import Context
from handlers.items_text import card, listing
from services.core.errors import DomainError, DuplicateUpdate
from services.items import items, lifecycle

MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto takes up to 10 MB; larger images go as documents


def _parts(update: Update) -> list[str]:
    return button_data(update).split(":")


async def _refuse(update: Update, tr: Translator, exc: DomainError) -> None:
    """A refusal: an alert on the button pressed, or a reply to a command."""
    if update.callback_query is not None:
        await update.callback_query.answer(Translator(tr.lang, html=False)(exc.key, **exc.params), show_alert=True)
    else:
        await reply(update, tr(exc.key, **exc.params))


async def _list(update: Update, context: Context, *, inspections: bool) -> None:
    d, user = deps(context), update.effective_user
    _, tr = await who(update, context)
    assert user is not None
    try:
        page = await items.listing(list(context.args or []), 0, None, user_id=user.id, uow=d.db.read_uow(),
                                   clock=d.clock, inspections=inspections)
    except DomainError as exc:
        await _refuse(update, tr, exc)
        return
    text, markup = listing(page, d.clock.now().date(), tr, d.clock.tz)
    await reply(update, text, reply_markup=markup)


async def items_command(update: Update, context: Context) -> None:
    """/items [light] [unit] [opener]"""
    await _list(update, context, inspections=False)


async def rectify_command(update: Update, context: Context) -> None:
    """/rectify: the reader's items opened from inspections (整改)."""
    await _list(update, context, inspections=True)


async def turn_page(update: Update, context: Context) -> None:
    """``it:pg:<page>:<filter>``: the page as the database has it now, in place of the one shown."""
    d, user, query = deps(context), update.effective_user, update.callback_query
    _, tr = await who(update, context)
    assert user is not None and query is not None
    _, _, number, key = _parts(update)
    try:
        page = await items.listing(None, int(number), key, user_id=user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await _refuse(update, tr, exc)
        return
    text, markup = listing(page, d.clock.now().date(), tr, d.clock.tz)
    await query.answer()
    await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _card(update: Update, context: Context, item_id: int) -> None:
    d, user = deps(context), update.effective_user
    _, tr = await who(update, context)
    assert user is not None
    try:
        c = await items.card(item_id, user_id=user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await _refuse(update, tr, exc)
        return
    text, markup = card(c, d.clock.now().date(), tr, d.clock.tz)
    await reply(update, text, reply_markup=markup)


async def view(update: Update, context: Context) -> None:
    """``it:view:<item>``: the item's card."""
    await _card(update, context, int(_parts(update)[2]))


async def _send_files(update: Update, context: Context, item_id: int | None, part_id: int | None) -> bool:
    d, user, message = deps(context), update.effective_user, update.effective_message
    _, tr = await who(update, context)
    assert user is not None and message is not None
    try:
        found = await items.files(item_id, part_id, user_id=user.id, uow=d.db.read_uow(), clock=d.clock)
    except DomainError as exc:
        await _refuse(update, tr, exc)
        return False
    if not found:
        await reply(update, tr("items.no_files"))
        return True
    if update.callback_query is not None:
        await update.callback_query.answer()  # the files take a moment
    for key, mime in found:
        data = await asyncio.to_thread(d.storage.get, key)
        if mime.startswith("image/") and len(data) <= MAX_PHOTO_BYTES:
            await message.reply_photo(data)
        else:
            await message.reply_document(data, filename=f"{key.rsplit('/', 1)[-1][:12]}.{mime.rsplit('/', 1)[-1]}")
    return True


async def part_files(update: Update, context: Context) -> None:
    """``it:files:<part>``: the files of the part's latest completion report (or of its notes)."""
    await _send_files(update, context, None, int(_parts(update)[2]))


async def item_files(update: Update, context: Context) -> None:
    """``it:att:<item>``: the files attached to the item itself (a leader's instruction)."""
    await _send_files(update, context, int(_parts(update)[2]), None)


async def old_review(update: Update, context: Context) -> None:
    """``rect:review:<n>`` (a rectification's button): its latest closing's files, then its card."""
    number = int(_parts(update)[2])
    if await _send_files(update, context, None, number):
        await _card(update, context, number)


async def sign(update: Update, context: Context) -> None:
    """``it:sign:<part>``: 签收 by a cadre of the unit; the Sign button goes, the next steps' buttons come."""
    d, user, query = deps(context), update.effective_user, update.callback_query
    _, tr = await who(update, context)
    assert user is not None and query is not None
    plain = Translator(tr.lang, html=False)
    try:
        item, part_id, already = await lifecycle.sign(int(_parts(update)[2]), user_id=user.id,
                                                      update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:
        await _refuse(update, tr, exc)
        return
    await drop_buttons(update)
    part = item.part(part_id)
    key = "items.signed_already" if already else "items.signed_done"
    markup = buttons([(plain("items.btn_progress"), f"it:prog:{part_id}"),
                      (plain("items.btn_done"), f"it:done:{part_id}")],
                     [(plain("items.btn_view"), f"it:view:{item.id}")]) if part.state == "signed" else None
    await reply(update, tr(key, number=item.id, unit=part.unit_name, name=part.signer or "?",
                           deadline=item.deadline.isoformat()), reply_markup=markup)


async def approve(update: Update, context: Context) -> None:
    """``it:ok:<part>:<report>`` (or ``rect:ok:<n>[:<closing>]``): the verifier approves; the part is closed (销号)."""
    d, user, query = deps(context), update.effective_user, update.callback_query
    _, tr = await who(update, context)
    assert user is not None and query is not None
    parts = _parts(update)
    try:
        item, already = await lifecycle.approve(int(parts[2]), int(parts[3]) if len(parts) > 3 else None,
                                                user_id=user.id, update_id=update.update_id, uow=d.db.uow(),
                                                clock=d.clock)
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as exc:  # not the verifier, or no such part: nothing changes
        await _refuse(update, tr, exc)
        return
    await drop_buttons(update)
    if already:
        await query.answer(Translator(tr.lang, html=False)("items.already_decided", number=item.id), show_alert=True)
        return
    part = item.part(int(parts[2]))
    text = tr("items.approved_done", number=item.id, unit=part.unit_name)
    if item.state == "closed":
        text += "\n" + tr("items.item_closed", number=item.id)
    await reply(update, text, reply_markup=buttons([(Translator(tr.lang, html=False)("items.btn_view"),
                                                     f"it:view:{item.id}")]))
