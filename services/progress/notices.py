"""Warning notices (预警通知单) as the progress views show them beside an assignment (/mytargets, /portfolio): the
latest notice of each assignment, open (answer by a day) or answered (by whom, the reason and the next steps).
The notices themselves are raised, climbed and answered in services/alerts (warning_notices.py, warning.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import Translator
from models.alerts import Alert, WarningNotice
from models.people import Person

SHOWN = 60  # characters of a reason or next steps in a list


@dataclass(frozen=True)
class NoticeLine:
    alert_id: int
    answer_by: date
    answered_by: str | None  # None: not answered yet
    reason: str
    next_steps: str
    open: bool  # still standing (the pace has not recovered)


async def latest(s: AsyncSession, assignment_ids: list[int]) -> dict[int, NoticeLine]:
    """Assignment id -> its latest warning notice, for those that have one."""
    if not assignment_ids:
        return {}
    newest = select(func.max(WarningNotice.id)).where(col(WarningNotice.assignment_id).in_(assignment_ids)) \
        .group_by(col(WarningNotice.assignment_id))
    rows = (await s.exec(select(WarningNotice, Alert.state, Person.name)
                         .join(Alert, col(Alert.id) == col(WarningNotice.alert_id))
                         .outerjoin(Person, col(Person.id) == col(WarningNotice.answered_by_person_id))
                         .where(col(WarningNotice.id).in_(newest)))).all()
    return {n.assignment_id: NoticeLine(n.alert_id, n.answer_by, name if n.answered_at else None, n.reason or "",
                                        n.next_steps or "", state != "resolved") for n, state, name in rows}


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def line(n: NoticeLine, today: date, tr: Translator) -> str | None:
    """One line under the assignment (None when there is nothing to say: an unanswered notice that lapsed)."""
    if n.answered_by is not None:
        return tr("warning.line_answered", id=n.alert_id, name=n.answered_by, reason=_short(n.reason),
                  steps=_short(n.next_steps))
    if not n.open:
        return None
    key = "warning.line_late" if today > n.answer_by else "warning.line_open"
    return tr(key, id=n.alert_id, due=n.answer_by.isoformat())
