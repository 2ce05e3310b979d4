"""What the lifecycle tells people on its own initiative, through the outbox (services/core/outbox.py), each in
their own language (HTML, with the buttons they act with), queued in the transaction of the step that decided
it and never twice (a dedup key per step)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t, th
from models.items import ItemPart, SupervisionItem
from models.people import Person
from models.plan import Unit
from services.core import outbox
from services.core.clock import Clock
from services.items import scope

TASK_SHOWN = 600  # characters of the task in a push (the card shows it whole)


def short(text: str, width: int = TASK_SHOWN) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def keyboard(lang: str | None, *rows: list[tuple[str, str]]) -> dict[str, Any]:
    """An inline keyboard of (catalogue key, callback data) rows, labels in ``lang``."""
    return {"inline_keyboard": [[{"text": t(key, lang), "callback_data": data} for key, data in row]
                                for row in rows if row]}


def when(moment: datetime | None, clock: Clock) -> str:
    return moment.astimezone(clock.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


async def _send(s: AsyncSession, clock: Clock, person: Person, kind: str, dedup: str, text: str,
                markup: dict[str, Any] | None = None) -> bool:
    row = await outbox.enqueue_to_person(s, clock, person, text=text, kind=kind, dedup_key=dedup,
                                         reply_markup=markup, parse_mode="HTML")
    return row is not None


async def assigned(s: AsyncSession, clock: Clock, item: SupervisionItem, part: ItemPart, unit: Unit,
                   opener: Person) -> int:
    """交办: each cadre of the unit is told, with Sign and the item's card; returns how many were told."""
    told = 0
    for cadre in await scope.cadres(s, unit.id or 0):
        lang = cadre.language
        text = th("items.told_assigned", lang, number=item.id, task=short(item.task), unit=unit.name,
                  deadline=item.deadline.isoformat(), opener=opener.name, sign_by=when(part.sign_due_at, clock))
        if item.flagged:
            text += "\n" + th("items.flagged_line", lang)
        markup = keyboard(lang, [("items.btn_sign", f"it:sign:{part.id}"), ("items.btn_view", f"it:view:{item.id}")])
        told += await _send(s, clock, cadre, "item.assigned", f"it:{part.id}:assigned", text, markup)
    return told


def reported_message(item: SupervisionItem, part: ItemPart, unit: Unit, note: str, files: int, by: str,
                     lang: str | None) -> tuple[str, dict[str, Any]]:
    """A completion report as its verifier reads it, with Approve / Has issues / Reject and the files."""
    text = th("items.told_reported", lang, number=item.id, task=short(item.task, 200), unit=unit.name, name=by,
              note=short(note), count=files, deadline=item.deadline.isoformat())
    if part.returns:
        text += "\n" + th("items.reported_again", lang, times=part.returns, reason=short(part.decision_note or "", 200))
    n = f"{part.id}:{part.reports}"  # a decision is about this report: a later one needs its own buttons
    return text, keyboard(lang, [("items.btn_approve", f"it:ok:{n}"), ("items.btn_issues", f"it:iss:{n}"),
                                 ("items.btn_reject", f"it:rej:{n}")],
                          [("items.btn_files", f"it:files:{part.id}"), ("items.btn_view", f"it:view:{item.id}")])


async def verifiers(s: AsyncSession, item: SupervisionItem) -> list[Person]:
    """Who decides a report: the opener, or (an opener no longer active or never joined) the office."""
    opener = await s.get(Person, item.opened_by_person_id)
    if opener is not None and opener.active and opener.telegram_user_id and opener.unreachable_at is None:
        return [opener]
    return await scope.admins(s)


async def reported(s: AsyncSession, clock: Clock, item: SupervisionItem, part: ItemPart, unit: Unit, note: str,
                   files: int, by: Person) -> None:
    for person in await verifiers(s, item):
        text, markup = reported_message(item, part, unit, note, files, by.name, person.language)
        await _send(s, clock, person, "item.reported", f"it:{part.id}:report:{part.reports}", text, markup)


async def decided(s: AsyncSession, clock: Clock, item: SupervisionItem, part: ItemPart, verdict: str,
                  by: Person, comment: str | None) -> None:
    """The unit's cadres hear the verifier's decision (has issues: with Progress and Report done again)."""
    for cadre in await scope.cadres(s, part.unit_id):
        lang = cadre.language
        text = th(f"items.told_{verdict}", lang, number=item.id, task=short(item.task, 200), name=by.name,
                  reason=short(comment or ""), deadline=item.deadline.isoformat())
        markup = keyboard(lang, [("items.btn_progress", f"it:prog:{part.id}"), ("items.btn_done", f"it:done:{part.id}")]
                          if verdict == "issues" else [], [("items.btn_view", f"it:view:{item.id}")])
        await _send(s, clock, cadre, "item.decided", f"it:{part.id}:{verdict}:{part.reports}", text, markup)


async def closed(s: AsyncSession, clock: Clock, item: SupervisionItem, by: Person) -> None:
    """The opener hears that every part is closed, unless they closed the last one themselves."""
    opener = await s.get(Person, item.opened_by_person_id)
    if opener is None or opener.id == by.id:
        return
    text = th("items.told_closed", opener.language, number=item.id, task=short(item.task, 200), name=by.name)
    await _send(s, clock, opener, "item.closed", f"it:{item.id}:closed", text,
                keyboard(opener.language, [("items.btn_view", f"it:view:{item.id}")]))
