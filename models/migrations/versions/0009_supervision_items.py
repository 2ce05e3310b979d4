"""supervision items (督办件): items, each unit's part, notes and files; rectifications become items

Rectification items (整改) become supervision items opened from an inspection — one lifecycle, not two — and
their tables go. Each rectification keeps its number as its item's and its part's, so the buttons already in
chats (``rect:…:<number>``) still find it: an open one is signed for by its owner (at its opening), a
submitted one is reported (its closings are the part's reports, the photos with each), an accepted one is
closed; a rejection's reason is the part's returned comment. Their alerts become the items' ``overdue``
reminders (their stage kept). Open ``rect`` dialogues move to ``newitem`` (opening) and ``itemwork``
(closing, a rejection's reason) at the matching step.

Downgrade brings the rectification tables back with the items opened from an inspection (the other items,
and their dialogues and reminders, are dropped).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-21
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TS = models.types.UTCDateTime(timezone=True)
RECTS = sa.table("rectifications", *(sa.column(c) for c in (
    "id", "inspection_id", "unit_id", "owner_person_id", "opened_by_person_id", "description", "deadline", "status",
    "closing_note", "decision_note", "rejections")), *(sa.column(c, TS) for c in (
        "created_at", "submitted_at", "decided_at")))
PHOTOS = sa.table("rectification_photos", *(sa.column(c) for c in ("id", "rectification_id", "evidence_id",
                                                                    "submission")))
ITEMS = sa.table("supervision_items", *(sa.column(c) for c in (
    "id", "source", "inspection_id", "alert_id", "notice_id", "task", "deadline", "flagged", "opened_by_person_id",
    "state")), sa.column("created_at", TS), sa.column("closed_at", TS))
PARTS = sa.table("supervision_parts", *(sa.column(c) for c in (
    "id", "item_id", "unit_id", "state", "signed_by_person_id", "reports", "returns", "decided_by_person_id",
    "decision_note")), *(sa.column(c, TS) for c in ("assigned_at", "sign_due_at", "signed_at", "reported_at",
                                                    "decided_at", "closed_at")))
NOTES = sa.table("supervision_notes", *(sa.column(c) for c in ("id", "part_id", "kind", "text", "person_id",
                                                                "submission")), sa.column("created_at", TS))
FILES = sa.table("supervision_files", *(sa.column(c) for c in ("id", "item_id", "note_id", "evidence_id")))
ALERTS = sa.table("alerts", sa.column("id"), sa.column("key"), sa.column("kind"), sa.column("level"),
                  sa.column("period"), sa.column("details", sa.JSON()))
STATES = sa.table("conversation_states", sa.column("id"), sa.column("name"), sa.column("conv_key"),
                  sa.column("state", sa.JSON()), sa.column("updated_at", TS))
INSPECTIONS = sa.table("inspections", sa.column("id"), sa.column("unit_id"), sa.column("findings"))
UNITS = sa.table("units", sa.column("id"), sa.column("code"), sa.column("name"))
PART_STATE = {"open": "signed", "submitted": "reported", "accepted": "closed"}
RECT_STATUS = {"assigned": "open", "signed": "open", "reported": "submitted", "closed": "accepted",
               "rejected": "accepted"}


def _tables() -> None:
    op.create_table('supervision_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('task', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('opened_by_person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('closed_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opened_by_person_id'], ['people.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('supervision_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('assigned_at', TS, nullable=False),
    sa.Column('sign_due_at', TS, nullable=False),
    sa.Column('signed_at', TS, nullable=True),
    sa.Column('signed_by_person_id', sa.Integer(), nullable=True),
    sa.Column('reported_at', TS, nullable=True),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.Column('returns', sa.Integer(), nullable=False),
    sa.Column('decided_at', TS, nullable=True),
    sa.Column('decided_by_person_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('closed_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['decided_by_person_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signed_by_person_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'unit_id', name='uq_supervision_part')
    )
    op.create_table('supervision_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('submission', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['supervision_parts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('supervision_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=True),
    sa.Column('evidence_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence_files.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['note_id'], ['supervision_notes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    for table, columns in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


INDEXES = {
    "supervision_items": ("alert_id", "inspection_id", "notice_id", "opened_by_person_id", "source", "state"),
    "supervision_parts": ("decided_by_person_id", "item_id", "signed_by_person_id", "state", "unit_id"),
    "supervision_notes": ("part_id", "person_id"),
    "supervision_files": ("evidence_id", "item_id", "note_id"),
}
OLD_INDEXES = {  # in the order they are dropped
    "rectification_photos": ("evidence_id", "rectification_id"),
    "rectifications": ("inspection_id", "opened_by_person_id", "owner_person_id", "status", "unit_id"),
}


def _move_rectifications(conn: sa.Connection) -> None:
    """Every rectification becomes an item from its inspection with one part, numbered as it was."""
    photos: dict[tuple[int, int], list[int]] = {}
    for p in conn.execute(sa.select(PHOTOS).order_by(PHOTOS.c.id)).all():
        photos.setdefault((p.rectification_id, p.submission), []).append(p.evidence_id)
    note_id = 0
    for r in conn.execute(sa.select(RECTS).order_by(RECTS.c.id)).all():
        accepted = r.status == "accepted"
        reports = r.rejections + (r.status != "open")
        conn.execute(sa.insert(ITEMS).values(
            id=r.id, source="inspection", inspection_id=r.inspection_id, task=r.description, deadline=r.deadline,
            flagged=False, opened_by_person_id=r.opened_by_person_id, created_at=r.created_at,
            state="closed" if accepted else "open", closed_at=r.decided_at if accepted else None))
        conn.execute(sa.insert(PARTS).values(
            id=r.id, item_id=r.id, unit_id=r.unit_id, state=PART_STATE.get(r.status, "signed"),
            assigned_at=r.created_at, sign_due_at=r.created_at, signed_at=r.created_at,
            signed_by_person_id=r.owner_person_id, reported_at=r.submitted_at, reports=reports,
            returns=r.rejections, decided_at=r.decided_at,
            decided_by_person_id=r.opened_by_person_id if r.decided_at else None, decision_note=r.decision_note,
            closed_at=r.decided_at if accepted else None))
        notes: list[dict[str, Any]] = []
        for n in range(1, reports + 1):  # earlier closings' notes were not kept: only the latest one's text
            latest = n == reports
            notes.append({"kind": "report", "text": (r.closing_note or "") if latest else "",
                          "person_id": r.owner_person_id, "submission": n,
                          "created_at": (r.submitted_at if latest else None) or r.created_at})
        if r.rejections and r.status == "open":
            notes.append({"kind": "issues", "text": r.decision_note or "", "person_id": r.opened_by_person_id,
                          "submission": reports, "created_at": r.decided_at or r.created_at})
        if accepted:
            notes.append({"kind": "approved", "text": "", "person_id": r.opened_by_person_id,
                          "submission": reports, "created_at": r.decided_at or r.created_at})
        for note in notes:
            note_id += 1
            conn.execute(sa.insert(NOTES).values(id=note_id, part_id=r.id, **note))
            if note["kind"] == "report":
                for evidence in photos.get((r.id, note["submission"]), []):
                    conn.execute(sa.insert(FILES).values(item_id=r.id, note_id=note_id, evidence_id=evidence))
    for alert in conn.execute(sa.select(ALERTS).where(ALERTS.c.kind == "rectification")).all():
        number = (alert.details or {}).get("rectification_id")
        conn.execute(sa.update(ALERTS).where(ALERTS.c.id == alert.id).values(
            kind="item", level="red", key=f"item|p{number}|overdue|{alert.period}",
            details={"item_id": number, "part_id": number, "step": "overdue"}))
    if conn.dialect.name == "postgresql":  # rows were numbered by hand: the sequences go on after them
        for table in ("supervision_items", "supervision_parts", "supervision_notes"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


def _move_dialogues(conn: sa.Connection) -> None:
    """Open ``rect`` dialogues continue as ``newitem`` or ``itemwork`` at the matching step."""
    rects = {r.id: r for r in conn.execute(sa.select(RECTS.c.id, RECTS.c.rejections)).all()}
    for row in conn.execute(sa.select(STATES).where(STATES.c.name == "rect.draft")).all():
        d = row.state if isinstance(row.state, dict) else {}
        step, kind, moved = d.get("step"), d.get("kind"), None
        if kind == "open" and str(step).startswith("open_"):
            insp = conn.execute(sa.select(INSPECTIONS).where(INSPECTIONS.c.id == d.get("inspection_id"))).first()
            unit = conn.execute(sa.select(UNITS).where(UNITS.c.id == insp.unit_id)).first() if insp else None
            if unit is not None:
                data = {"source": "inspection", "inspection_id": insp.id, "units": [[unit.id, unit.code, unit.name]],
                        "suggested": (insp.findings or "").strip() or None, "photos": [], "flagged": False,
                        "origin": {"kind": "inspection", "number": insp.id, "unit": unit.name,
                                   "findings": insp.findings or ""}}
                if d.get("description"):
                    data["task"] = d["description"]
                confirm = step == "open_confirm" and d.get("deadline")
                if confirm:
                    data["deadline"] = d["deadline"]
                moved = ("newitem", "confirm" if confirm else "deadline", data)
        elif kind == "close" and step in ("close_note", "close_photos", "close_confirm"):
            data = {"kind": "report", "part_id": d.get("rect_id"), "item_id": d.get("rect_id"),
                    "photos": d.get("photos") or [], **({"note": d["note"]} if d.get("note") else {})}
            moved = ("itemwork", {"close_note": "note", "close_photos": "files"}.get(step, "confirm"), data)
        elif kind == "reject" and step == "reject_reason" and d.get("rect_id") in rects:
            rect = rects[d["rect_id"]]
            moved = ("itemwork", "comment", {"kind": "issues", "part_id": rect.id, "item_id": rect.id,
                                             "submission": rect.rejections + 1})
        if moved is not None:
            name, new_step, data = moved
            conn.execute(sa.insert(STATES), [
                {"name": f"{name}.draft", "conv_key": row.conv_key, "updated_at": row.updated_at,
                 "state": {**data, "serial": d.get("serial", row.id), "step": new_step}},
                {"name": name, "conv_key": row.conv_key, "state": new_step, "updated_at": row.updated_at}])
    conn.execute(sa.delete(STATES).where(STATES.c.name.in_(["rect", "rect.draft", "rect.done"])))


def upgrade() -> None:
    _tables()
    conn = op.get_bind()
    _move_rectifications(conn)
    _move_dialogues(conn)
    _drop(OLD_INDEXES)


def _drop(indexes: dict[str, tuple[str, ...]]) -> None:
    for table, columns in indexes.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)


def downgrade() -> None:
    op.create_table('rectifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('owner_person_id', sa.Integer(), nullable=False),
    sa.Column('opened_by_person_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('closing_note', sa.Text(), nullable=True),
    sa.Column('submitted_at', TS, nullable=True),
    sa.Column('decided_at', TS, nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('rejections', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['opened_by_person_id'], ['people.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_person_id'], ['people.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('rectification_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rectification_id', sa.Integer(), nullable=False),
    sa.Column('evidence_id', sa.Integer(), nullable=False),
    sa.Column('submission', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence_files.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    for table, columns in OLD_INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)
    conn = op.get_bind()
    rows = conn.execute(sa.select(ITEMS, PARTS.c.id.label("part_id"), PARTS.c.unit_id, PARTS.c.state.label("part_state"),
                                  PARTS.c.signed_by_person_id, PARTS.c.reported_at, PARTS.c.returns,
                                  PARTS.c.decided_at, PARTS.c.decision_note)
                        .join(PARTS, PARTS.c.item_id == ITEMS.c.id).where(ITEMS.c.source == "inspection")).all()
    for r in rows:
        latest = conn.execute(sa.select(NOTES.c.text).where(NOTES.c.part_id == r.part_id, NOTES.c.kind == "report")
                              .order_by(NOTES.c.id.desc())).first()
        conn.execute(sa.insert(RECTS).values(
            id=r.id, inspection_id=r.inspection_id, unit_id=r.unit_id, description=r.task, deadline=r.deadline,
            owner_person_id=r.signed_by_person_id or r.opened_by_person_id, opened_by_person_id=r.opened_by_person_id,
            status=RECT_STATUS.get(r.part_state, "open"), created_at=r.created_at,
            closing_note=latest.text if latest else None, submitted_at=r.reported_at, decided_at=r.decided_at,
            decision_note=r.decision_note, rejections=r.returns))
        files = conn.execute(sa.select(FILES.c.evidence_id, NOTES.c.submission)
                             .join(NOTES, NOTES.c.id == FILES.c.note_id)
                             .where(NOTES.c.part_id == r.part_id, NOTES.c.kind == "report")).all()
        for evidence, submission in files:
            conn.execute(sa.insert(PHOTOS).values(rectification_id=r.id, evidence_id=evidence, submission=submission))
    kept = {r.part_id: r.id for r in rows}
    for alert in conn.execute(sa.select(ALERTS).where(ALERTS.c.kind == "item")).all():
        part = (alert.details or {}).get("part_id")
        if part in kept and (alert.details or {}).get("step") == "overdue":
            conn.execute(sa.update(ALERTS).where(ALERTS.c.id == alert.id).values(
                kind="rectification", level="overdue", key=f"rectification|r{kept[part]}|overdue|{alert.period}",
                details={"rectification_id": kept[part]}))
        else:
            conn.execute(sa.delete(ALERTS).where(ALERTS.c.id == alert.id))
    conn.execute(sa.delete(STATES).where(STATES.c.name.in_(
        ["newitem", "newitem.draft", "newitem.done", "itemwork", "itemwork.draft", "itemwork.done"])))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('rectifications', 'id'), "
                             "COALESCE((SELECT MAX(id) FROM rectifications), 0) + 1, false)"))
    _drop({table: tuple(reversed(columns)) for table, columns in reversed(INDEXES.items())})
