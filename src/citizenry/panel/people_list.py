"""The table of a nation's people on the People page: search, filters and keyset paging.

The search matches every word of ``q`` against the first name, the last name or the e-mail
address, ignoring case. The filters are a tag's exact name, a list, and a date or time since
which the person was updated, read by the same rule as ``updated_since`` of
``GET /api/v1/people/search``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.requests import Request

from citizenry.api.errors import BadRequest
from citizenry.api.pagination import read_page
from citizenry.api.people import tags_by_person
from citizenry.api.person_write import MAX_STRING
from citizenry.api.search import apply_filters
from citizenry.panel.pages import path_for
from citizenry.panel.paging import opened_page, page_tokens
from citizenry.store.models import ListMembership, PeopleList, Person, Tag, Tagging

#: The query string parameters of the search form.
FILTER_NAMES = ("q", "tag", "list", "updated_since")
#: At most this many tags and lists are offered as choices in the filter form. The links of the
#: Tags and Lists pages filter by any tag or list.
MAX_CHOICES = 500


@dataclass(frozen=True)
class PersonRow:
    person: Person
    tags: list[str]

    @property
    def name(self) -> str:
        return display_name(self.person)


def display_name(person: Person) -> str:
    """Return the name the panel shows for a person: the full name, else the e-mail address or id."""
    name = " ".join(part for part in (person.first_name, person.last_name) if part)
    return name or person.email or f"Person {person.id}"


@dataclass
class PeopleTable:
    """One page of the people table, with the filters it shows and any problem with them."""

    filters: dict[str, str]
    #: Problems with the filters, by filter name.
    errors: dict[str, list[str]] = field(default_factory=dict)
    rows: list[PersonRow] = field(default_factory=list)
    next: str | None = None
    prev: str | None = None
    tag_names: list[str] = field(default_factory=list)
    lists: list[PeopleList] = field(default_factory=list)

    @property
    def is_filtered(self) -> bool:
        return any(self.filters.values())

    @property
    def list_options(self) -> list[tuple[str, str]]:
        return [(str(row.id), row.name) for row in self.lists]


def _read_filters(params: QueryParams) -> dict[str, str]:
    """Return the filters the query string sets; empty ones are left out of page links."""
    values = {name: params.get(name, "").strip() for name in FILTER_NAMES}
    return {name: value for name, value in values.items() if value}


def _search(query: Select[Any], text: str) -> Select[Any]:
    for word in text.split():
        pattern = word.lower()
        query = query.where(
            or_(
                func.lower(Person.first_name).contains(pattern, autoescape=True),
                func.lower(Person.last_name).contains(pattern, autoescape=True),
                func.lower(Person.email).contains(pattern, autoescape=True),
            )
        )
    return query


def _filtered(
    session: Session, nation_id: int, filters: dict[str, str], errors: dict[str, list[str]]
) -> Select[Any] | None:
    """Return the query of the people that pass ``filters``, or None when one of them is invalid."""
    query = select(Person).where(Person.nation_id == nation_id)
    for name in ("q", "tag"):
        if len(filters[name]) > MAX_STRING or "\x00" in filters[name]:
            errors[name] = [f"Enter at most {MAX_STRING} characters."]
    if filters["q"] and "q" not in errors:
        query = _search(query, filters["q"])
    if filters["tag"] and "tag" not in errors:
        tag_id = session.scalar(select(Tag.id).where(Tag.nation_id == nation_id, Tag.name == filters["tag"]))
        if tag_id is None:
            errors["tag"] = ["No tag has this name. Choose one of the suggested tags, or clear the field."]
        query = query.where(Person.id.in_(select(Tagging.person_id).where(Tagging.tag_id == tag_id)))
    if filters["list"]:
        list_id = _list_id(session, nation_id, filters["list"])
        if list_id is None:
            errors["list"] = ["This list no longer exists. Choose another list."]
        members = select(ListMembership.person_id).where(ListMembership.list_id == list_id)
        query = query.where(Person.id.in_(members))
    if filters["updated_since"]:
        try:
            query = apply_filters(query, {"updated_since": filters["updated_since"]}, {})
        except BadRequest:
            errors["updated_since"] = ["Enter a date as YYYY-MM-DD, or a date and time in ISO 8601."]
    return None if errors else query


def _list_id(session: Session, nation_id: int, value: str) -> int | None:
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        return None
    return session.scalar(
        select(PeopleList.id).where(PeopleList.nation_id == nation_id, PeopleList.id == int(value))
    )


def load_people_table(session: Session, request: Request, nation_id: int) -> PeopleTable:
    """Read the page of people that the request's query string selects."""
    tokens = page_tokens(request, nation_id, "people")
    page = opened_page(tokens, request.query_params, _read_filters(request.query_params))
    filters = {name: page.filters.get(name, "") for name in FILTER_NAMES}
    table = PeopleTable(filters=filters)

    query = _filtered(session, nation_id, filters, table.errors)
    if query is not None:
        listing = read_page(
            session, query, Person.id, page, tokens=tokens, path=path_for(request, "/admin/people")
        )
        tags = tags_by_person(session, [person.id for person in listing.rows])
        table.rows = [PersonRow(person=person, tags=sorted(tags[person.id])) for person in listing.rows]
        table.next, table.prev = listing.next, listing.prev

    tag_names = select(Tag.name).where(Tag.nation_id == nation_id).order_by(Tag.name)
    table.tag_names = list(session.scalars(tag_names.limit(MAX_CHOICES)))
    table.lists = list(
        session.scalars(
            select(PeopleList)
            .where(PeopleList.nation_id == nation_id)
            .order_by(PeopleList.name, PeopleList.id)
            .limit(MAX_CHOICES)
        )
    )
    chosen = _list_id(session, nation_id, filters["list"])
    if chosen is not None and chosen not in {row.id for row in table.lists}:
        table.lists.append(session.get_one(PeopleList, chosen))
    return table
