"""Add e-mail slots, coordinates and custom fields

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Fills the new columns from the old ones: ``email`` becomes slot 1 and the primary address,
``email2``..``email4`` move out of ``people.extra``, and the primary address's ``lat`` and
``lng`` strings become the numeric ``latitude`` and ``longitude``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import citizenry.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
EMAIL_SLOTS = ("email1", "email2", "email3", "email4")
BAD_FLAGS = tuple(f"{slot}_is_bad" for slot in EMAIL_SLOTS)
#: When SQLite rebuilds the table, it must keep never reusing ids (revision 0004).
PEOPLE_TABLE = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "custom_fields",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("nation_id", ID, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("created_at", citizenry.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('text', 'number', 'checkbox')", name=op.f("ck_custom_fields_type")),
        sa.ForeignKeyConstraint(
            ["nation_id"], ["nations.id"], name=op.f("fk_custom_fields_nation_id_nations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("nation_id", "slug", name=op.f("uq_custom_fields_nation_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("people", table_kwargs=PEOPLE_TABLE) as batch_op:
        for slot in EMAIL_SLOTS:
            batch_op.add_column(sa.Column(slot, sa.String(length=254), nullable=True))
        for flag in BAD_FLAGS:
            batch_op.add_column(sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("primary_email_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("custom_values", JSON, server_default=sa.text("'{}'"), nullable=False))
        batch_op.create_index("ix_people_nation_id_latitude", ["nation_id", "latitude"], unique=False)
    _fill_new_columns()


def _coordinate(value: object, limit: float) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if -limit <= number <= limit else None


def _fill_new_columns() -> None:
    connection = op.get_bind()
    people = sa.table(
        "people",
        sa.column("id", ID),
        sa.column("email", sa.String()),
        sa.column("extra", JSON),
        sa.column("primary_address", JSON),
        sa.column("primary_email_id", sa.Integer()),
        sa.column("latitude", sa.Float()),
        sa.column("longitude", sa.Float()),
        *(sa.column(slot, sa.String()) for slot in EMAIL_SLOTS),
    )
    connection.execute(
        people.update().where(people.c.email.is_not(None)).values(email1=people.c.email, primary_email_id=1)
    )
    rows = connection.execute(
        sa.select(people.c.id, people.c.email, people.c.extra, people.c.primary_address).where(
            sa.or_(people.c.primary_address.is_not(None), sa.cast(people.c.extra, sa.Text).like('%"email%'))
        )
    )
    for person_id, email, extra, address in rows.all():
        values: dict[str, object] = {}
        extra = dict(extra or {})
        if any(slot in extra for slot in EMAIL_SLOTS):
            # Every slot key leaves extra, a null one too, so that none hides the new columns.
            moved = {slot: extra.pop(slot, None) for slot in EMAIL_SLOTS}
            values.update({slot: value for slot, value in moved.items() if value and slot != "email1"})
            values["extra"] = extra
            if email is None and values:
                first = min(slot for slot in values if slot in EMAIL_SLOTS)
                values.update(email=values[first], primary_email_id=int(first[-1]))
        if address:
            latitude = _coordinate(address.get("lat"), 90)
            longitude = _coordinate(address.get("lng"), 180)
            if latitude is not None and longitude is not None:
                values.update(latitude=latitude, longitude=longitude)
        if values:
            connection.execute(people.update().where(people.c.id == person_id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("people", table_kwargs=PEOPLE_TABLE) as batch_op:
        batch_op.drop_index("ix_people_nation_id_latitude")
        for name in ("custom_values", "longitude", "latitude", "primary_email_id", *BAD_FLAGS, *EMAIL_SLOTS):
            batch_op.drop_column(name)
    op.drop_table("custom_fields")
