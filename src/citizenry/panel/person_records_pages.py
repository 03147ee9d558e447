"""People > one person: adding and removing tags, and adding notes and contacts.

Each form posts to its own address and, when the values are valid, the browser is redirected
back to the person page. Invalid values show the person page again, with the problem next to
the form and the typed text kept. The checks are the API's, from ``PUT /people/{id}/taggings``,
``POST /people/{id}/notes`` and ``POST /people/{id}/contacts``.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry import audit
from citizenry.api.errors import ValidationFailed
from citizenry.api.people_write import add_tags
from citizenry.api.person_records import CONTACT_METHODS, CONTACT_STATUSES, record_choice, record_text
from citizenry.api.person_write import MAX_STRING, MAX_TEXT
from citizenry.api.tags import remove_tags, tag_names
from citizenry.context import app_database
from citizenry.panel.access import Member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.notices import redirect_done
from citizenry.panel.person_pages import (
    BASE,
    PersonPage,
    RecordForms,
    admin_member,
    load_person_page,
    person_of,
    render_person_page,
)
from citizenry.store.models import Contact, Note, Person, Tag, Tagging

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


def _author_id(session: Session, member: Member) -> int | None:
    """Return the signed-in user's own person record in the nation, matched by e-mail address.

    This is the rule the API uses for the author of a note made with a user's token.
    """
    return session.scalar(
        select(Person.id)
        .where(Person.nation_id == member.nation.id, func.lower(Person.email) == member.user.email)
        .order_by(Person.id)
        .limit(1)
    )


async def _show_errors(request: Request, person_id: int, forms: RecordForms) -> Response:
    """Show the person page again with the problems of the form that was sent, and its values."""
    logger.info("%s rejected for person id=%s: %s", request.url.path, person_id, sorted(forms.errors))

    def load(session: Session) -> PersonPage:
        member = admin_member(session, request)
        return load_person_page(session, member, person_of(session, member, person_id))

    page = await app_database(request).run(load)
    return render_person_page(request, page, status=400, forms=forms)


def _has_tag(session: Session, person: Person, name: str) -> bool:
    query = (
        select(Tagging.id)
        .join(Tag, Tag.id == Tagging.tag_id)
        .where(Tag.nation_id == person.nation_id, Tag.name == name, Tagging.person_id == person.id)
    )
    return session.scalar(query) is not None


@router.post(f"{BASE}/{{person_id:int}}/tags")
async def add_tag(request: Request, person_id: int) -> Response:
    data = await checked_form(request)
    tag = form_field(data, "tag")

    def write(session: Session) -> tuple[str, str | None]:
        member = admin_member(session, request)
        person = person_of(session, member, person_id)
        try:
            name = tag_names(tag)[0]
        except ValidationFailed:
            return "", f"Enter a tag name of 1 to {MAX_STRING} characters."
        if _has_tag(session, person, name):
            return "already_tagged", None
        add_tags(session, person, [name])
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="person.tagged",
            actor_user_id=member.user.id,
            person_id=person.id,
            tag=name,
        )
        return "tagged", None

    done, error = await app_database(request).run(write)
    if error:
        forms = RecordForms(values={"tag": tag}, errors={"tag": [error]})
        return await _show_errors(request, person_id, forms)
    return redirect_done(request, f"{BASE}/{person_id}", done)


@router.post(f"{BASE}/{{person_id:int}}/tags/remove")
async def remove_tag(request: Request, person_id: int) -> Response:
    data = await checked_form(request)
    tag = form_field(data, "tag")

    def write(session: Session) -> str:
        member = admin_member(session, request)
        person = person_of(session, member, person_id)
        # PostgreSQL rejects text with NUL in a query, and no tag name contains one.
        if "\x00" in tag or not _has_tag(session, person, tag):
            return "not_tagged"
        remove_tags(session, person, [tag])
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="person.untagged",
            actor_user_id=member.user.id,
            person_id=person.id,
            tag=tag,
        )
        return "untagged"

    done = await app_database(request).run(write)
    return redirect_done(request, f"{BASE}/{person_id}", done)


@router.post(f"{BASE}/{{person_id:int}}/notes")
async def add_note(request: Request, person_id: int) -> Response:
    data = await checked_form(request)
    content = form_field(data, "content")

    def write(session: Session) -> str | None:
        member = admin_member(session, request)
        person = person_of(session, member, person_id)
        errors: list[str] = []
        record_text({"content": content}, "content", errors, required=True)
        if errors or not content.strip():
            return f"Write the note: 1 to {MAX_TEXT} characters."
        note = Note(
            nation_id=member.nation.id,
            person_id=person.id,
            author_id=_author_id(session, member),
            content=content,
        )
        session.add(note)
        session.flush()
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="person.note_added",
            actor_user_id=member.user.id,
            person_id=person.id,
            note_id=note.id,
        )
        return None

    error = await app_database(request).run(write)
    if error:
        forms = RecordForms(values={"content": content}, errors={"content": [error]})
        return await _show_errors(request, person_id, forms)
    return redirect_done(request, f"{BASE}/{person_id}", "note_added")


def _contact_errors(fields: dict[str, str | None]) -> dict[str, list[str]]:
    """Check a contact with the API's rules, and ask for a method, which the API leaves optional."""
    errors: dict[str, list[str]] = {}
    for name, allowed, message in (
        ("method", CONTACT_METHODS, "Choose one of the listed methods."),
        ("status", CONTACT_STATUSES, "Choose one of the listed results."),
    ):
        problems: list[str] = []
        record_choice(fields, name, allowed, problems)
        if problems:
            errors[name] = [message]
    problems = []
    record_text(fields, "note", problems, required=False)
    if problems:
        errors["note"] = [f"Enter at most {MAX_TEXT} characters."]
    if fields["method"] is None:
        errors["method"] = ["Choose how you contacted this person."]
    return errors


@router.post(f"{BASE}/{{person_id:int}}/contacts")
async def add_contact(request: Request, person_id: int) -> Response:
    data = await checked_form(request)
    values = {name: form_field(data, name) for name in ("method", "status", "note")}

    def write(session: Session) -> dict[str, list[str]]:
        member = admin_member(session, request)
        person = person_of(session, member, person_id)
        fields = {name: value or None for name, value in values.items()}
        errors = _contact_errors(fields)
        if errors:
            return errors

        contact = Contact(
            nation_id=member.nation.id,
            person_id=person.id,
            method=fields["method"],
            status=fields["status"],
            note=fields["note"],
            sender_id=_author_id(session, member),
        )
        session.add(contact)
        session.flush()
        audit.record(
            session,
            nation_id=member.nation.id,
            kind="person.contact_added",
            actor_user_id=member.user.id,
            person_id=person.id,
            contact_id=contact.id,
        )
        return {}

    errors = await app_database(request).run(write)
    if errors:
        return await _show_errors(request, person_id, RecordForms(values=values, errors=errors))
    return redirect_done(request, f"{BASE}/{person_id}", "contact_added")
