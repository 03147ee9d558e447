"""Lists: the nation's lists, a new list, and one list's page to rename it and add or remove people.

Memberships are written with the API's own function, so a person is on a list once however they
were added. People are added by id or e-mail address, one per line, all or none: a line that names
no one, or several people, stops the whole addition and is shown with its line number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fastapi import APIRouter
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry import audit
from citizenry.api.lists import MAX_PEOPLE_IDS, add_members, slug_taken, slugify
from citizenry.api.pagination import read_page
from citizenry.api.person_write import MAX_STRING
from citizenry.context import app_database
from citizenry.panel.access import Member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.notices import notice_of, redirect_done
from citizenry.panel.pages import PanelError, path_for, render
from citizenry.panel.paging import opened_page, page_tokens
from citizenry.panel.people_list import display_name
from citizenry.panel.person_pages import admin_member
from citizenry.store.models import ListMembership, PeopleList, Person

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

BASE = "/admin/lists"
SLUG_TAKEN = "Another list already has this slug. Choose a different one."
#: Problems shown at most for one addition of people; the rest are counted.
MAX_SHOWN_PROBLEMS = 20

NOTICES = {
    "created": "List created. Add people to it below.",
    "renamed": "List saved.",
    "added": "People added to the list.",
    "already_listed": "Everyone you entered was already on the list; nothing changed.",
    "removed": "Person removed from the list.",
    "not_listed": "That person was not on the list; nothing changed.",
}


@dataclass
class ListForms:
    """The values and problems of the forms of the Lists pages, by input name."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _counts(session: Session, list_ids: list[int]) -> dict[int, int]:
    query = (
        select(ListMembership.list_id, func.count())
        .where(ListMembership.list_id.in_(list_ids))
        .group_by(ListMembership.list_id)
    )
    return {list_id: count for list_id, count in session.execute(query)}


def _list_of(session: Session, member: Member, list_id: int) -> PeopleList:
    row = session.scalar(
        select(PeopleList).where(PeopleList.nation_id == member.nation.id, PeopleList.id == list_id)
    )
    if row is None:
        raise PanelError(
            status=404,
            title="List not found",
            message=f"{member.nation.name} has no list with the number {list_id}. It may have been "
            "deleted. Go back to Lists.",
        )
    return row


def _check_fields(
    session: Session, member: Member, row: PeopleList, name: str, slug: str
) -> dict[str, list[str]]:
    """Set a list's name and slug, with the rules of ``POST /api/v1/lists``; return the problems."""
    errors: dict[str, list[str]] = {}
    for key, value in (("name", name), ("slug", slug)):
        if len(value.strip()) > MAX_STRING or "\x00" in value:
            errors[key] = [f"Enter 1 to {MAX_STRING} characters."]
    if not name.strip():
        errors["name"] = ["Enter a name for the list."]
    if errors:
        return errors

    row.name = name.strip()
    row.slug = slug.strip() or slugify(row.name)
    if slug_taken(session, member.nation.id, row):
        errors["slug"] = [SLUG_TAKEN]
    return errors


def _saved(session: Session, row: PeopleList) -> bool:
    """Write the list; return False when another list took its slug since it was checked."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


# The table of lists, and a new list


@dataclass
class ListsTable:
    member: Member
    rows: list[tuple[PeopleList, int]]
    next: str | None
    prev: str | None


def _lists_table(session: Session, request: Request, member: Member) -> ListsTable:
    tokens = page_tokens(request, member.nation.id, "lists")
    page = opened_page(tokens, request.query_params, {})
    query = select(PeopleList).where(PeopleList.nation_id == member.nation.id)
    listing = read_page(session, query, PeopleList.id, page, tokens=tokens, path=path_for(request, BASE))
    counts = _counts(session, [row.id for row in listing.rows])
    rows = [(row, counts.get(row.id, 0)) for row in listing.rows]
    return ListsTable(member=member, rows=rows, next=listing.next, prev=listing.prev)


def _render_lists(request: Request, table: ListsTable, forms: ListForms) -> Response:
    if forms.errors:
        logger.info("new list rejected on nation id=%s: %s", table.member.nation.id, sorted(forms.errors))
    return render(
        request,
        "lists.html",
        status=400 if forms.errors else 200,
        member=table.member,
        table=table,
        forms=forms,
        notice=None if forms.errors else notice_of(request, NOTICES),
    )


@router.get(BASE)
async def lists_page(request: Request) -> Response:
    def load(session: Session) -> ListsTable:
        return _lists_table(session, request, admin_member(session, request))

    table = await app_database(request).run(load)
    return _render_lists(request, table, ListForms(values={"name": "", "slug": ""}))


@router.post(BASE)
async def create_list(request: Request) -> Response:
    data = await checked_form(request)
    forms = ListForms(values={name: form_field(data, name) for name in ("name", "slug")})

    def create(session: Session) -> tuple[ListsTable | None, int | None]:
        member = admin_member(session, request)
        row = PeopleList(nation_id=member.nation.id, name="", slug="")
        forms.errors = _check_fields(session, member, row, forms.values["name"], forms.values["slug"])
        if not forms.errors and not _saved(session, row):
            forms.errors = {"slug": [SLUG_TAKEN]}
        if forms.errors:
            return _lists_table(session, request, member), None
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="list.created",
            actor_user_id=member.user.id,
            list_id=row.id,
            name=row.name,
        )
        return None, row.id

    table, list_id = await app_database(request).run(create)
    if table is not None:
        return _render_lists(request, table, forms)
    return redirect_done(request, f"{BASE}/{list_id}", "created")


# One list


@dataclass
class ListPage:
    member: Member
    row: PeopleList
    count: int
    people: list[tuple[Person, str]]
    next: str | None
    prev: str | None


def _list_page(session: Session, request: Request, member: Member, row: PeopleList) -> ListPage:
    tokens = page_tokens(request, member.nation.id, f"list:{row.id}")
    page = opened_page(tokens, request.query_params, {})
    members = select(ListMembership.person_id).where(ListMembership.list_id == row.id)
    query = select(Person).where(Person.nation_id == member.nation.id, Person.id.in_(members))
    path = path_for(request, f"{BASE}/{row.id}")
    listing = read_page(session, query, Person.id, page, tokens=tokens, path=path)
    return ListPage(
        member=member,
        row=row,
        count=_counts(session, [row.id]).get(row.id, 0),
        people=[(person, display_name(person)) for person in listing.rows],
        next=listing.next,
        prev=listing.prev,
    )


def _render_list(request: Request, page: ListPage, forms: ListForms) -> Response:
    if forms.errors:
        logger.info("%s rejected for list id=%s: %s", request.url.path, page.row.id, sorted(forms.errors))
    values = {"name": page.row.name, "slug": page.row.slug, "people": "", **forms.values}
    return render(
        request,
        "list.html",
        status=400 if forms.errors else 200,
        member=page.member,
        page=page,
        forms=ListForms(values=values, errors=forms.errors),
        max_people=MAX_PEOPLE_IDS,
        notice=None if forms.errors else notice_of(request, NOTICES),
    )


@router.get(f"{BASE}/{{list_id:int}}")
async def list_page(request: Request, list_id: int) -> Response:
    def load(session: Session) -> ListPage:
        member = admin_member(session, request)
        return _list_page(session, request, member, _list_of(session, member, list_id))

    return _render_list(request, await app_database(request).run(load), ListForms())


@router.post(f"{BASE}/{{list_id:int}}")
async def rename_list(request: Request, list_id: int) -> Response:
    data = await checked_form(request)
    forms = ListForms(values={name: form_field(data, name) for name in ("name", "slug")})

    def write(session: Session) -> ListPage | None:
        member = admin_member(session, request)
        row = _list_of(session, member, list_id)
        old_name, old_slug = row.name, row.slug
        forms.errors = _check_fields(session, member, row, forms.values["name"], forms.values["slug"])
        if not forms.errors and not _saved(session, row):
            forms.errors = {"slug": [SLUG_TAKEN]}
        if forms.errors:
            session.refresh(row)
            return _list_page(session, request, member, row)
        if (row.name, row.slug) != (old_name, old_slug):
            audit.record(
                session,
                nation_id=member.nation.id,
                kind="list.renamed",
                actor_user_id=member.user.id,
                list_id=row.id,
                old_name=old_name,
                new_name=row.name,
                old_slug=old_slug,
                new_slug=row.slug,
            )
        return None

    page = await app_database(request).run(write)
    if page is not None:
        return _render_list(request, page, forms)
    return redirect_done(request, f"{BASE}/{list_id}", "renamed")


def _people_of_lines(session: Session, nation_id: int, text: str) -> tuple[list[int], list[str]]:
    """Find the people named on each line of ``text`` by id or e-mail address; return ids and problems."""
    ids: list[int] = []
    problems: list[str] = []
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        return [], ["Enter at least one person's id or e-mail address."]
    if len(lines) > MAX_PEOPLE_IDS:
        return [], [f"Enter at most {MAX_PEOPLE_IDS} people at a time."]
    for number, line in lines:
        people = select(Person.id).where(Person.nation_id == nation_id)
        if line.isascii() and line.isdigit() and len(line) <= 18:
            found = list(session.scalars(people.where(Person.id == int(line))))
        elif "@" in line and "\x00" not in line:
            found = list(session.scalars(people.where(func.lower(Person.email) == line.lower()).limit(2)))
        else:
            problems.append(f"Line {number}: enter a person's id or e-mail address.")
            continue
        if not found:
            problems.append(f"Line {number}: no person has the id or e-mail address {line}.")
        elif len(found) > 1:
            problems.append(f"Line {number}: several people have the e-mail address {line}; enter an id.")
        else:
            ids.append(found[0])
    if len(problems) > MAX_SHOWN_PROBLEMS:
        hidden = len(problems) - MAX_SHOWN_PROBLEMS
        problems = [*problems[:MAX_SHOWN_PROBLEMS], f"And {hidden} more lines with problems."]
    return sorted(set(ids)), problems


@router.post(f"{BASE}/{{list_id:int}}/people")
async def add_people(request: Request, list_id: int) -> Response:
    data = await checked_form(request)
    text = form_field(data, "people")

    def write(session: Session) -> tuple[ListPage | None, list[str], str]:
        member = admin_member(session, request)
        row = _list_of(session, member, list_id)
        person_ids, problems = _people_of_lines(session, member.nation.id, text)
        if problems:
            return _list_page(session, request, member, row), problems, ""
        present = set(
            session.scalars(
                select(ListMembership.person_id).where(
                    ListMembership.list_id == row.id, ListMembership.person_id.in_(person_ids)
                )
            )
        )
        added = [person_id for person_id in person_ids if person_id not in present]
        if not added:
            return None, [], "already_listed"
        add_members(session, row, added)
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="list.people_added",
            actor_user_id=member.user.id,
            list_id=row.id,
            person_ids=added,
        )
        return None, [], "added"

    page, problems, done = await app_database(request).run(write)
    if page is not None:
        return _render_list(request, page, ListForms(values={"people": text}, errors={"people": problems}))
    return redirect_done(request, f"{BASE}/{list_id}", done)


@router.post(f"{BASE}/{{list_id:int}}/people/remove")
async def remove_person(request: Request, list_id: int) -> Response:
    data = await checked_form(request)
    raw_id = form_field(data, "person_id")

    def write(session: Session) -> str:
        member = admin_member(session, request)
        row = _list_of(session, member, list_id)
        if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18):
            return "not_listed"
        membership = (ListMembership.list_id == row.id) & (ListMembership.person_id == int(raw_id))
        if session.scalar(select(ListMembership.id).where(membership)) is None:
            return "not_listed"
        session.execute(delete(ListMembership).where(membership))
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="list.people_removed",
            actor_user_id=member.user.id,
            list_id=row.id,
            person_ids=[int(raw_id)],
        )
        return "removed"

    done = await app_database(request).run(write)
    return redirect_done(request, f"{BASE}/{list_id}", done)
