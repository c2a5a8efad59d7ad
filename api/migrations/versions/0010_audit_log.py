"""The audit log of staff actions (who assigned, cancelled, changed settings or accounts).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_id bigint NOT NULL REFERENCES users (id),
        actor_role varchar(16) NOT NULL,
        action varchar(40) NOT NULL,
        target_type varchar(20) NOT NULL,
        target_id bigint,
        details jsonb
    );
    CREATE INDEX ix_audit_log_target ON audit_log (target_type, target_id);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE audit_log")
