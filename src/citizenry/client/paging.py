"""Following the ``next`` links of token-paginated listings without losing the filters.

A listing returns ``{"results": [...], "next": ..., "prev": ...}``, where ``next`` is a path such as
``/api/v1/people/search?__nonce=...&__token=...&limit=10`` to append to the nation's base URL.
Citizenry's links carry every filter and ``limit``, but NationBuilder's have been seen without them
(its Ruby client re-adds ``limit`` itself), so the client re-adds each query parameter of the first
request that the link lacks. Parameters the link carries are kept as the server wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from citizenry.client.errors import UnexpectedResponse

QueryParams = list[tuple[str, str]]


def page_contents(body: Any) -> tuple[list[Any], str | None]:
    """Return the ``results`` and the ``next`` link of a listing body."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise UnexpectedResponse("the listing response has no results list")
    next_link = body.get("next")
    if next_link is not None and not isinstance(next_link, str):
        raise UnexpectedResponse("the listing response's next link is not a string")
    return body["results"], next_link or None


def next_page_target(
    next_link: str, original: Sequence[tuple[str, str]], base_url: str
) -> tuple[str, QueryParams]:
    """Return the path (below ``base_url``) and query of the page ``next_link`` names.

    An absolute link must lead below ``base_url``: the client sends its token with the request,
    so it never follows a link to another server.
    """
    link = urlsplit(next_link)
    if link.scheme or link.netloc:
        base = urlsplit(base_url)
        below_base = link.path == base.path or link.path.startswith(base.path.rstrip("/") + "/")
        if (link.scheme, link.netloc) != (base.scheme, base.netloc) or not below_base:
            raise UnexpectedResponse("the listing's next link leads away from the client's base URL")
        path = link.path[len(base.path.rstrip("/")) :]
    else:
        path = link.path
    if not path.startswith("/"):
        raise UnexpectedResponse("the listing's next link is not a path below the base URL")

    query = parse_qsl(link.query, keep_blank_values=True)
    present = {name for name, _ in query}
    query += [(name, value) for name, value in original if name not in present]
    return path, query
