"""Keyset pagination with NationBuilder's opaque ``__nonce`` and ``__token`` parameters.

The token is signed, and seals the nation, the position, the page size and the filters, so a
client that rebuilds the URL from only ``__nonce``, ``__token`` and ``limit`` continues the same
listing. Positions are ids, so a page deep in the listing costs the same as the first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from starlette.datastructures import QueryParams

from citizenry.api.errors import BadRequest

Row = TypeVar("Row")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    """A page position: after or before an id (neither for the first page), with the page size and filters."""

    limit: int
    after_id: int | None = None
    before_id: int | None = None
    filters: dict[str, str] = field(default_factory=dict)


def parse_limit(values: list[str], default: int) -> int:
    """Read ``limit``; when it is repeated (as NationBuilder's Ruby client does) the last one counts.

    A value over the maximum is lowered to it, as NationBuilder does.
    """
    if not values:
        return default
    raw = values[-1]
    # isascii() first: str.isdigit() also accepts digits such as "²" that int() cannot read.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) < 1:
        raise BadRequest(
            f"'limit' must be a whole number of at least 1; "
            f"values above {MAX_LIMIT} are lowered to {MAX_LIMIT}."
        )
    return min(int(raw), MAX_LIMIT)


class PageTokens:
    """Signs and reads page tokens for one nation and one listing."""

    def __init__(self, secret_key: str, *, nation_id: int, listing: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="citizenry.page-token")
        self._scope = [nation_id, listing]

    def seal(self, page: PageRequest) -> tuple[str, str]:
        nonce = secrets.token_urlsafe(16)
        payload = {
            "n": nonce,
            "s": self._scope,
            "a": page.after_id,
            "b": page.before_id,
            "l": page.limit,
            "f": page.filters,
        }
        return nonce, self._serializer.dumps(payload)

    def open(self, nonce: str, token: str, limit_values: list[str]) -> PageRequest:
        """Read a token; a forged one, or one from another nation or listing, is a 400."""
        try:
            payload: Any = self._serializer.loads(token)
        except BadSignature:
            payload = None
        if (
            not isinstance(payload, dict)
            or payload.get("n") != nonce
            or payload.get("s") != self._scope
            or not _is_optional_int(payload.get("a"))
            or not _is_optional_int(payload.get("b"))
            or not isinstance(payload.get("l"), int)
            or not isinstance(payload.get("f"), dict)
        ):
            raise BadRequest(
                "The '__nonce' and '__token' parameters are invalid. "
                "Start again from the first page, without them."
            )
        return PageRequest(
            limit=parse_limit(limit_values, payload["l"]),
            after_id=payload["a"],
            before_id=payload["b"],
            filters=payload["f"],
        )


def _is_optional_int(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def page_link(path: str, tokens: PageTokens, page: PageRequest) -> str:
    """Build a ``next`` or ``prev`` link: the listing's path with the filters, the token and ``limit``."""
    nonce, token = tokens.seal(page)
    query = {**page.filters, "__nonce": nonce, "__token": token, "limit": str(page.limit)}
    return f"{path}?{urlencode(query)}"


def page_request(tokens: PageTokens, params: QueryParams) -> PageRequest:
    """Read ``__nonce``, ``__token`` and ``limit`` from a query string: the first page without a token."""
    nonce, token = params.get("__nonce"), params.get("__token")
    limit_values = params.getlist("limit")
    if nonce is not None or token is not None:
        return tokens.open(nonce or "", token or "", limit_values)
    return PageRequest(limit=parse_limit(limit_values, DEFAULT_LIMIT))


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    next: str | None
    prev: str | None


def read_page(
    session: Session,
    query: Select[Any],
    id_column: InstrumentedAttribute[int],
    page: PageRequest,
    *,
    tokens: PageTokens,
    path: str,
) -> Page[Any]:
    """Read one page of ``query`` in ``id_column`` order, with its ``next`` and ``prev`` links.

    ``path`` is the ``/api/v1/...`` path the links lead to; clients append it to the base URL
    they were given, which already carries any ``/n/{slug}`` prefix.
    """
    if page.before_id is not None:
        backwards = query.where(id_column < page.before_id).order_by(id_column.desc())
        rows: list[Any] = _fetch(session, backwards.limit(page.limit + 1))
        has_next, has_prev = True, len(rows) > page.limit
        rows = list(reversed(rows[: page.limit]))
    else:
        forwards = query if page.after_id is None else query.where(id_column > page.after_id)
        rows = _fetch(session, forwards.order_by(id_column).limit(page.limit + 1))
        has_next, has_prev = len(rows) > page.limit, page.after_id is not None
        rows = rows[: page.limit]

    next_link = prev_link = None
    if rows and has_next:
        after = PageRequest(limit=page.limit, after_id=rows[-1].id, filters=page.filters)
        next_link = page_link(path, tokens, after)
    if rows and has_prev:
        before = PageRequest(limit=page.limit, before_id=rows[0].id, filters=page.filters)
        prev_link = page_link(path, tokens, before)
    return Page(rows=rows, next=next_link, prev=prev_link)


def _fetch(session: Session, query: Select[Any]) -> list[Any]:
    """Return mapped objects for a query of one entity, rows for a query of columns."""
    result = session.execute(query)
    descriptions = query.column_descriptions
    if len(descriptions) == 1 and isinstance(descriptions[0]["expr"], type):
        return list(result.scalars())
    return list(result)


def is_legacy_request(params: QueryParams) -> bool:
    """Tell whether a client asks for the older page-numbered paging (``page``/``per_page``)."""
    # NationBuilder's iOS SDK sends token_paginator=1 with per_page: it wants token paging.
    legacy = "page" in params or "per_page" in params
    return legacy and "__token" not in params and "token_paginator" not in params


def read_legacy_page(
    session: Session, query: Select[Any], id_column: InstrumentedAttribute[int], params: QueryParams
) -> tuple[list[Any], dict[str, int]]:
    """Read a page of the older paging: ``page`` from 1, ``per_page`` up to 100, with totals.

    Offsets make deep pages slower than keyset paging; only apps written before token paging use it.
    """
    page = _positive(params.getlist("page"), "page", default=1, maximum=10**6)
    per_page = _positive(params.getlist("per_page"), "per_page", default=DEFAULT_LIMIT, maximum=None)
    per_page = min(per_page, MAX_LIMIT)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = _fetch(session, query.order_by(id_column).offset((page - 1) * per_page).limit(per_page))
    totals = {
        "page": page,
        "total_pages": max(1, -(-total // per_page)),
        "per_page": per_page,
        "total": total,
    }
    return rows, totals


def _positive(values: list[str], name: str, *, default: int, maximum: int | None) -> int:
    if not values:
        return default
    raw = values[-1]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7 or int(raw) < 1:
        raise BadRequest(f"'{name}' must be a whole number of at least 1.")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise BadRequest(f"'{name}' must be at most {maximum}.")
    return value
