"""verdicts: the office's review of reports beyond a verified value, admins' confirmation of flagged visits,
continuous targets (issue #15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The flags that hold a visit's verified value for an admin's confirmation (services/inspection/holds.py).
HOLDING = ('off_site', 'exif_off_site', 'reused_exact', 'reused_similar')


def _add(table: str, column: str, kind: sa.types.TypeEngine, fk: str | None = None) -> None:
    """A nullable column added in place, never by batch mode's copy of the table: on SQLite, dropping the old
    copy of targets, inspections or progress_reports with foreign keys on would cascade to assignments,
    photos and attachments. SQLite takes the foreign key inline (ALTER TABLE ... ADD COLUMN ... REFERENCES)."""
    bind = op.get_bind()
    if column in {c['name'] for c in sa.inspect(bind).get_columns(table)}:
        return  # kept by a downgrade on SQLite (see there)
    if fk and bind.dialect.name == 'sqlite':
        ref_table, ref_column = fk.split('.')
        op.execute(f'ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {ref_table} ({ref_column}) '
                   'ON DELETE SET NULL')
    else:
        op.add_column(table, sa.Column(column, kind, nullable=True))
        if fk:
            ref_table, ref_column = fk.split('.')
            op.create_foreign_key(f'fk_{table}_{column}', table, ref_table, [column], [ref_column],
                                  ondelete='SET NULL')
    if fk:
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)


def upgrade() -> None:
    _add('progress_reports', 'review', sa.String(length=16))
    _add('progress_reports', 'reviewed_by_person_id', sa.Integer(), 'people.id')
    _add('progress_reports', 'reviewed_at', sa.DateTime(timezone=True))
    _add('inspections', 'confirmation', sa.String(length=16))
    _add('inspections', 'confirmed_by_person_id', sa.Integer(), 'people.id')
    _add('inspections', 'confirmed_at', sa.DateTime(timezone=True))
    _add('targets', 'continues_id', sa.Integer(), 'targets.id')
    # Visits already flagged off site or re-used: their verified values wait for an admin, as new ones do.
    bind = op.get_bind()
    visits = sa.table('inspections', sa.column('id', sa.Integer()), sa.column('flags', sa.JSON()),
                      sa.column('verified_value'), sa.column('confirmation', sa.String()))
    held = []
    for row in bind.execute(sa.select(visits.c.id, visits.c.flags).where(visits.c.verified_value.is_not(None))):
        flags = json.loads(row.flags) if isinstance(row.flags, str) else row.flags
        if any(isinstance(f, dict) and f.get('kind') in HOLDING for f in flags or ()):
            held.append(row.id)
    if held:
        bind.execute(sa.update(visits).where(visits.c.id.in_(held)).values(confirmation='pending'))


def downgrade() -> None:
    """Drops the columns on PostgreSQL. SQLite cannot drop a column in a foreign key in place, and a batch copy of
    these tables is refused or cascades (supervision items, photos and attachments reference them): there the
    columns stay, unused by the older code, and an upgrade again finds them in place."""
    if op.get_bind().dialect.name == 'sqlite':
        return
    for table, columns in (('targets', ('continues_id',)),
                           ('inspections', ('confirmed_at', 'confirmed_by_person_id', 'confirmation')),
                           ('progress_reports', ('reviewed_at', 'reviewed_by_person_id', 'review'))):
        for column in columns:
            if column.endswith('_id'):
                op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
                op.drop_constraint(f'fk_{table}_{column}', table, type_='foreignkey')
            op.drop_column(table, column)
