"""gates: who minted each invitation

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_person_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invitations_created_by_person_id'), ['created_by_person_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_invitations_created_by_person_id', 'people', ['created_by_person_id'],
                                    ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invitations_created_by_person_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_invitations_created_by_person_id'))
        batch_op.drop_column('created_by_person_id')
