"""Nations: look-up by slug and creation."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.errors import NationNotFound
from citizenry.store.models import PLANS, Nation
from citizenry.tenancy.resolve import NationRoute, is_valid_slug

logger = logging.getLogger(__name__)

#: Plans whose nations may use the developer tools without a certified developer.
DEVELOPER_PLANS = frozenset({"enterprise", "network"})


class InvalidNation(ValueError):
    """A slug, name or plan that a nation cannot have."""


def load_nation(session: Session, route: NationRoute) -> Nation:
    """Return the request's nation, or raise :class:`NationNotFound`."""
    if route.slug is None or not is_valid_slug(route.slug):
        raise NationNotFound(slug=route.slug)
    nation = session.scalar(select(Nation).where(Nation.slug == route.slug))
    if nation is None:
        raise NationNotFound(slug=route.slug)
    return nation


def find_nation(session: Session, slug: str) -> Nation | None:
    return session.scalar(select(Nation).where(Nation.slug == slug.lower()))


def create_nation(
    session: Session, *, slug: str, name: str, plan: str = "starter", is_sandbox: bool = False
) -> Nation:
    slug = slug.lower()
    if not is_valid_slug(slug):
        raise InvalidNation(
            f"invalid slug {slug!r}: use 1 to 63 lower-case letters, digits and inner hyphens"
        )
    if not name.strip():
        raise InvalidNation("a nation needs a name")
    if plan not in PLANS:
        raise InvalidNation(f"unknown plan {plan!r}; choose one of {', '.join(PLANS)}")
    if find_nation(session, slug) is not None:
        raise InvalidNation(f"a nation with the slug {slug!r} already exists")
    nation = Nation(slug=slug, name=name.strip(), plan=plan, is_sandbox=is_sandbox)
    session.add(nation)
    session.flush()
    logger.info("created nation id=%s slug=%s plan=%s", nation.id, slug, plan)
    return nation
