"""What a person does on the dashboard, through the same services the chat uses: their open alerts
(services/alerts/actions.py: ``list_alerts``, ``acknowledge``) and their open supervision items
(services/items/items.py ``listing``; Verify is services/items/lifecycle.py ``approve``, for the item's
opener or an admin). A person who never joined in Telegram has no alerts and no items to act on."""

from __future__ import annotations

from typing import Any

from models.db import UnitOfWork
from models.people import Person
from services.alerts import actions as alert_actions
from services.assessment import results as assessment_results
from services.core.clock import Clock
from services.core.errors import DomainError
from services.dashboard.scope import Forbidden
from services.items import items as item_lists
from services.items import lifecycle

ITEM_PAGES = 10  # pages of the chat's list read at most


def _joined(person: Person) -> int:
    if person.telegram_user_id is None:
        raise DomainError("dash.not_joined")
    return person.telegram_user_id


async def alerts(person: Person, *, uow: UnitOfWork, clock: Clock) -> list[dict[str, Any]]:
    """The person's alerts not yet resolved, newest first."""
    if person.telegram_user_id is None:
        return []
    listed = await alert_actions.list_alerts(person.telegram_user_id, uow=uow, clock=clock)
    return [{"id": x.alert.id, "kind": x.alert.kind, "level": x.alert.level, "state": x.alert.state,
             "title": x.title, "unit": x.unit, "assignment": x.alert.assignment_id,
             "created_at": x.alert.created_at.astimezone(clock.tz).isoformat(),
             "acknowledged_at": x.alert.acknowledged_at.astimezone(clock.tz).isoformat()
             if x.alert.acknowledged_at else None}
            for x in listed if x.alert.state != "resolved"]


async def acknowledge(person: Person, alert_id: int, *, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    try:
        done = await alert_actions.acknowledge(alert_id, _joined(person), update_id=None, uow=uow, clock=clock)
    except DomainError as exc:
        if exc.key == "alert.unknown":
            raise Forbidden from None
        raise
    return {"id": done.alert_id, "by": done.by, "at": done.at.astimezone(clock.tz).isoformat(),
            "already": done.already}


async def items(person: Person, *, uow: UnitOfWork, clock: Clock) -> list[dict[str, Any]]:
    """The person's open supervision items as the chat's /items lists them, with the parts they may verify."""
    if person.telegram_user_id is None:
        return []
    out: list[dict[str, Any]] = []
    page, pages = 0, 1
    while page < min(pages, ITEM_PAGES):
        listed = await item_lists.listing(None, page, None, user_id=person.telegram_user_id, uow=uow, clock=clock)
        verifier = listed.role == "admin"
        for item in listed.items:
            may_verify = verifier or item.opener_id == person.id
            out.append({"id": item.id, "task": item.task, "deadline": item.deadline.isoformat(),
                        "light": item.light.value, "flagged": item.flagged, "opener": item.opener,
                        "parts": [{"id": p.id, "unit": p.unit_name, "state": p.state, "light": p.light.value,
                                   "verify": may_verify and p.state == "reported"} for p in item.parts]})
        page, pages = page + 1, listed.pages
    return out


async def verify(person: Person, part_id: int, *, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """Approve a reported part (核查 → 销号), as the chat's Approve button does."""
    view, already = await lifecycle.approve(part_id, None, user_id=_joined(person), update_id=None, uow=uow,
                                            clock=clock)
    return {"item": view.id, "state": view.state, "already": already}


async def ranking(person: Person, *, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """The ranking as /ranking shows it (services/assessment/results.py): admins the live round too, leaders
    the published one. A refusal (no round yet, not published, not for this role) is an answer too:
    ``{"refused": key, "params": …}`` (the page says it; nothing failed)."""
    try:
        view = await assessment_results.ranking(_joined(person), None, uow=uow, clock=clock)
    except DomainError as exc:
        return {"refused": exc.key, "params": {k: str(v) for k, v in exc.params.items()}}
    return {"year": view.year, "status": view.status, "live": view.live,
            "classes": [{"class": name, "units": [
                {"rank": u.rank, "code": u.unit_code, "name": u.unit_name, "total": format(round(u.total, 2), "f"),
                 "grade": u.grade, "vetoed": u.vetoed, "bottom": u.bottom} for u in units]}
                for name, units in view.classes.items()]}
