"""issue 9: the reviewer queue (review_cases, review_lines, append-only review_audit)

Revision ID: i9_review
Revises: crosspatient_refs
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = 'i9_review'
down_revision = 'crosspatient_refs'
branch_labels = None
depends_on = None

NO_CHANGE = "review_audit is append-only: its rows are never updated or deleted"


def upgrade() -> None:
    op.create_table('review_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=300), nullable=False),
    sa.Column('coded_case', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('open', sa.Boolean(), nullable=False),
    sa.Column('practice', sa.String(length=300), nullable=False),
    sa.Column('claim', sa.String(length=16), nullable=False),
    sa.Column('payer', sa.String(length=200), nullable=False),
    sa.Column('service_date', sa.String(length=10), nullable=False),
    sa.Column('notice_kinds', sa.String(length=500), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_key', 'coded_case', name='uq_review_cases_group_case')
    )
    with op.batch_alter_table('review_cases', schema=None) as batch_op:
        batch_op.create_index('ix_review_cases_group_key', ['group_key'], unique=False)
        batch_op.create_index('ix_review_cases_open_first', ['open', 'first_at', 'id'], unique=False)
        batch_op.create_index('ix_review_cases_status_first', ['status', 'first_at', 'id'], unique=False)
        batch_op.create_index('ix_review_cases_practice', ['practice', 'open', 'first_at', 'id'], unique=False)
        batch_op.create_index('ix_review_cases_practice_status', ['practice', 'status'], unique=False)

    op.create_table('review_lines',
    sa.Column('identifier', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('system', sa.String(length=200), nullable=False),
    sa.Column('modifiers', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('suggested_code', sa.String(length=32), nullable=False),
    sa.Column('resource', sa.Text(), nullable=False),
    sa.Column('suggested', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('difference', sa.Text(), nullable=False),
    sa.Column('reason_code', sa.String(length=64), nullable=False),
    sa.Column('reason_text', sa.String(length=2000), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suggested_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['review_cases.id'], ),
    sa.PrimaryKeyConstraint('identifier')
    )
    with op.batch_alter_table('review_lines', schema=None) as batch_op:
        batch_op.create_index('ix_review_lines_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_review_lines_suggested_at', ['suggested_at'], unique=False)
        batch_op.create_index('ix_review_lines_code_case', ['code', 'case_id'], unique=False)
        batch_op.create_index('ix_review_lines_rule_case', ['rule', 'case_id'], unique=False)
        batch_op.create_index('ix_review_lines_state_rule', ['state', 'rule'], unique=False)

    op.create_table('review_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('reason_code', sa.String(length=64), nullable=False),
    sa.Column('reason_text', sa.String(length=2000), nullable=False),
    sa.Column('provenance_id', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_audit', schema=None) as batch_op:
        batch_op.create_index('ix_review_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_review_audit_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_review_audit_identifier', ['identifier'], unique=False)
    _append_only()


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{NO_CHANGE}'; END $$""")
        op.execute("CREATE TRIGGER review_audit_no_update BEFORE UPDATE OR DELETE ON review_audit "
                   "FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()")
    else:
        for what in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER review_audit_no_{what.lower()} BEFORE {what} ON review_audit "
                       f"BEGIN SELECT RAISE(ABORT, '{NO_CHANGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_update ON review_audit")
        op.execute("DROP FUNCTION IF EXISTS review_audit_append_only()")
    op.drop_table('review_audit')
    op.drop_table('review_lines')
    op.drop_table('review_cases')
