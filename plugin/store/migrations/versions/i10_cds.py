"""issue 10: CDS Hooks (cds_jti: JWT ids seen until they expire; cds_cards: what each card's uuids stand for)

Revision ID: i10_cds
Revises: i9_review
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = 'i10_cds'
down_revision = 'i9_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cds_jti',
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('issuer', 'jti')
    )
    with op.batch_alter_table('cds_jti', schema=None) as batch_op:
        batch_op.create_index('ix_cds_jti_expires_at', ['expires_at'], unique=False)

    op.create_table('cds_cards',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('case_key', sa.String(length=300), nullable=False),
    sa.Column('coded_case', sa.String(length=300), nullable=False),
    sa.Column('suggestions', sa.Text(), nullable=False),
    sa.Column('versions', sa.Text(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('cds_cards', schema=None) as batch_op:
        batch_op.create_index('ix_cds_cards_case_key', ['case_key'], unique=False)
        batch_op.create_index('ix_cds_cards_issued_at', ['issued_at'], unique=False)


def downgrade() -> None:
    op.drop_table('cds_cards')
    op.drop_table('cds_jti')
