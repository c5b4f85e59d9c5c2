"""workers (liveness of worker and agent processes) and the claimer of a running node

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'workers',
        sa.Column('id', sa.String(length=300), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_workers_last_seen', 'workers', ['last_seen'])
    with op.batch_alter_table('run_nodes') as batch:
        batch.add_column(sa.Column('claimed_by', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('run_nodes') as batch:
        batch.drop_column('claimed_by')
    op.drop_index('ix_workers_last_seen', table_name='workers')
    op.drop_table('workers')
