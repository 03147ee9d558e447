"""Settings > Custom fields: the extra person fields of a nation, listed, added and deleted."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from citizenry.api.custom_fields import create_custom_field, delete_custom_field
from citizenry.api.errors import ValidationFailed
from citizenry.api.person_custom import load_custom_fields
from citizenry.context import app_database, nation_route
from citizenry.panel.access import Member, load_member
from citizenry.panel.forms import checked_form, form_field
from citizenry.panel.pages import PanelError, redirect, render
from citizenry.panel.session import signed_in
from citizenry.store.models import CUSTOM_FIELD_TYPES, CustomField

router = APIRouter(include_in_schema=False)

PAGE = "/admin/settings/custom_fields"


def _admin(session: Session, request: Request) -> Member:
    return load_member(session, nation_route(request), signed_in(request), admin=True)


def _page(
    request: Request, member: Member, fields: list[CustomField], *, errors: list[str], form: dict[str, str]
) -> Response:
    return render(
        request,
        "custom_fields.html",
        member=member,
        fields=fields,
        types=CUSTOM_FIELD_TYPES,
        errors=errors,
        form=form,
        status=400 if errors else 200,
    )


@router.get(PAGE)
async def custom_fields_page(request: Request) -> Response:
    def load(session: Session) -> tuple[Member, list[CustomField]]:
        member = _admin(session, request)
        return member, list(load_custom_fields(session, member.nation.id).values())

    member, fields = await app_database(request).run(load)
    return _page(request, member, fields, errors=[], form={"type": "text"})


@router.post(PAGE)
async def add_custom_field(request: Request) -> Response:
    form = await checked_form(request)
    values = {name: form_field(form, name).strip() for name in ("name", "slug", "type")}

    def add(session: Session) -> tuple[Member, list[CustomField], list[str]]:
        member = _admin(session, request)
        errors: list[str] = []
        try:
            with session.begin_nested():
                create_custom_field(session, member.nation.id, dict(values))
        except ValidationFailed as error:
            errors = list(error.extra["validation_errors"])
        return member, list(load_custom_fields(session, member.nation.id).values()), errors

    member, fields, errors = await app_database(request).run(add)
    if errors:
        return _page(request, member, fields, errors=errors, form=values)
    return redirect(request, PAGE)


def _field_or_404(session: Session, member: Member, slug: str) -> CustomField:
    field = load_custom_fields(session, member.nation.id).get(slug)
    if field is None:
        raise PanelError(
            status=404,
            title="Custom field not found",
            message="This nation has no custom field with that slug. Go back to Custom fields.",
        )
    return field


@router.get(PAGE + "/{slug}/delete")
async def confirm_delete(request: Request, slug: str) -> Response:
    def load(session: Session) -> tuple[Member, CustomField]:
        member = _admin(session, request)
        return member, _field_or_404(session, member, slug)

    member, field = await app_database(request).run(load)
    return render(request, "custom_field_delete.html", member=member, field=field)


@router.post(PAGE + "/{slug}/delete")
async def delete(request: Request, slug: str) -> Response:
    await checked_form(request)

    def remove(session: Session) -> None:
        member = _admin(session, request)
        _field_or_404(session, member, slug)
        delete_custom_field(session, member.nation.id, slug)

    await app_database(request).run(remove)
    return redirect(request, PAGE)
