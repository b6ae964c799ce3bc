"""Initial schema: membership data, scenarios, simulation runs, publications.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:57:39.841285
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('campaigns_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('kind', sa.String(length=32), server_default='', nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('target', sa.String(length=128), server_default='', nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=2, asdecimal=False), server_default='0', nullable=False),
    sa.Column('contacts', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_campaigns_run_dates_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns_run')),
    sa.UniqueConstraint('campaign_id', 'start_date', name=op.f('uq_campaigns_run_campaign_id_start_date'))
    )
    op.create_index('ix_campaigns_run_start_date', 'campaigns_run', ['start_date'])

    op.create_table('members',
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('join_date', sa.Date(), nullable=False),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('gender', sa.String(length=1), server_default='U', nullable=False),
    sa.Column('home_store', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.CheckConstraint("gender IN ('F', 'M', 'U')", name=op.f('ck_members_gender')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_members'))
    )
    op.create_index('ix_members_join_date', 'members', ['join_date'])

    op.create_table('publication_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=True),
    sa.Column('who', sa.String(length=100), server_default='', nullable=False),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('diff', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("action IN ('publish', 'rollback')", name=op.f('ck_publication_audit_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_audit'))
    )
    op.create_index('ix_publication_audit_version', 'publication_audit', ['version'])

    op.create_table('published_policies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('action', sa.String(length=10), server_default='publish', nullable=False),
    sa.Column('restored_from', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=100), server_default='', nullable=False),
    sa.CheckConstraint("action IN ('publish', 'rollback')", name=op.f('ck_published_policies_action')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_published_policies_version_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_policies')),
    sa.UniqueConstraint('version', name=op.f('uq_published_policies_version'))
    )
    op.create_table('scenarios',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('policy_yaml', sa.Text(), nullable=False),
    sa.Column('policy_id', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('assumptions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenarios')),
    sa.UniqueConstraint('name', name=op.f('uq_scenarios_name'))
    )
    op.create_table('simulation_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('scenario_name', sa.String(length=100), nullable=True),
    sa.Column('policy_id', sa.String(length=64), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('seed', sa.String(length=80), nullable=False),
    sa.Column('code_version', sa.String(length=64), server_default='', nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation_runs'))
    )
    op.create_index('ix_simulation_runs_created_at', 'simulation_runs', ['created_at'])
    op.create_index('ix_simulation_runs_policy_id', 'simulation_runs', ['policy_id'])

    op.create_table('store_markers',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_store_markers'))
    )
    op.create_table('points_ledger',
    sa.Column('entry_id', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=64), server_default='', nullable=False),
    sa.CheckConstraint("(kind IN ('earn', 'bonus') AND points >= 0) OR (kind IN ('redeem', 'expire') AND points <= 0)", name=op.f('ck_points_ledger_points_sign')),
    sa.CheckConstraint("kind IN ('earn', 'bonus', 'redeem', 'expire')", name=op.f('ck_points_ledger_kind')),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], name=op.f('fk_points_ledger_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_points_ledger'))
    )
    op.create_index('ix_points_ledger_date', 'points_ledger', ['date'])
    op.create_index('ix_points_ledger_member_id_date', 'points_ledger', ['member_id', 'date'])
    op.create_index('ix_points_ledger_transaction_id', 'points_ledger', ['transaction_id'])

    op.create_table('transactions',
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('discount', sa.Numeric(precision=14, scale=2, asdecimal=False), server_default='0', nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2, asdecimal=False), nullable=False),
    sa.Column('points_earned', sa.Integer(), server_default='0', nullable=False),
    sa.Column('store_id', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('campaign_ids', sa.String(length=255), server_default='', nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_transactions_amount_non_negative')),
    sa.CheckConstraint('discount >= 0', name=op.f('ck_transactions_discount_non_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], name=op.f('fk_transactions_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_transactions'))
    )
    op.create_index('ix_transactions_date', 'transactions', ['date'])
    op.create_index('ix_transactions_member_id_date', 'transactions', ['member_id', 'date'])



def downgrade() -> None:
    """Revert this revision."""
    op.drop_index('ix_transactions_member_id_date', table_name='transactions')
    op.drop_index('ix_transactions_date', table_name='transactions')

    op.drop_table('transactions')
    op.drop_index('ix_points_ledger_transaction_id', table_name='points_ledger')
    op.drop_index('ix_points_ledger_member_id_date', table_name='points_ledger')
    op.drop_index('ix_points_ledger_date', table_name='points_ledger')

    op.drop_table('points_ledger')
    op.drop_table('store_markers')
    op.drop_index('ix_simulation_runs_policy_id', table_name='simulation_runs')
    op.drop_index('ix_simulation_runs_created_at', table_name='simulation_runs')

    op.drop_table('simulation_runs')
    op.drop_table('scenarios')
    op.drop_table('published_policies')
    op.drop_index('ix_publication_audit_version', table_name='publication_audit')

    op.drop_table('publication_audit')
    op.drop_index('ix_members_join_date', table_name='members')

    op.drop_table('members')
    op.drop_index('ix_campaigns_run_start_date', table_name='campaigns_run')

    op.drop_table('campaigns_run')
