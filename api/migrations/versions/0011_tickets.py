"""Problem tickets on orders, with the evidence gathered when they are opened, and comments.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE tickets (
        id bigserial PRIMARY KEY,
        order_id bigint NOT NULL REFERENCES orders (id),
        opened_by bigint NOT NULL REFERENCES users (id),
        kind varchar(20) NOT NULL,
        status varchar(12) NOT NULL DEFAULT 'open',
        assignee_id bigint REFERENCES users (id),
        resolution varchar(20),
        resolution_note text,
        evidence jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        resolved_at timestamptz,
        CONSTRAINT tickets_kind_check CHECK (kind IN
            ('not_delivered', 'damaged', 'wrong_item', 'cash_mismatch', 'late')),
        CONSTRAINT tickets_status_check CHECK (status IN ('open', 'assigned', 'resolved')),
        CONSTRAINT tickets_resolution_check CHECK (resolution IS NULL OR resolution IN
            ('refund', 'redeliver', 'return_to_seller', 'reject')),
        CONSTRAINT tickets_resolved_check CHECK ((status = 'resolved') = (resolution IS NOT NULL))
    );
    CREATE INDEX ix_tickets_order ON tickets (order_id);
    CREATE INDEX ix_tickets_status ON tickets (status, id);
    CREATE TABLE ticket_comments (
        id bigserial PRIMARY KEY,
        ticket_id bigint NOT NULL REFERENCES tickets (id),
        author_id bigint NOT NULL REFERENCES users (id),
        body text NOT NULL,
        at timestamptz NOT NULL
    );
    CREATE INDEX ix_ticket_comments_ticket ON ticket_comments (ticket_id, id);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE ticket_comments; DROP TABLE tickets")
