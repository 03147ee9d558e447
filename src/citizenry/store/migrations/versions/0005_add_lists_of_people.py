"""Add lists of people

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citizenry.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("nation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", citizenry.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_lists_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["nation_id"], ["nations.id"], name=op.f("fk_lists_nation_id_nations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
        sa.UniqueConstraint("nation_id", "slug", name=op.f("uq_lists_nation_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "list_memberships",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("list_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", citizenry.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_list_memberships_list_id_lists"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_list_memberships_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_memberships")),
        sa.UniqueConstraint("list_id", "person_id", name=op.f("uq_list_memberships_list_id")),
    )
    with op.batch_alter_table("list_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_memberships_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("list_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_list_memberships_person_id"))

    op.drop_table("list_memberships")
    op.drop_table("lists")
