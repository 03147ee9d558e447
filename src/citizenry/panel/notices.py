"""Notices shown after a control panel form is saved and the browser is redirected.

The redirect carries only a key such as ``?done=created``. The page looks the sentence up in a
fixed table, so no text from the address reaches the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse

from citizenry.panel.pages import redirect


def notice_of(request: Request, notices: Mapping[str, str]) -> str | None:
    return notices.get(request.query_params.get("done", ""))


def redirect_done(request: Request, path: str, done: str) -> RedirectResponse:
    """Redirect with 303 to ``path``, whose page then shows the notice named ``done``."""
    return redirect(request, f"{path}?{urlencode({'done': done})}")
