"""trigger_schedules: each schedule trigger's latest cron tick handled and its skipped ticks

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'trigger_schedules',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('graph_id', sa.String(length=64), nullable=False),
        sa.Column('last_tick', sa.BigInteger(), nullable=False),
        sa.Column('last_run_id', sa.String(length=64), nullable=True),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('last_skip_reason', sa.Text(), nullable=True),
        sa.Column('last_skip_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    op.drop_table('trigger_schedules')
