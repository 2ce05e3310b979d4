"""dashboard access: one-time login links and browser sessions (hashes of their tokens)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

TS = models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'dashboard_logins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('used_at', TS, nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_dashboard_logins_token_hash'), 'dashboard_logins', ['token_hash'], unique=True)
    op.create_index(op.f('ix_dashboard_logins_person_id'), 'dashboard_logins', ['person_id'], unique=False)
    op.create_table(
        'dashboard_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_dashboard_sessions_token_hash'), 'dashboard_sessions', ['token_hash'], unique=True)
    op.create_index(op.f('ix_dashboard_sessions_person_id'), 'dashboard_sessions', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dashboard_sessions_person_id'), table_name='dashboard_sessions')
    op.drop_index(op.f('ix_dashboard_sessions_token_hash'), table_name='dashboard_sessions')
    op.drop_table('dashboard_sessions')
    op.drop_index(op.f('ix_dashboard_logins_person_id'), table_name='dashboard_logins')
    op.drop_index(op.f('ix_dashboard_logins_token_hash'), table_name='dashboard_logins')
    op.drop_table('dashboard_logins')
