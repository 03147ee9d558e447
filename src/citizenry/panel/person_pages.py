"""People > one person: the person page, the new person and edit forms, and deletion.

Saving goes through the API's validation and write functions, so the panel and
``POST``/``PUT /api/v1/people`` accept and reject the same values. Every change is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry import audit
from citizenry.api.errors import ValidationFailed
from citizenry.api.people import tags_by_person
from citizenry.api.people_write import add_tags
from citizenry.api.person_custom import custom_values_json, load_custom_fields
from citizenry.api.person_emails import STORED_COLUMNS, emails_json
from citizenry.api.person_json import PLAIN_FIELDS
from citizenry.api.person_records import CONTACT_METHODS, CONTACT_STATUSES
from citizenry.api.person_write import apply_changes, check_identity, validate_person
from citizenry.context import app_database, nation_route
from citizenry.panel.access import Member, load_member
from citizenry.panel.forms import checked_form
from citizenry.panel.notices import notice_of, redirect_done
from citizenry.panel.pages import PanelError, render
from citizenry.panel.people_list import MAX_CHOICES, display_name
from citizenry.panel.person_form import (
    ADDRESS_FIELDS,
    MAX_FORM_FIELDS,
    NAME_FIELDS,
    PHONE_FIELDS,
    PersonForm,
    address_input,
    custom_input,
    input_labels,
    person_body,
    person_form,
    submitted_form,
)
from citizenry.panel.session import signed_in
from citizenry.store.models import Contact, CustomField, ListMembership, Note, PeopleList, Person, Tag

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

BASE = "/admin/people"
#: Notes and contacts shown on the person page, newest first.
RECENT_RECORDS = 50
#: Fields the person page shows in its own places, left out of "More fields".
SHOWN_FIELDS = frozenset({*NAME_FIELDS, *PHONE_FIELDS, "email"})

NOTICES = {
    "created": "Person created. Add tags, notes and contacts below, or go back to People.",
    "updated": "Changes saved.",
    "tagged": "Tag added.",
    "already_tagged": "This person already has that tag; nothing changed.",
    "untagged": "Tag removed.",
    "not_tagged": "This person did not have that tag; nothing changed.",
    "note_added": "Note added.",
    "contact_added": "Contact recorded.",
}


def admin_member(session: Session, request: Request) -> Member:
    return load_member(session, nation_route(request), signed_in(request), admin=True)


def person_of(session: Session, member: Member, person_id: int) -> Person:
    query = select(Person).where(Person.nation_id == member.nation.id, Person.id == person_id)
    person = session.scalar(query)
    if person is None:
        raise PanelError(
            status=404,
            title="Person not found",
            message=f"{member.nation.name} has no person with the number {person_id}. "
            "They may have been deleted. Search for them on the People page.",
        )
    return person


@dataclass
class RecordForms:
    """The values and problems of the tag, note and contact forms of the person page."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PersonPage:
    """Everything the person page and the delete confirmation show about one person."""

    member: Member
    person: Person
    tags: list[str]
    emails: list[dict[str, Any]]
    custom: list[tuple[CustomField, Any]]
    more: list[tuple[str, str]]
    lists: list[PeopleList]
    notes: list[Note]
    note_count: int
    contacts: list[Contact]
    contact_count: int
    #: Names of the people who wrote the notes or made the contacts, by person id.
    authors: dict[int, str]
    tag_suggestions: list[str]

    @property
    def name(self) -> str:
        return display_name(self.person)


def _more_fields(person: Person) -> list[tuple[str, str]]:
    """Return the label and text of every other field that has a value."""
    values: dict[str, Any] = {
        name: getattr(person, name) for name in PLAIN_FIELDS if name not in SHOWN_FIELDS
    }
    values["birthdate"] = person.birthdate.isoformat() if person.birthdate else None
    values.update(person.extra or {})
    more = []
    for name, value in values.items():
        if isinstance(value, dict):
            value = ", ".join(str(part) for part in value.values() if part)
        if value is None or value == "" or value is False or (name == "signup_type" and value == 0):
            continue
        more.append((name.replace("_", " ").capitalize(), "Yes" if value is True else str(value)))
    return more


def load_person_page(session: Session, member: Member, person: Person) -> PersonPage:
    nation_id = member.nation.id
    custom_fields = load_custom_fields(session, nation_id)
    values = custom_values_json(person, custom_fields)
    notes = select(Note).where(Note.nation_id == nation_id, Note.person_id == person.id)
    contacts = select(Contact).where(Contact.nation_id == nation_id, Contact.person_id == person.id)
    page = PersonPage(
        member=member,
        person=person,
        tags=sorted(tags_by_person(session, [person.id])[person.id]),
        emails=emails_json({name: getattr(person, name) for name in STORED_COLUMNS}),
        custom=[(custom, values[slug]) for slug, custom in custom_fields.items()],
        more=_more_fields(person),
        lists=list(
            session.scalars(
                select(PeopleList)
                .join(ListMembership, ListMembership.list_id == PeopleList.id)
                .where(PeopleList.nation_id == nation_id, ListMembership.person_id == person.id)
                .order_by(PeopleList.name, PeopleList.id)
            )
        ),
        notes=list(session.scalars(notes.order_by(Note.id.desc()).limit(RECENT_RECORDS))),
        note_count=_count(session, notes),
        contacts=list(session.scalars(contacts.order_by(Contact.id.desc()).limit(RECENT_RECORDS))),
        contact_count=_count(session, contacts),
        authors={},
        tag_suggestions=list(
            session.scalars(
                select(Tag.name).where(Tag.nation_id == nation_id).order_by(Tag.name).limit(MAX_CHOICES)
            )
        ),
    )
    author_ids = {note.author_id for note in page.notes} | {contact.sender_id for contact in page.contacts}
    author_ids.discard(None)
    authors = select(Person).where(Person.nation_id == nation_id, Person.id.in_(author_ids))
    page.authors = {author.id: display_name(author) for author in session.scalars(authors)}
    return page


def _count(session: Session, query: Any) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _options(values: frozenset[str]) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ").capitalize()) for value in sorted(values)]


def render_person_page(
    request: Request, page: PersonPage, *, status: int = 200, forms: RecordForms | None = None
) -> Response:
    return render(
        request,
        "person.html",
        status=status,
        member=page.member,
        page=page,
        forms=forms or RecordForms(),
        notice=notice_of(request, NOTICES) if status == 200 else None,
        method_options=_options(CONTACT_METHODS),
        status_options=_options(CONTACT_STATUSES),
    )


@router.get(f"{BASE}/{{person_id:int}}")
async def person_page(request: Request, person_id: int) -> Response:
    def load(session: Session) -> PersonPage:
        member = admin_member(session, request)
        return load_person_page(session, member, person_of(session, member, person_id))

    return render_person_page(request, await app_database(request).run(load))


def _render_form(
    request: Request,
    member: Member,
    form: PersonForm,
    custom_fields: dict[str, CustomField],
    *,
    person: Person | None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "person_form.html",
        status=status,
        member=member,
        person=person,
        person_name=display_name(person) if person else None,
        form=form,
        labels=input_labels(custom_fields),
        name_fields=list(NAME_FIELDS),
        phone_fields=list(PHONE_FIELDS),
        address_inputs=[address_input(key) for key in ADDRESS_FIELDS],
        custom_fields=[(custom_input(slug), custom) for slug, custom in custom_fields.items()],
    )


@router.get(f"{BASE}/new")
async def new_person_form(request: Request) -> Response:
    def load(session: Session) -> tuple[Member, dict[str, CustomField]]:
        member = admin_member(session, request)
        return member, load_custom_fields(session, member.nation.id)

    member, custom_fields = await app_database(request).run(load)
    return _render_form(request, member, person_form(None, custom_fields), custom_fields, person=None)


@router.post(f"{BASE}/new")
async def create_person(request: Request) -> Response:
    data = await checked_form(request, max_fields=MAX_FORM_FIELDS)

    def create(session: Session) -> tuple[Member, dict[str, CustomField], PersonForm, int | None]:
        member = admin_member(session, request)
        custom_fields = load_custom_fields(session, member.nation.id)
        form = submitted_form(data, person_form(None, custom_fields))
        person = Person(nation_id=member.nation.id, extra={})
        try:
            changes = validate_person(person_body(form, None, custom_fields), custom_fields)
            apply_changes(person, changes, overwrite=True)
            check_identity(person)
        except ValidationFailed as error:
            form.add_errors(error.extra["validation_errors"], custom_fields)
            logger.info("new person rejected on nation id=%s: %s", member.nation.id, sorted(form.errors))
            return member, custom_fields, form, None

        session.add(person)
        session.flush()
        add_tags(session, person, changes.tags)
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="person.created",
            actor_user_id=member.user.id,
            person_id=person.id,
        )
        return member, custom_fields, form, person.id

    member, custom_fields, form, person_id = await app_database(request).run(create)
    if person_id is None:
        return _render_form(request, member, form, custom_fields, person=None, status=400)
    return redirect_done(request, f"{BASE}/{person_id}", "created")


@router.get(f"{BASE}/{{person_id:int}}/edit")
async def edit_person_form(request: Request, person_id: int) -> Response:
    def load(session: Session) -> tuple[Member, Person, dict[str, CustomField]]:
        member = admin_member(session, request)
        return member, person_of(session, member, person_id), load_custom_fields(session, member.nation.id)

    member, person, custom_fields = await app_database(request).run(load)
    return _render_form(request, member, person_form(person, custom_fields), custom_fields, person=person)


#: Columns an edit may change, compared before and after to name them in the audit event.
_AUDITED_COLUMNS = (*NAME_FIELDS, *PHONE_FIELDS, *STORED_COLUMNS, "primary_address", "custom_values")


@router.post(f"{BASE}/{{person_id:int}}/edit")
async def update_person(request: Request, person_id: int) -> Response:
    data = await checked_form(request, max_fields=MAX_FORM_FIELDS)

    def update(session: Session) -> tuple[Member, Person, dict[str, CustomField], PersonForm, bool]:
        member = admin_member(session, request)
        person = person_of(session, member, person_id)
        custom_fields = load_custom_fields(session, member.nation.id)
        form = submitted_form(data, person_form(person, custom_fields))
        before = {name: getattr(person, name) for name in _AUDITED_COLUMNS}
        try:
            changes = validate_person(person_body(form, person, custom_fields), custom_fields)
            apply_changes(person, changes, overwrite=True)
            check_identity(person)
        except ValidationFailed as error:
            # Nothing was flushed yet: reloading the row drops the changes made to it in memory.
            session.refresh(person)
            form.add_errors(error.extra["validation_errors"], custom_fields)
            logger.info(
                "edit of person id=%s rejected on nation id=%s: %s",
                person.id,
                member.nation.id,
                sorted(form.errors),
            )
            return member, person, custom_fields, form, False

        changed = [name for name in _AUDITED_COLUMNS if getattr(person, name) != before[name]]
        if changed:
            audit.record(
                session,
                nation_id=member.nation.id,
                kind="person.updated",
                actor_user_id=member.user.id,
                person_id=person.id,
                fields=changed,
            )
        return member, person, custom_fields, form, True

    member, person, custom_fields, form, saved = await app_database(request).run(update)
    if not saved:
        return _render_form(request, member, form, custom_fields, person=person, status=400)
    return redirect_done(request, f"{BASE}/{person_id}", "updated")


@router.get(f"{BASE}/{{person_id:int}}/delete")
async def confirm_delete(request: Request, person_id: int) -> Response:
    def load(session: Session) -> PersonPage:
        member = admin_member(session, request)
        return load_person_page(session, member, person_of(session, member, person_id))

    page = await app_database(request).run(load)
    return render(request, "person_delete.html", member=page.member, page=page)


@router.post(f"{BASE}/{{person_id:int}}/delete")
async def delete_person(request: Request, person_id: int) -> Response:
    await checked_form(request)

    def remove(session: Session) -> None:
        member = admin_member(session, request)
        person = person_of(session, member, person_id)
        # Taggings, list memberships, notes and contacts go with the row (ON DELETE CASCADE).
        session.delete(person)
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="person.deleted",
            actor_user_id=member.user.id,
            person_id=person_id,
        )
        logger.info("deleted person id=%s on nation id=%s", person_id, member.nation.id)

    await app_database(request).run(remove)
    return redirect_done(request, BASE, "deleted")
