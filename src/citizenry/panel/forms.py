"""Reading control panel forms: size limits and the CSRF check."""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request

from citizenry.panel.pages import PanelError
from citizenry.panel.session import CSRF_FIELD, is_valid_csrf

logger = logging.getLogger(__name__)

#: Maximum length of a control panel form field, in characters.
MAX_FIELD_LENGTH = 10_000


#: Default maximum number of fields in one control panel form.
MAX_FORM_FIELDS = 50


async def checked_form(request: Request, *, max_fields: int = MAX_FORM_FIELDS) -> FormData:
    """Read a form POST and check its CSRF token; a failed check is a 403 page."""
    try:
        form = await request.form(max_files=0, max_fields=max_fields)
    except Exception as error:  # python-multipart and Starlette raise several unrelated types
        logger.info("rejected unreadable form on %s: %s", request.url.path, type(error).__name__)
        raise PanelError(
            status=400,
            title="Unreadable form",
            message="The form could not be read. Reload the page and try again.",
        ) from None
    if not is_valid_csrf(request, form.get(CSRF_FIELD)):
        raise PanelError(
            status=403,
            title="Form expired",
            message="This form was not sent from this site, or your session changed since it was "
            "shown. Go back, reload the page and submit it again.",
        )
    return form


def form_field(form: FormData, name: str) -> str:
    """Return a text field's value, '' when absent; a value over the limit is a 400 page."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > MAX_FIELD_LENGTH:
        raise PanelError(
            status=400,
            title="Value too long",
            message=f"The field '{name}' has more than {MAX_FIELD_LENGTH} characters. "
            "Shorten it and try again.",
        )
    return value
