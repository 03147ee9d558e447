"""Rendering pages, building paths under the request's nation prefix, and page errors."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.templating import Jinja2Templates

from citizenry.panel.session import csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


class PanelError(Exception):
    """An error shown to a person as a page: a status, a title and what to do next."""

    def __init__(self, *, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message


def path_for(request: Request, path: str) -> str:
    """Return ``path`` under the request's root path, so ``/n/{slug}`` prefixes are kept."""
    root: str = request.scope.get("root_path", "")
    return root + path


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("root", request.scope.get("root_path", ""))
    context.setdefault("csrf_token", csrf_token(request))
    # A new value for each page, read by require_first_submission in citizenry.panel.forms.
    context.setdefault("form_once", secrets.token_urlsafe(16))
    context.setdefault("signed_in", "user_id" in request.session)
    response = templates.TemplateResponse(request, template, context, status_code=status)
    # Pages are per user, and some show a secret once: keep them out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def render_error(request: Request, error: PanelError, **context: Any) -> HTMLResponse:
    return render(
        request, "error.html", status=error.status, title=error.title, message=error.message, **context
    )


def redirect(request: Request, path: str) -> RedirectResponse:
    """Redirect with 303 See Other to a path of this nation, after a form POST or a sign-in."""
    return RedirectResponse(path_for(request, path), status_code=303)


def describe_duration(seconds: int) -> str:
    """Describe a duration in the largest whole unit, such as "24 hours" or "90 minutes"."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
