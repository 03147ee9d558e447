"""Records attached to a person in API v1: private notes, political capital and contacts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.api.access import Caller, authenticate_caller, owner_person, read_api_request
from citizenry.api.bodies import parse_root, read_body
from citizenry.api.errors import NotFound, ValidationFailed
from citizenry.api.pagination import PageTokens, page_request, read_page
from citizenry.api.people import find_person
from citizenry.api.person_json import iso_utc
from citizenry.api.person_write import MAX_TEXT
from citizenry.context import app_database, app_settings
from citizenry.json_codec import JSONResponse
from citizenry.store.models import Capital, Contact, Note, Person

router = APIRouter()

#: The largest political capital amount one record may carry, in cents.
#: The largest value the 32-bit integer columns (amounts, type and broadcaster ids) hold.
MAX_WHOLE = 2**31 - 1
CONTACT_METHODS = frozenset(
    {
        "delivery",
        "door_knock",
        "email",
        "email_blast",
        "face_to_face",
        "facebook",
        "meeting",
        "phone_call",
        "robocall",
        "snail_mail",
        "text",
        "text_blast",
        "tweet",
        "video_call",
        "webinar",
        "other",
    }
)
CONTACT_STATUSES = frozenset(
    {
        "answered",
        "bad_info",
        "inaccessible",
        "left_message",
        "meaningful_interaction",
        "not_interested",
        "no_answer",
        "refused",
        "send_information",
        "other",
    }
)


def author_of(session: Session, caller: Caller) -> int | None:
    """Return the id of the token owner's person record on this nation, if there is one."""
    person = owner_person(session, caller)
    return person.id if person is not None else None


def record_text(data: dict[str, Any], name: str, errors: list[str], *, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        errors.append(f"{name} must be text of at most {MAX_TEXT} characters")
        return None
    return value


def record_choice(data: dict[str, Any], name: str, allowed: frozenset[str], errors: list[str]) -> str | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or value not in allowed):
        errors.append(f"{name} must be one of {', '.join(sorted(allowed))}")
        return None
    return value


def _whole(data: dict[str, Any], name: str, errors: list[str], *, required: bool = False) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            errors.append(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_WHOLE:
        errors.append(f"{name} must be a whole number from {-MAX_WHOLE} to {MAX_WHOLE}")
        return None
    return value


def _note_json(note: Note) -> dict[str, Any]:
    return {"person_id": note.person_id, "author_id": note.author_id, "content": note.content}


def _capital_json(capital: Capital) -> dict[str, Any]:
    return {
        "id": capital.id,
        "person_id": capital.person_id,
        "author_id": capital.author_id,
        "type": capital.type,
        "amount_in_cents": capital.amount_in_cents,
        "created_at": iso_utc(capital.created_at),
        "content": capital.content,
    }


def _contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "type_id": contact.type_id,
        "method": contact.method,
        "sender_id": contact.sender_id,
        "recipient_id": contact.person_id,
        "status": contact.status,
        "broadcaster_id": contact.broadcaster_id,
        "note": contact.note,
        "created_at": iso_utc(contact.created_at),
    }


@router.post("/api/v1/people/{person_id}/notes")
async def notes_create(request: Request, person_id: str) -> JSONResponse:
    api_request = read_api_request(request)
    body = await read_body(request)

    def create(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        errors: list[str] = []
        content = record_text(parse_root(body, "note"), "content", errors, required=True)
        if errors or not content:
            raise ValidationFailed(errors or ["content must not be empty"])
        note = Note(
            nation_id=caller.nation.id,
            person_id=person.id,
            author_id=author_of(session, caller),
            content=content,
        )
        session.add(note)
        session.flush()
        return {"note": _note_json(note)}

    return JSONResponse(await app_database(request).run(create))


def _listing(
    request: Request, person_id: str, model: Any, listing: str, render: Callable[[Any], dict[str, Any]]
) -> Callable[[Session], dict[str, Any]]:
    api_request = read_api_request(request)
    params = request.query_params
    secret_key = app_settings(request).secret_key

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        tokens = PageTokens(secret_key, nation_id=caller.nation.id, listing=f"{listing}:{person.id}")
        query = select(model).where(model.nation_id == caller.nation.id, model.person_id == person.id)
        path = f"/api/v1/people/{person.id}/{listing}"
        page = read_page(session, query, model.id, page_request(tokens, params), tokens=tokens, path=path)
        return {"results": [render(row) for row in page.rows], "next": page.next, "prev": page.prev}

    return read


@router.get("/api/v1/people/{person_id}/capitals")
async def capitals_index(request: Request, person_id: str) -> JSONResponse:
    read = _listing(request, person_id, Capital, "capitals", _capital_json)
    return JSONResponse(await app_database(request).run(read))


@router.post("/api/v1/people/{person_id}/capitals")
async def capitals_create(request: Request, person_id: str) -> JSONResponse:
    api_request = read_api_request(request)
    body = await read_body(request)

    def create(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        data = parse_root(body, "capital")
        errors: list[str] = []
        amount = _whole(data, "amount_in_cents", errors, required=True)
        content = record_text(data, "content", errors, required=False)
        kind = data.get("type", "adjustment")
        if not isinstance(kind, str) or not kind or len(kind) > 50:
            errors.append("type must be text of 1 to 50 characters")
        if errors or amount is None:
            raise ValidationFailed(errors)
        capital = Capital(
            nation_id=caller.nation.id,
            person_id=person.id,
            author_id=author_of(session, caller),
            type=kind,
            amount_in_cents=amount,
            content=content,
        )
        session.add(capital)
        session.flush()
        return {"capital": _capital_json(capital)}

    return JSONResponse(await app_database(request).run(create))


@router.delete("/api/v1/people/{person_id}/capitals/{capital_id}", status_code=204)
async def capitals_destroy(request: Request, person_id: str, capital_id: str) -> Response:
    api_request = read_api_request(request)

    def destroy(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        capital = (
            session.scalar(
                select(Capital).where(Capital.person_id == person.id, Capital.id == int(capital_id))
            )
            if capital_id.isascii() and capital_id.isdigit() and len(capital_id) <= 18
            else None
        )
        if capital is None:
            raise NotFound()
        session.delete(capital)

    await app_database(request).run(destroy)
    return Response(status_code=204)


@router.get("/api/v1/people/{person_id}/contacts")
async def contacts_index(request: Request, person_id: str) -> JSONResponse:
    read = _listing(request, person_id, Contact, "contacts", _contact_json)
    return JSONResponse(await app_database(request).run(read))


@router.post("/api/v1/people/{person_id}/contacts")
async def contacts_create(request: Request, person_id: str) -> JSONResponse:
    api_request = read_api_request(request)
    body = await read_body(request)

    def create(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        person = find_person(session, caller, person_id)
        data = parse_root(body, "contact")
        errors: list[str] = []
        contact = Contact(
            nation_id=caller.nation.id,
            person_id=person.id,
            type_id=_whole(data, "type_id", errors),
            method=record_choice(data, "method", CONTACT_METHODS, errors),
            status=record_choice(data, "status", CONTACT_STATUSES, errors),
            broadcaster_id=_whole(data, "broadcaster_id", errors),
            note=record_text(data, "note", errors, required=False),
        )
        sender_id = _whole(data, "sender_id", errors)
        if (
            sender_id is not None
            and session.scalar(
                select(Person.id).where(Person.nation_id == caller.nation.id, Person.id == sender_id)
            )
            is None
        ):
            errors.append("sender_id must be the id of a person of this nation")
        if errors:
            raise ValidationFailed(errors)
        contact.sender_id = sender_id if sender_id is not None else author_of(session, caller)
        session.add(contact)
        session.flush()
        return {"contact": _contact_json(contact)}

    return JSONResponse(await app_database(request).run(create))
