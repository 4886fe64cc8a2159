"""issue 8: the reconciler's saved positions (reconcile_state)

Revision ID: i8_reconcile
Revises: i8_scanner
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = 'i8_reconcile'
down_revision = 'i8_scanner'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconcile_state',
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('position', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )


def downgrade() -> None:
    op.drop_table('reconcile_state')
