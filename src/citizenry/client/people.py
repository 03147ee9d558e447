"""The People endpoints of API v1, as operations of an :class:`Engine`.

Each function's first parameter is the engine; the clients expose the rest of its signature as a
method of the same name (see :mod:`citizenry.client.surface`). People are plain JSON objects
(``dict``), as the API returns them: listings give the abbreviated representation, single people
the full one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from citizenry.client.engine import Engine
from citizenry.client.errors import UnexpectedResponse
from citizenry.client.sansio import Operation

PEOPLE = "/api/v1/people"

JsonObject = dict[str, Any]
QueryValue = str | int | float | bool


@dataclass(frozen=True)
class PushResult:
    """The person a push or add wrote, and whether it was created (201) rather than updated (200)."""

    person: JsonObject
    created: bool


def query(values: Mapping[str, QueryValue | None]) -> list[tuple[str, str]]:
    """Encode query parameters: booleans as ``true``/``false``, None left out."""
    encoded = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded.append((name, "true" if value else "false"))
        else:
            encoded.append((name, str(value)))
    return encoded


def _segment(value: int | str) -> str:
    return quote(str(value), safe="")


def _member(body: Any, key: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise UnexpectedResponse(f"the response has no {key!r} key")
    return body[key]


def _person(body: Any) -> JsonObject:
    person = _member(body, "person")
    if not isinstance(person, dict):
        raise UnexpectedResponse("the response's person is not a JSON object")
    return person


def list_people(engine: Engine, *, limit: int | None = None) -> Operation[None]:
    """Iterate over every person of the nation, abbreviated; ``limit`` is the page size (at most 100)."""
    return engine.paginate(PEOPLE, query({"limit": limit}))


def search_people(
    engine: Engine, filters: Mapping[str, QueryValue], *, limit: int | None = None
) -> Operation[None]:
    """Iterate over the people matching ``filters``, such as ``{"first_name": "Ada"}`` or
    ``{"custom_values[graduation_year]": 2008}``; every page keeps the filters."""
    return engine.paginate(f"{PEOPLE}/search", query({**filters, "limit": limit}))


def nearby_people(
    engine: Engine,
    latitude: float,
    longitude: float,
    *,
    distance: float | None = None,
    limit: int | None = None,
) -> Operation[None]:
    """Iterate over the people whose primary address lies within ``distance`` miles of the point."""
    params = {"location": f"{latitude},{longitude}", "distance": distance, "limit": limit}
    return engine.paginate(f"{PEOPLE}/nearby", query(params))


def get_person(engine: Engine, person_id: int | str, *, id_type: str | None = None) -> Operation[JsonObject]:
    """Return one person, full representation; ``id_type="external"`` looks ``person_id`` up as
    an ``external_id``."""
    params = query({"id_type": id_type})
    return _person((yield from engine.call_json("GET", f"{PEOPLE}/{_segment(person_id)}", params=params)))


def me(engine: Engine) -> Operation[JsonObject]:
    """Return the token owner's own person record."""
    return _person((yield from engine.call_json("GET", f"{PEOPLE}/me")))


def match_person(
    engine: Engine,
    *,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
    mobile: str | None = None,
) -> Operation[JsonObject]:
    """Return the one person matching the criteria; raises ``NoMatches`` or ``MultipleMatches``."""
    criteria = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "mobile": mobile,
    }
    return _person((yield from engine.call_json("GET", f"{PEOPLE}/match", params=query(criteria))))


def count_people(engine: Engine) -> Operation[int]:
    """Return the number of people in the nation."""
    count = _member((yield from engine.call_json("GET", f"{PEOPLE}/count")), "people_count")
    if not isinstance(count, int):
        raise UnexpectedResponse("the response's people_count is not a number")
    return count


def create_person(engine: Engine, person: Mapping[str, Any]) -> Operation[JsonObject]:
    """Create a person from its fields (a name, an e-mail address or a phone number at least)."""
    return _person((yield from engine.call_json("POST", PEOPLE, json={"person": dict(person)})))


def update_person(engine: Engine, person_id: int | str, person: Mapping[str, Any]) -> Operation[JsonObject]:
    """Change the given fields of a person and return it; tags sent are added to its tags."""
    path = f"{PEOPLE}/{_segment(person_id)}"
    return _person((yield from engine.call_json("PUT", path, json={"person": dict(person)})))


def _write_matched(engine: Engine, path: str, person: Mapping[str, Any]) -> Operation[PushResult]:
    response = yield from engine.call("PUT", path, json={"person": dict(person)})
    try:
        body = response.json()
    except ValueError as error:
        raise UnexpectedResponse(f"PUT {path} returned a response without a JSON body") from error
    return PushResult(person=_person(body), created=response.status_code == 201)


def push_person(engine: Engine, person: Mapping[str, Any]) -> Operation[PushResult]:
    """Update the person matching ``email`` or an external id, overwriting its fields, or create one."""
    return _write_matched(engine, f"{PEOPLE}/push", person)


def add_person(engine: Engine, person: Mapping[str, Any]) -> Operation[PushResult]:
    """Like :func:`push_person`, but fill only the matched person's empty fields."""
    return _write_matched(engine, f"{PEOPLE}/add", person)


def delete_person(engine: Engine, person_id: int | str) -> Operation[None]:
    """Delete a person."""
    yield from engine.call("DELETE", f"{PEOPLE}/{_segment(person_id)}")


def get_taggings(engine: Engine, person_id: int | str) -> Operation[list[JsonObject]]:
    """Return a person's taggings: ``{"person_id", "tag", "created_at"}`` objects."""
    body = yield from engine.call_json("GET", f"{PEOPLE}/{_segment(person_id)}/taggings")
    taggings = _member(body, "taggings")
    if not isinstance(taggings, list):
        raise UnexpectedResponse("the response's taggings is not a list")
    return taggings


def add_tags(engine: Engine, person_id: int | str, tags: str | Sequence[str]) -> Operation[list[JsonObject]]:
    """Tag a person with one tag or several, and return the taggings made."""
    value: str | list[str] = tags if isinstance(tags, str) else list(tags)
    path = f"{PEOPLE}/{_segment(person_id)}/taggings"
    body = yield from engine.call_json("PUT", path, json={"tagging": {"tag": value}})
    if isinstance(body, dict) and isinstance(body.get("taggings"), list):
        taggings: list[JsonObject] = body["taggings"]
        return taggings
    tagging = _member(body, "tagging")
    if not isinstance(tagging, dict):
        raise UnexpectedResponse("the response's tagging is not a JSON object")
    return [tagging]


def remove_tags(engine: Engine, person_id: int | str, tags: str | Sequence[str]) -> Operation[None]:
    """Remove one tag or several from a person."""
    path = f"{PEOPLE}/{_segment(person_id)}/taggings"
    if isinstance(tags, str):
        yield from engine.call("DELETE", f"{path}/{_segment(tags)}")
    else:
        yield from engine.call("DELETE", path, json={"tagging": {"tag": list(tags)}})
