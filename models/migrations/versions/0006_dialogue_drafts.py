"""every dialogue's draft stored one way: JSON beside its conversation state

Every dialogue's draft is now a JSON object in ``conversation_states`` named ``<conversation>.draft`` with
its ``serial`` and ``step`` (services/core/dialogue.py), and the user's last finished drafts are kept as
``<conversation>.done``. The /report and /inspect drafts had tables of their own: their open drafts move
into JSON (the serial is the old draft id, so the Confirm buttons already in chats keep working), their
last finished ones into the history, and the tables go. Drafts already in JSON get the names and keys of
the skeleton. Nothing a user confirmed lives in a draft: reports and inspections are untouched.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

KEEP_DONE = 20
STATES = sa.table(
    "conversation_states", sa.column("id", sa.Integer()), sa.column("name", sa.String()),
    sa.column("conv_key", sa.String()), sa.column("state", sa.JSON()),
    sa.column("updated_at", models.types.UTCDateTime(timezone=True)),
)
PEOPLE = sa.table("people", sa.column("id", sa.Integer()), sa.column("telegram_user_id", sa.BigInteger()))
REPORT_DRAFTS = sa.table(
    "report_drafts", *(sa.column(c) for c in ("id", "person_id", "chat_id", "status", "step", "assignment_id",
                                              "value_text", "note", "correction_reason", "last_seen_report_id",
                                              "report_id")),
    sa.column("value", models.types.DecimalValue(precision=20, scale=4)), sa.column("attachments", sa.JSON()),
)
INSPECTION_DRAFTS = sa.table(
    "inspection_drafts", *(sa.column(c) for c in ("id", "person_id", "chat_id", "status", "step", "unit_id",
                                                  "assignment_id", "general", "latitude", "longitude",
                                                  "accuracy_m", "findings", "verified_text", "rating",
                                                  "inspection_id")),
    sa.column("verified_value", models.types.DecimalValue(precision=20, scale=4)), sa.column("photos", sa.JSON()),
    sa.column("created_at", models.types.UTCDateTime(timezone=True)),
)
# Drafts already in JSON: old name -> (new name, the step when the old draft did not say).
RENAMED = {"peer.draft": ("assess.draft", None), "notice.edit": ("notice.draft", "await_text"),
           "appeal.draft": ("appeal.draft", "conversation"), "appeal.decide": ("appeal_office.draft", "await_text"),
           "survey.draft": ("survey.draft", "comment"), "adjust.draft": ("adjust.draft", None),
           "rect.draft": ("rect.draft", None)}


def _key(chat_id: int, user_id: int) -> str:
    return json.dumps([chat_id, user_id], separators=(",", ":"))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _report(d: Any) -> dict[str, Any]:
    return {"attachments": d.attachments or [], "assignment_id": d.assignment_id, "value": _text(d.value),
            "value_text": d.value_text, "note": d.note, "correction_reason": d.correction_reason,
            "last_seen_report_id": d.last_seen_report_id, "report_id": d.report_id}


def _inspection(d: Any) -> dict[str, Any]:
    return {"person_id": d.person_id, "visit_at": d.created_at.isoformat(), "photos": d.photos or [],
            "unit_id": d.unit_id, "assignment_id": d.assignment_id, "general": bool(d.general),
            "latitude": d.latitude, "longitude": d.longitude, "accuracy_m": d.accuracy_m, "findings": d.findings,
            "verified_value": _text(d.verified_value), "verified_text": d.verified_text, "rating": d.rating,
            "inspection_id": d.inspection_id}


def _move_table(conn: sa.Connection, table: Any, name: str, data: Any, now: datetime) -> None:
    """Open drafts of ``table`` become ``<name>.draft``; the last finished per user ``<name>.done``."""
    users = dict(conn.execute(sa.select(PEOPLE.c.id, PEOPLE.c.telegram_user_id)).all())
    open_: dict[str, dict[str, Any]] = {}
    done: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in conn.execute(sa.select(table).order_by(table.c.id)).all():
        if users.get(d.person_id) is None:
            continue
        key = _key(d.chat_id, users[d.person_id])
        if d.status == "open" and d.step not in ("done", "cancelled"):
            open_[key] = {**data(d), "serial": d.id, "step": d.step}
        elif d.status == "confirmed":
            done[key] = [*done[key], {**data(d), "serial": d.id, "step": "done"}][-KEEP_DONE:]
    rows = [{"name": f"{name}.draft", "conv_key": k, "state": v, "updated_at": now} for k, v in open_.items()]
    rows += [{"name": f"{name}.done", "conv_key": k, "state": v, "updated_at": now} for k, v in done.items()]
    if rows:
        conn.execute(sa.insert(STATES), rows)


def _rename_json(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(STATES).where(STATES.c.name.in_(list(RENAMED)))).all()
    steps = {(r.name, r.conv_key): r.state for r in conn.execute(sa.select(STATES)).all()}
    for row in rows:
        name, default_step = RENAMED[row.name]
        state = dict(row.state) if isinstance(row.state, dict) else None
        if state is not None and "step" not in state:
            step = steps.get((name.removesuffix(".draft"), row.conv_key)) if default_step == "conversation" \
                else default_step
            state = {**state, "step": step} if step else None
        if state is not None:
            state.setdefault("serial", row.id)
        if state is None:
            conn.execute(sa.delete(STATES).where(STATES.c.id == row.id))
        else:
            conn.execute(sa.update(STATES).where(STATES.c.id == row.id).values(name=name, state=state))


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    _rename_json(conn)
    _move_table(conn, REPORT_DRAFTS, "report", _report, now)
    _move_table(conn, INSPECTION_DRAFTS, "inspect", _inspection, now)
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.drop_column('draft_id')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_column('draft_id')
    for table, columns in (("report_drafts", ("status", "person_id", "chat_id", "assignment_id")),
                           ("inspection_drafts", ("unit_id", "status", "person_id", "chat_id", "assignment_id"))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)


def downgrade() -> None:
    """The tables come back empty: drafts in progress stay in JSON (the old code does not read them), and
    the JSON drafts get their old names."""
    op.create_table('report_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('value', models.types.DecimalValue(precision=20, scale=4), nullable=True),
    sa.Column('value_text', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('correction_reason', sa.Text(), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=True),
    sa.Column('last_seen_report_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('inspection_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('general', sa.Boolean(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('photos', sa.JSON(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('verified_value', models.types.DecimalValue(precision=20, scale=4), nullable=True),
    sa.Column('verified_text', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('rating', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    for table, columns in (("report_drafts", ("status", "person_id", "chat_id", "assignment_id")),
                           ("inspection_drafts", ("unit_id", "status", "person_id", "chat_id", "assignment_id"))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_progress_reports_draft_id', ['draft_id'])
        batch_op.create_foreign_key('fk_progress_reports_draft_id', 'report_drafts', ['draft_id'], ['id'])
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_inspections_draft_id', ['draft_id'])
    conn = op.get_bind()
    for old, (new, _) in RENAMED.items():
        if old != new:
            conn.execute(sa.update(STATES).where(STATES.c.name == new).values(name=old))
    conn.execute(sa.delete(STATES).where(STATES.c.name.in_(
        ["report.draft", "inspect.draft", *(f"{n}.done" for n in ("report", "inspect", "adjust", "rect", "assess",
                                                                  "notice"))])))
