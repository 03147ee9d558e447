"""Keyset paging of control panel tables, with the API's signed page tokens.

A table's ``next`` and ``prev`` links carry ``__nonce`` and ``__token`` as the API's do, and the
token seals the filters, so a later page shows the same search. Links lead to a panel path under
the request's root path, never to ``/api/v1``.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request

from citizenry.api.errors import BadRequest
from citizenry.api.pagination import PageRequest, PageTokens
from citizenry.context import app_settings
from citizenry.panel.pages import PanelError

#: Rows on one page of a control panel table.
PAGE_SIZE = 50


def page_tokens(request: Request, nation_id: int, listing: str) -> PageTokens:
    """Return the token signer of one panel table, kept apart from the API's listings."""
    return PageTokens(app_settings(request).secret_key, nation_id=nation_id, listing=f"panel:{listing}")


def opened_page(tokens: PageTokens, params: QueryParams, filters: dict[str, str]) -> PageRequest:
    """Return the page that the query string requests: the first page with ``filters`` when it has no token.

    A later page keeps the filters its token seals and ignores the query string's. A forged or
    foreign token is a 400 page that sends the reader back to the first page.
    """
    nonce, token = params.get("__nonce"), params.get("__token")
    if nonce is None and token is None:
        return PageRequest(limit=PAGE_SIZE, filters=filters)
    try:
        page = tokens.open(nonce or "", token or "", [])
    except BadRequest:
        raise PanelError(
            status=400,
            title="Invalid page link",
            message="This link to a page of the table is damaged or belongs to another table. "
            "Open the table again from the menu and page through it from the start.",
        ) from None
    return PageRequest(
        limit=PAGE_SIZE, after_id=page.after_id, before_id=page.before_id, filters=page.filters
    )
