"""Custom fields of a nation's people: list, create and delete, over API v1 and in the panel.

NationBuilder's API v1 has no endpoint for defining custom fields; Citizenry adds
``/api/v1/custom_fields`` in the same conventions, so a nation can set them up without the panel.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.api.access import authenticate_caller, read_api_request
from citizenry.api.bodies import parse_root, read_body
from citizenry.api.errors import NotFound, ValidationFailed
from citizenry.api.person_custom import load_custom_fields
from citizenry.api.person_json import iso_utc
from citizenry.api.person_write import PERSON_FIELDS
from citizenry.context import app_database
from citizenry.json_codec import JSONResponse
from citizenry.store.locks import lock_for_write
from citizenry.store.models import CUSTOM_FIELD_TYPES, CustomField

logger = logging.getLogger(__name__)

router = APIRouter()

SLUG_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_FIELDS_PER_NATION = 200
FIELD_KEYS = frozenset({"name", "slug", "type"})


def custom_field_json(field: CustomField) -> dict[str, Any]:
    return {
        "id": field.id,
        "slug": field.slug,
        "name": field.name,
        "type": field.type,
        "created_at": iso_utc(field.created_at),
    }


def _check_definition(data: dict[str, Any]) -> tuple[str, str, str]:
    errors = [f"{str(key)[:64]} is not a custom field setting" for key in sorted(set(data) - FIELD_KEYS)]
    name, slug, kind = data.get("name"), data.get("slug"), data.get("type", "text")
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or "\x00" in name:
        errors.append("name must be text of 1 to 255 characters")
    if slug is None:
        errors.append("slug is required")
    elif not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        errors.append(
            "slug must start with a lower-case letter and hold only lower-case letters, digits "
            "and underscores, at most 64 characters"
        )
    elif slug in PERSON_FIELDS:
        errors.append(f"slug: {slug} is a standard person field")
    if kind not in CUSTOM_FIELD_TYPES:
        errors.append(f"type must be one of {', '.join(CUSTOM_FIELD_TYPES)}")
    if errors:
        raise ValidationFailed(errors)
    return str(name).strip(), str(slug), str(kind)


def create_custom_field(session: Session, nation_id: int, data: dict[str, Any]) -> CustomField:
    """Add a custom field to the nation; raise ``validation_failed`` for a bad or taken slug."""
    name, slug, kind = _check_definition(data)
    lock_for_write(session, nation_id, "custom-fields")
    if slug in load_custom_fields(session, nation_id):
        raise ValidationFailed([f"slug: the nation already has a custom field {slug}"])
    count = session.scalar(
        select(func.count()).select_from(CustomField).where(CustomField.nation_id == nation_id)
    )
    if (count or 0) >= MAX_FIELDS_PER_NATION:
        raise ValidationFailed([f"a nation has at most {MAX_FIELDS_PER_NATION} custom fields"])
    field = CustomField(nation_id=nation_id, slug=slug, name=name, type=kind)
    session.add(field)
    session.flush()
    logger.info("created custom field id=%s on nation id=%s", field.id, nation_id)
    return field


def delete_custom_field(session: Session, nation_id: int, slug: str) -> bool:
    """Remove a custom field; its values disappear from every person. Return whether it existed."""
    field = load_custom_fields(session, nation_id).get(slug)
    if field is None:
        return False
    session.delete(field)
    logger.info("deleted custom field id=%s on nation id=%s", field.id, nation_id)
    return True


@router.get("/api/v1/custom_fields")
async def custom_fields_index(request: Request) -> JSONResponse:
    """List the nation's custom fields, oldest first, in one page."""
    api_request = read_api_request(request)

    def read(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        fields = load_custom_fields(session, caller.nation.id).values()
        return {"results": [custom_field_json(field) for field in fields], "next": None, "prev": None}

    return JSONResponse(await app_database(request).run(read))


@router.post("/api/v1/custom_fields", status_code=201)
async def custom_fields_create(request: Request) -> JSONResponse:
    """Create a custom field from ``{"custom_field": {"name", "slug", "type"}}``: 201."""
    api_request = read_api_request(request)
    body = await read_body(request)

    def create(session: Session) -> dict[str, Any]:
        caller = authenticate_caller(session, api_request)
        field = create_custom_field(session, caller.nation.id, parse_root(body, "custom_field"))
        return {"custom_field": custom_field_json(field)}

    return JSONResponse(await app_database(request).run(create), status_code=201)


@router.delete("/api/v1/custom_fields/{slug}", status_code=204)
async def custom_fields_destroy(request: Request, slug: str) -> Response:
    """Delete a custom field and, with it, every person's value of it: 204."""
    api_request = read_api_request(request)

    def destroy(session: Session) -> None:
        caller = authenticate_caller(session, api_request)
        if not delete_custom_field(session, caller.nation.id, slug):
            raise NotFound()

    await app_database(request).run(destroy)
    return Response(status_code=204)
