"""evidence_refs: a clinical record also gives the Encounter it names (data only)

While no Encounter resource says whose an encounter is, the first record naming it decides (as in `dwcoder
suggest`), so a group is now read with the other groups' records naming its records' Encounters. Records stored
before this revision get their "gives" rows here, and the groups that share an Encounter with another group are
marked dirty so the sweeper recomputes them.

Revision ID: crosspatient_encounters
Revises: i9_auth
Create Date: 2026-12-01
"""
from alembic import op


revision = 'crosspatient_encounters'
down_revision = 'i9_auth'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO evidence_refs (evidence_key, role, ref) "
        "SELECT n.evidence_key, 'gives', n.ref FROM evidence_refs n "
        "WHERE n.role = 'needs' AND n.ref LIKE 'Encounter/%' AND NOT EXISTS ("
        "SELECT 1 FROM evidence_refs g WHERE g.evidence_key = n.evidence_key AND g.role = 'gives' AND g.ref = n.ref)")
    op.execute(
        "UPDATE cases SET dirty = TRUE WHERE key IN ("
        "SELECT e1.case_key FROM evidence e1 "
        "JOIN evidence_refs r1 ON r1.evidence_key = e1.key AND r1.role = 'needs' AND r1.ref LIKE 'Encounter/%' "
        "JOIN evidence_refs r2 ON r2.ref = r1.ref AND r2.role = 'needs' "
        "JOIN evidence e2 ON e2.key = r2.evidence_key AND e2.case_key <> e1.case_key)")


def downgrade() -> None:
    op.execute(
        "DELETE FROM evidence_refs WHERE role = 'gives' AND ref LIKE 'Encounter/%' AND evidence_key IN ("
        "SELECT evidence_key FROM evidence_refs WHERE role = 'needs' AND ref LIKE 'Encounter/%')")
