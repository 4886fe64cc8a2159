"""issue 8: files taken from watched scanner folders (scanner_files)

Revision ID: i8_scanner
Revises: i11_metrics
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = 'i8_scanner'
down_revision = 'i11_metrics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scanner_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('folder', 'path', 'size', 'mtime_ns', name='uq_scanner_files_version')
    )
    with op.batch_alter_table('scanner_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scanner_files_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_scanner_files_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scanner_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scanner_files_status'))
        batch_op.drop_index(batch_op.f('ix_scanner_files_sha256'))
    op.drop_table('scanner_files')
