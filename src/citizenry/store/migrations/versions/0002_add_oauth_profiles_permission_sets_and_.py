"""Add OAuth profiles, permission sets and the audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import citizenry.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "permission_sets",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("nation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("api", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("sign_into_apps", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint("level IN ('admin', 'staffer')", name=op.f("ck_permission_sets_level")),
        sa.ForeignKeyConstraint(
            ["nation_id"],
            ["nations.id"],
            name=op.f("fk_permission_sets_nation_id_nations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_sets")),
        sa.UniqueConstraint("nation_id", "level", name=op.f("uq_permission_sets_nation_id")),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("nation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("app_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", citizenry.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_audit_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_audit_events_app_id_apps"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["nation_id"], ["nations.id"], name=op.f("fk_audit_events_nation_id_nations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_nation_id_id", ["nation_id", "id"], unique=False)

    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("legacy_tokens", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("allow_plain_pkce", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("strict_profile", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.alter_column("client_secret_digest", existing_type=sa.LargeBinary(length=32), nullable=True)

    with op.batch_alter_table("nations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("strict_profile", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("is_sandbox", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("nations", schema=None) as batch_op:
        batch_op.drop_column("is_sandbox")
        batch_op.drop_column("strict_profile")

    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.alter_column("client_secret_digest", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.drop_column("strict_profile")
        batch_op.drop_column("allow_plain_pkce")
        batch_op.drop_column("legacy_tokens")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_nation_id_id")

    op.drop_table("audit_events")
    op.drop_table("permission_sets")
