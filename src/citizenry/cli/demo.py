"""The demo nation: an admin, a staffer and a few hundred realistic fake people."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from faker import Faker
from sqlalchemy.orm import Session

from citizenry.api.person_emails import one_address
from citizenry.store.models import Nation, Person, Tag, Tagging
from citizenry.tenancy.nations import create_nation, find_nation
from citizenry.tenancy.users import add_membership, create_user

logger = logging.getLogger(__name__)

DEMO_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_STAFFER_EMAIL = "staffer@demo.example"
#: Latitude and longitude of the demo people's city (New York).
DEMO_CENTRE = (40.7128, -74.006)
#: The demo accounts' password. The demo is for a developer's own machine only.
DEMO_PASSWORD = "citizenry-demo"  # noqa: S105
DEMO_TAGS = (
    "volunteer",
    "donor",
    "newsletter",
    "phone bank",
    "event: spring rally",
    "needs follow-up",
)


@dataclass(frozen=True)
class DemoNation:
    nation: Nation
    created: bool


def _fake_person(fake: Faker, rng: random.Random, nation_id: int) -> Person:
    first, last = fake.first_name(), fake.last_name()
    has_email = rng.random() < 0.9
    # Around one city, so that /people/nearby finds some of them.
    latitude, longitude = DEMO_CENTRE[0] + rng.uniform(-0.3, 0.3), DEMO_CENTRE[1] + rng.uniform(-0.3, 0.3)
    return Person(
        nation_id=nation_id,
        first_name=first,
        last_name=last,
        **one_address(f"{first}.{last}.{rng.randrange(10**6)}@example.org".lower() if has_email else None),
        phone=fake.phone_number() if rng.random() < 0.6 else None,
        mobile=fake.phone_number() if rng.random() < 0.4 else None,
        employer=fake.company() if rng.random() < 0.5 else None,
        occupation=fake.job() if rng.random() < 0.5 else None,
        sex=rng.choice(["M", "F", "O", None]),
        birthdate=fake.date_of_birth(minimum_age=18, maximum_age=90) if rng.random() < 0.7 else None,
        email_opt_in=has_email and rng.random() < 0.6,
        mobile_opt_in=rng.random() < 0.3,
        is_volunteer=rng.random() < 0.2,
        support_level=rng.choice([1, 2, 3, 4, 5, None]),
        primary_address={
            "address1": fake.street_address(),
            "address2": None,
            "address3": None,
            "city": fake.city(),
            "state": fake.state_abbr(),
            "country_code": "US",
            "zip": fake.postcode(),
            "lat": f"{latitude:.7f}",
            "lng": f"{longitude:.7f}",
        },
        latitude=round(latitude, 7),
        longitude=round(longitude, 7),
    )


def seed_demo(session: Session, *, people: int = 300, seed: int = 2026) -> DemoNation:
    """Create the demo nation unless it exists. The same seed gives the same people."""
    existing = find_nation(session, DEMO_SLUG)
    if existing is not None:
        return DemoNation(nation=existing, created=False)

    nation = create_nation(session, slug=DEMO_SLUG, name="Demo Nation", plan="enterprise")
    admin = create_user(
        session,
        email=DEMO_ADMIN_EMAIL,
        password=DEMO_PASSWORD,
        full_name="Demo Admin",
        is_certified_developer=True,
    )
    add_membership(session, user=admin, nation=nation, level="admin")
    staffer = create_user(session, email=DEMO_STAFFER_EMAIL, password=DEMO_PASSWORD, full_name="Demo Staffer")
    add_membership(session, user=staffer, nation=nation, level="staffer")

    # The members are people of the nation too, so /api/v1/people/me finds their records.
    session.add_all(
        [
            Person(
                nation_id=nation.id, first_name="Demo", last_name="Admin", **one_address(DEMO_ADMIN_EMAIL)
            ),
            Person(
                nation_id=nation.id, first_name="Demo", last_name="Staffer", **one_address(DEMO_STAFFER_EMAIL)
            ),
        ]
    )
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows = [_fake_person(fake, rng, nation.id) for _ in range(people)]
    session.add_all(rows)
    tags = [Tag(nation_id=nation.id, name=name) for name in DEMO_TAGS]
    session.add_all(tags)
    session.flush()
    for person in rows:
        for tag in rng.sample(tags, k=rng.choice([0, 0, 1, 1, 2])):
            session.add(Tagging(person_id=person.id, tag_id=tag.id))
    session.flush()
    logger.info("seeded demo nation id=%s with %s people", nation.id, people)
    return DemoNation(nation=nation, created=True)
