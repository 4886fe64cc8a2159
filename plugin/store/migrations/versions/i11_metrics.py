"""issue 11: latency histogram buckets (webhook -> ChargeItem) and an index to find an event by correlation id

Revision ID: i11_metrics
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = 'i11_metrics'
down_revision = '0001'
branch_labels = None
depends_on = None

BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
INF = 1e18


def upgrade() -> None:
    table = op.create_table('latency_buckets',
        sa.Column('le', sa.String(length=16), nullable=False),
        sa.Column('le_s', sa.Float(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('total_s', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('le'),
    )
    op.bulk_insert(table, [{'le': f'{b:g}', 'le_s': b, 'count': 0, 'total_s': 0.0} for b in BUCKETS_S]
                   + [{'le': '+Inf', 'le_s': INF, 'count': 0, 'total_s': 0.0}])
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_correlation_id', ['correlation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_correlation_id')
    op.drop_table('latency_buckets')
