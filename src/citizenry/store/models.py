"""The database schema. Every secret value (client secret, code, token) is stored as a SHA-256 digest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from citizenry.store.types import IdType, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PLANS = ("starter", "pathfinder", "organizer", "enterprise", "network")
PERMISSION_LEVELS = ("admin", "staffer")

JsonType = JSON().with_variant(JSONB(), "postgresql")
#: A SHA-256 digest, 32 bytes.
DigestType = LargeBinary(32)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _id() -> Mapped[int]:
    return mapped_column(IdType, primary_key=True, autoincrement=True)


def _created_at() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow)


def _flag(*, default: bool) -> Mapped[bool]:
    return mapped_column(
        Boolean, nullable=False, default=default, server_default=true() if default else false()
    )


def _nation_id() -> Mapped[int]:
    return mapped_column(ForeignKey("nations.id", ondelete="CASCADE"), nullable=False)


class Nation(Base):
    __tablename__ = "nations"
    __table_args__ = (CheckConstraint(f"plan IN {PLANS!r}", name="plan"),)

    id: Mapped[int] = _id()
    slug: Mapped[str] = mapped_column(String(63), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    plan: Mapped[str] = mapped_column(String(20), nullable=False, default="starter")
    #: The strict OAuth profile (OAuth 2.1-like) for every app on this nation.
    strict_profile: Mapped[bool] = _flag(default=False)
    #: A nation a certified developer created for testing apps.
    is_sandbox: Mapped[bool] = _flag(default=False)
    created_at: Mapped[datetime] = _created_at()


class User(Base):
    """A person who signs in to the control panel. ``email`` is stored lower-cased."""

    __tablename__ = "users"

    id: Mapped[int] = _id()
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_certified_developer: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created_at()


class Membership(Base):
    """A user's permission level in one nation."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "nation_id"),
        CheckConstraint(f"permission_level IN {PERMISSION_LEVELS!r}", name="permission_level"),
    )

    id: Mapped[int] = _id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    nation_id: Mapped[int] = _nation_id()
    permission_level: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class PermissionSet(Base):
    """The switches of one permission level in one nation. Missing rows take the defaults."""

    __tablename__ = "permission_sets"
    __table_args__ = (
        UniqueConstraint("nation_id", "level"),
        CheckConstraint(f"level IN {PERMISSION_LEVELS!r}", name="level"),
    )

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    level: Mapped[str] = mapped_column(String(20), nullable=False)
    #: Members at this level may use the API, with test tokens or through apps.
    api: Mapped[bool] = _flag(default=True)
    #: Members at this level may authorize apps on the nation.
    sign_into_apps: Mapped[bool] = _flag(default=False)


class App(Base):
    """An OAuth client, registered by a developer on their own nation and authorizable on any nation."""

    __tablename__ = "apps"

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    #: NULL for a public app, which has no secret and must use PKCE.
    client_secret_digest: Mapped[bytes | None] = mapped_column(DigestType)
    #: Issue tokens that never expire and come without a refresh token, as older apps had.
    legacy_tokens: Mapped[bool] = _flag(default=False)
    #: Accept the PKCE method "plain" besides S256 (never in the strict profile).
    allow_plain_pkce: Mapped[bool] = _flag(default=False)
    #: The strict OAuth profile for this app, whatever its nation's setting.
    strict_profile: Mapped[bool] = _flag(default=False)
    created_at: Mapped[datetime] = _created_at()

    @property
    def is_public(self) -> bool:
        return self.client_secret_digest is None

    redirect_uris: Mapped[list[RedirectUri]] = relationship(
        order_by="RedirectUri.id", cascade="all, delete-orphan", lazy="selectin"
    )


class RedirectUri(Base):
    __tablename__ = "redirect_uris"
    __table_args__ = (UniqueConstraint("app_id", "uri"),)

    id: Mapped[int] = _id()
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    uri: Mapped[str] = mapped_column(String(2000), nullable=False)


class Authorization(Base):
    """One grant of an app on a nation by a member: the family its codes and tokens belong to."""

    __tablename__ = "authorizations"
    __table_args__ = (Index("ix_authorizations_nation_id_app_id", "nation_id", "app_id"),)

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    scope: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _authorization_id() -> Mapped[int]:
    return mapped_column(ForeignKey("authorizations.id", ondelete="CASCADE"), nullable=False, index=True)


def _app_id() -> Mapped[int]:
    return mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    id: Mapped[int] = _id()
    authorization_id: Mapped[int] = _authorization_id()
    nation_id: Mapped[int] = _nation_id()
    app_id: Mapped[int] = _app_id()
    code_digest: Mapped[bytes] = mapped_column(DigestType, nullable=False, unique=True)
    #: The redirect URI sent with the authorization request, or NULL when none was sent.
    redirect_uri: Mapped[str | None] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessToken(Base):
    __tablename__ = "access_tokens"

    id: Mapped[int] = _id()
    authorization_id: Mapped[int] = _authorization_id()
    nation_id: Mapped[int] = _nation_id()
    app_id: Mapped[int] = _app_id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    token_digest: Mapped[bytes] = mapped_column(DigestType, nullable=False, unique=True)
    scope: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    created_at: Mapped[datetime] = _created_at()
    #: NULL for a legacy token that never expires.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = _id()
    authorization_id: Mapped[int] = _authorization_id()
    nation_id: Mapped[int] = _nation_id()
    app_id: Mapped[int] = _app_id()
    access_token_id: Mapped[int] = mapped_column(
        ForeignKey("access_tokens.id", ondelete="CASCADE"), nullable=False
    )
    token_digest: Mapped[bytes] = mapped_column(DigestType, nullable=False, unique=True)
    created_at: Mapped[datetime] = _created_at()
    #: Set when the token was exchanged for a new pair; presenting it again is reuse.
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TestToken(Base):
    """An API token a nation's admin creates for their own nation under Settings > Developer."""

    __tablename__ = "test_tokens"
    __test__ = False  # not a pytest test class

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    token_digest: Mapped[bytes] = mapped_column(DigestType, nullable=False, unique=True)
    #: The first characters of the token, shown in listings so an admin can tell tokens apart.
    token_prefix: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _text() -> Mapped[str | None]:
    return mapped_column(String(255))


class Person(Base):
    """A person in a nation's database, with the fields of NationBuilder's abbreviated representation."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_nation_id_id", "nation_id", "id"),
        Index("ix_people_nation_id_email", "nation_id", "email"),
        Index("ix_people_nation_id_external_id", "nation_id", "external_id"),
        Index("ix_people_nation_id_latitude", "nation_id", "latitude"),
        # Ids are never given to another person after a delete, as on PostgreSQL.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    first_name: Mapped[str | None] = _text()
    middle_name: Mapped[str | None] = _text()
    last_name: Mapped[str | None] = _text()
    #: The address reads return as ``email``: the primary one unless it is bad, else the first good
    #: one. It is derived from the four slots below on every write, and push and match use it.
    email: Mapped[str | None] = mapped_column(String(254))
    email1: Mapped[str | None] = mapped_column(String(254))
    email2: Mapped[str | None] = mapped_column(String(254))
    email3: Mapped[str | None] = mapped_column(String(254))
    email4: Mapped[str | None] = mapped_column(String(254))
    email1_is_bad: Mapped[bool] = _flag(default=False)
    email2_is_bad: Mapped[bool] = _flag(default=False)
    email3_is_bad: Mapped[bool] = _flag(default=False)
    email4_is_bad: Mapped[bool] = _flag(default=False)
    #: The slot (1 to 4) of the primary address, or NULL when the person has none.
    primary_email_id: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = _text()
    mobile: Mapped[str | None] = _text()
    work_phone_number: Mapped[str | None] = _text()
    employer: Mapped[str | None] = _text()
    occupation: Mapped[str | None] = _text()
    note: Mapped[str | None] = mapped_column(Text)
    party: Mapped[str | None] = mapped_column(String(1))
    sex: Mapped[str | None] = mapped_column(String(1))
    birthdate: Mapped[date | None] = mapped_column(Date)

    email_opt_in: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    mobile_opt_in: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    do_not_call: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    has_facebook: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_twitter_follower: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_volunteer: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    support_level: Mapped[int | None] = mapped_column(Integer)
    signup_type: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: The primary address as NationBuilder's address object (``address1``, ``city``, ``lat``, ...).
    primary_address: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    #: The primary address's coordinates as numbers, for /people/nearby; derived on every write.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    precinct_id: Mapped[int | None] = mapped_column(Integer)
    recruiter_id: Mapped[int | None] = mapped_column(Integer)

    civicrm_id: Mapped[str | None] = _text()
    county_file_id: Mapped[str | None] = _text()
    datatrust_id: Mapped[str | None] = _text()
    dw_id: Mapped[str | None] = _text()
    external_id: Mapped[str | None] = _text()
    linkedin_id: Mapped[str | None] = _text()
    nbec_guid: Mapped[str | None] = _text()
    ngp_id: Mapped[str | None] = _text()
    pf_strat_id: Mapped[str | None] = _text()
    rnc_id: Mapped[str | None] = _text()
    rnc_regid: Mapped[str | None] = _text()
    salesforce_id: Mapped[str | None] = _text()
    state_file_id: Mapped[str | None] = _text()
    twitter_id: Mapped[str | None] = _text()
    twitter_name: Mapped[str | None] = _text()
    van_id: Mapped[str | None] = _text()

    city_district: Mapped[str | None] = _text()
    county_district: Mapped[str | None] = _text()
    federal_district: Mapped[str | None] = _text()
    fire_district: Mapped[str | None] = _text()
    judicial_district: Mapped[str | None] = _text()
    labour_region: Mapped[str | None] = _text()
    school_district: Mapped[str | None] = _text()
    school_sub_district: Mapped[str | None] = _text()
    state_lower_district: Mapped[str | None] = _text()
    state_upper_district: Mapped[str | None] = _text()
    supranational_district: Mapped[str | None] = _text()
    village_district: Mapped[str | None] = _text()
    ward: Mapped[str | None] = _text()

    #: Writable fields of the full representation that have no column of their own, by name.
    extra: Mapped[dict[str, Any]] = mapped_column(
        JsonType, nullable=False, default=dict, server_default=text("'{}'")
    )
    #: Values of the nation's custom fields, keyed by the field's id as a string, so that a deleted
    #: field's values never come back under a new field with the same slug.
    custom_values: Mapped[dict[str, Any]] = mapped_column(
        JsonType, nullable=False, default=dict, server_default=text("'{}'")
    )


CUSTOM_FIELD_TYPES = ("text", "number", "checkbox")


class CustomField(Base):
    """A field a nation adds to its people; its slug is a key of the person resource."""

    __tablename__ = "custom_fields"
    __table_args__ = (
        UniqueConstraint("nation_id", "slug"),
        CheckConstraint(f"type IN {CUSTOM_FIELD_TYPES!r}", name="type"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    slug: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("nation_id", "name"),)

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    name: Mapped[str] = mapped_column(String(255), nullable=False)


class Tagging(Base):
    __tablename__ = "taggings"
    __table_args__ = (UniqueConstraint("person_id", "tag_id"),)

    id: Mapped[int] = _id()
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class AuditEvent(Base):
    """Something that happened to an app, a secret, an authorization or a token on a nation."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_nation_id_id", "nation_id", "id"),)

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    kind: Mapped[str] = mapped_column(String(50), nullable=False)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id", ondelete="SET NULL"))
    #: Ids and names only; never a secret, code or token.
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, nullable=False, default=dict)
    created_at: Mapped[datetime] = _created_at()


class PeopleList(Base):
    """A named list of a nation's people (NationBuilder's "list")."""

    __tablename__ = "lists"
    __table_args__ = (UniqueConstraint("nation_id", "slug"), {"sqlite_autoincrement": True})

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    slug: Mapped[str] = mapped_column(String(255), nullable=False)
    #: The person who made the list, or NULL.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created_at()


class ListMembership(Base):
    __tablename__ = "list_memberships"
    __table_args__ = (UniqueConstraint("list_id", "person_id"),)

    id: Mapped[int] = _id()
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = _created_at()


def _person_id() -> Mapped[int]:
    return mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)


def _author_id() -> Mapped[int | None]:
    return mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class Note(Base):
    """A private note on a person."""

    __tablename__ = "notes"

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    person_id: Mapped[int] = _person_id()
    author_id: Mapped[int | None] = _author_id()
    content: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Capital(Base):
    """Political capital given to or spent by a person, in cents."""

    __tablename__ = "capitals"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    person_id: Mapped[int] = _person_id()
    author_id: Mapped[int | None] = _author_id()
    type: Mapped[str] = mapped_column(String(50), nullable=False, default="adjustment")
    amount_in_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class Contact(Base):
    """A contact with a person: a call, a visit, an e-mail."""

    __tablename__ = "contacts"

    id: Mapped[int] = _id()
    nation_id: Mapped[int] = _nation_id()
    person_id: Mapped[int] = _person_id()
    type_id: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str | None] = mapped_column(String(50))
    sender_id: Mapped[int | None] = _author_id()
    status: Mapped[str | None] = mapped_column(String(50))
    broadcaster_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
