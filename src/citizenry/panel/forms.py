"""Reading control panel forms: size limits, the CSRF check, and forms that may be sent once."""

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

#: The hidden field of a form that creates something once, such as an app or a token. Each page
#: render gives it a new random value (``citizenry.panel.pages.render``).
ONCE_FIELD = "form_once"
#: The number of such values a session remembers.
REMEMBERED_SUBMISSIONS = 20


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


def _sent_forms(request: Request) -> list[str]:
    used = request.session.get("sent_forms")
    return [item for item in used if isinstance(item, str)] if isinstance(used, list) else []


def require_first_submission(request: Request, form: FormData) -> str | None:
    """Reject a form sent a second time, for example by reloading the page that its result is on.

    Return the form's :data:`ONCE_FIELD` value, which :func:`record_submission` keeps in the
    session once the form's work is done. The same value again is a 409 page, so nothing is
    created twice. A form without the field is not checked.
    """
    value = form.get(ONCE_FIELD)
    if not isinstance(value, str) or not value:
        return None
    if value in _sent_forms(request):
        logger.info("rejected a form sent again on %s", request.url.path)
        raise PanelError(
            status=409,
            title="Already sent",
            message="This form was sent before, so nothing was created again. A secret or token "
            "is shown only once: if you did not copy it, go back to Settings > Developer and "
            "regenerate it there.",
        )
    return value


def record_submission(request: Request, value: str | None) -> None:
    """Remember a form's one-time value after its work succeeded, so that it is not done again."""
    if value is not None:
        request.session["sent_forms"] = [*_sent_forms(request), value][-REMEMBERED_SUBMISSIONS:]


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
