"""What the grade caps and the accountability lines need beyond the scores (issue #15), read for
services/scoring/load.py: the units named in a published criticism notice (通报批评) of the year, and the
head (组长) of each leading group of the year's targets."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from models.inspection import Notice
from models.people import Person
from models.plan import LeadingGroup


def notice_year(period: str) -> int | None:
    """The year of a notice's period ("2027-Q1", "2027-03", "2027-H1", "2027")."""
    head = (period or "")[:4]
    return int(head) if head.isdigit() else None


async def load_context(conn: Any, year: int, data: Any) -> None:
    """Fill ``data.criticised`` and ``data.heads`` (``data``: services/scoring/load.py's ScoringData, which
    imports this module)."""
    codes = {u.code: uid for uid, u in data.units.items()}
    for period, units in (await conn.execute(
        select(Notice.period, Notice.units).where(Notice.status == "published",
                                                  col(Notice.period).startswith(str(year)))
    )).all():
        if notice_year(period) != year:
            continue
        for code in _codes(units):
            if code in codes:
                data.criticised.add(codes[code])
    if data.groups:
        for gid, pcode, pname in (await conn.execute(
            select(LeadingGroup.id, Person.code, Person.name)
            .join(Person, col(Person.id) == col(LeadingGroup.head_person_id))
            .where(col(LeadingGroup.id).in_(sorted(data.groups)))
        )).all():
            data.heads[gid] = (pcode, pname)


def _codes(value: Any) -> list[str]:
    """Notice.units as read by Core (a JSON list, or its text on some drivers)."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(c) for c in value or []]
