"""The public methods of both clients, each defined once from an operation.

``get_person = endpoint(people.get_person)`` gives :class:`Client` a method ``get_person(person_id,
...)`` that returns the person, and :class:`AsyncClient` the same method returning a coroutine.
:func:`listing` does the same for listings, which become an iterator or an async iterator. The
descriptors' overloads tell type checkers which client gets which.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from citizenry.client import people
from citizenry.client.engine import Engine
from citizenry.client.sansio import Operation

if TYPE_CHECKING:
    from citizenry.client.aio import AsyncClient
    from citizenry.client.sync import Client

P = ParamSpec("P")
T = TypeVar("T")


class endpoint(Generic[P, T]):
    """A client method that runs an operation and returns its result."""

    def __init__(self, build: Callable[Concatenate[Engine, P], Operation[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: Client, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, instance: AsyncClient, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        if instance is None:
            return self
        return instance._bind_call(self.build)


class listing(Generic[P]):
    """A client method that runs a paginated operation and hands out its results lazily."""

    def __init__(self, build: Callable[Concatenate[Engine, P], Operation[None]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, instance: Client, owner: type[Any]) -> Callable[P, Iterator[Any]]: ...
    @overload
    def __get__(self, instance: AsyncClient, owner: type[Any]) -> Callable[P, AsyncIterator[Any]]: ...
    def __get__(self, instance: Any, owner: type[Any]) -> Any:
        if instance is None:
            return self
        return instance._bind_listing(self.build)


def request(
    engine: Engine,
    method: str,
    path: str,
    *,
    params: Mapping[str, people.QueryValue | None] | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Operation[Any]:
    """Send any API request below the base URL, such as ``("GET", "/api/v1/tags")``.

    The client's token, retries and error mapping apply. Returns the JSON body, or None when the
    body is empty.
    """
    return engine.call_json(method, path, params=people.query(params or {}), json=json, headers=headers or {})


def paginate(
    engine: Engine, path: str, params: Mapping[str, people.QueryValue | None] | None = None
) -> Operation[None]:
    """Iterate over the results of any token-paginated listing, such as ``"/api/v1/tags"``."""
    return engine.paginate(path, people.query(params or {}))


class Endpoints:
    """The methods :class:`Client` and :class:`AsyncClient` share; see each operation for its contract."""

    # OAuth
    exchange_code = endpoint(Engine.exchange_code)
    complete_authorization = endpoint(Engine.complete_authorization)
    refresh = endpoint(Engine.refresh)
    revoke = endpoint(Engine.revoke)
    logout = endpoint(Engine.logout)

    # Any endpoint
    request = endpoint(request)
    paginate = listing(paginate)

    # People
    list_people = listing(people.list_people)
    search_people = listing(people.search_people)
    nearby_people = listing(people.nearby_people)
    get_person = endpoint(people.get_person)
    me = endpoint(people.me)
    match_person = endpoint(people.match_person)
    count_people = endpoint(people.count_people)
    create_person = endpoint(people.create_person)
    update_person = endpoint(people.update_person)
    push_person = endpoint(people.push_person)
    add_person = endpoint(people.add_person)
    delete_person = endpoint(people.delete_person)
    get_taggings = endpoint(people.get_taggings)
    add_tags = endpoint(people.add_tags)
    remove_tags = endpoint(people.remove_tags)
