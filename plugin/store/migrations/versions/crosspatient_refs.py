"""evidence_refs: the context refs each piece of evidence needs or gives (cross-patient evidence)

Revision ID: crosspatient_refs
Revises: i8_reconcile
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = 'crosspatient_refs'
down_revision = 'i8_reconcile'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evidence_refs',
    sa.Column('evidence_key', sa.String(length=600), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('ref', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('evidence_key', 'role', 'ref')
    )
    with op.batch_alter_table('evidence_refs', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_refs_ref_role', ['ref', 'role'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidence_refs', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_refs_ref_role')
    op.drop_table('evidence_refs')
