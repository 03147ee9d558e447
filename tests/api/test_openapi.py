"""The OpenAPI document of API v1: valid, complete, served, and true to what the server returns.

The schemathesis run at the end calls every documented operation in-process against the ASGI app,
with an admin's token of a nation seeded with people, tags, a list, person records and custom
fields, and checks each response against the document.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import BaseSchema
from starlette.testclient import TestClient

from citizenry.api.openapi import build_document
from citizenry.api.person_emails import WRITABLE_FIELDS as WRITABLE_EMAIL_FIELDS
from citizenry.api.person_write import BOOLEAN_COLUMNS, EXTRA_FIELDS, SPECIAL_COLUMNS, STRING_COLUMNS
from citizenry.app import create_app
from citizenry.settings import Settings
from citizenry.store.models import Nation
from tests.factory import Factory, NationInfo

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete"})
PATH_PARAMETER = re.compile(r"\{[^}]*\}")

#: Generated requests per operation. With 30, the SQLite half of this file took 30 to 50 s on a
#: 2-core machine. OPENAPI_TEST_EXAMPLES=150 searches deeper: the run over both databases then took
#: about 7 minutes there.
EXAMPLES_PER_OPERATION = int(os.environ.get("OPENAPI_TEST_EXAMPLES", "30"))

#: What the schemathesis run checks on every response.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

PAGE_TOKEN = frozenset({"__nonce", "__token"})
PERSON_WRITES = frozenset(
    {
        "POST /api/v1/people",
        "PUT /api/v1/people/{person_id}",
        "PUT /api/v1/people/push",
        "PUT /api/v1/people/add",
    }
)
INT32 = range(-(2**31), 2**31)
INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class SeededNation:
    nation: NationInfo
    headers: dict[str, str]
    #: Values of existing records for each path parameter name, such as ``person_id``.
    path_values: dict[str, list[Any]]
    owner_person_id: int
    owner_email: str
    custom_field_slugs: list[str]


def _served_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Return the app's ``/api/v1`` operations as (method, path with ``{}`` for each parameter).

    FastAPI's generated document describes none of the handlers' parameters or responses, but it
    lists every route the app serves, with ``{tag:path}`` written as ``{tag}``.
    """
    served = set()
    for path, item in app.openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            served |= {(method, PATH_PARAMETER.sub("{}", path)) for method in item if method in HTTP_METHODS}
    return served


def _documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, PATH_PARAMETER.sub("{}", path))
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _resolve(document: dict[str, Any], reference: str) -> Any:
    target: Any = document
    for part in reference.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _document(client: TestClient, nation: NationInfo) -> dict[str, Any]:
    response = client.get(f"{nation.prefix}/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture
def seeded(client: TestClient, factory: Factory) -> SeededNation:
    """Make a nation with an admin's token, people, tags, a list, person records and custom fields."""
    nation = factory.nation()
    user = factory.user(nation)
    headers = {"Authorization": f"Bearer {factory.test_token(nation, user)}", "Accept": "application/json"}
    api = f"{nation.prefix}/api/v1"

    def send(method: str, path: str, body: dict[str, Any]) -> Any:
        response = client.request(method, f"{api}{path}", headers=headers, json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    # The owner's person record has the token owner's e-mail address, so /people/me finds it.
    owner = send(
        "POST", "/people", {"person": {"email": user.email, "first_name": "Owner", "tags": ["staff"]}}
    )
    person_ids = [owner["person"]["id"], *factory.people(nation, 6)]
    for person_id in person_ids[:4]:
        send("PUT", f"/people/{person_id}/taggings", {"tagging": {"tag": ["volunteer", "a/b"]}})
    list_id = send("POST", "/lists", {"list": {"name": "Donors"}})["list"]["id"]
    send("POST", f"/lists/{list_id}/people", {"people_ids": person_ids[:3]})
    capital_ids = [
        send("POST", f"/people/{person_id}/capitals", {"capital": {"amount_in_cents": 500}})["capital"]["id"]
        for person_id in person_ids[:3]
    ]
    send(
        "POST",
        f"/people/{person_ids[1]}/contacts",
        {"contact": {"method": "door_knock", "status": "answered"}},
    )
    send("POST", f"/people/{person_ids[1]}/notes", {"note": {"content": "Met at the fair."}})
    slugs = ["graduation_year", "nickname", "has_car"]
    for slug, kind in zip(slugs, ("number", "text", "checkbox"), strict=True):
        send("POST", "/custom_fields", {"custom_field": {"name": slug.title(), "slug": slug, "type": kind}})
    send(
        "PUT",
        f"/people/{person_ids[1]}",
        {"person": {"graduation_year": 2008, "nickname": "Al", "has_car": True}},
    )

    return SeededNation(
        nation=nation,
        headers=headers,
        path_values={
            "person_id": person_ids,
            "list_id": [list_id],
            "capital_id": capital_ids,
            "tag": ["volunteer", "a/b", "staff"],
            "slug": slugs,
        },
        owner_person_id=owner["person"]["id"],
        owner_email=user.email,
        custom_field_slugs=slugs,
    )


def test_document_is_valid_openapi(client: TestClient, factory: Factory) -> None:
    document = _document(client, factory.nation())

    schemathesis.openapi.from_dict(document).validate()
    assert document["openapi"] == "3.1.0"


def test_document_references_resolve(client: TestClient, factory: Factory) -> None:
    document = _document(client, factory.nation())

    for reference in set(_references(document)):
        assert reference.startswith("#/components/"), reference
        assert isinstance(_resolve(document, reference), dict), reference


def test_document_describes_every_route(client: TestClient, factory: Factory) -> None:
    document = _document(client, factory.nation())
    served = _served_operations(client.app)  # type: ignore[arg-type]
    documented = _documented_operations(document)

    assert sorted(served - documented) == [], "served but not described in the OpenAPI document"
    assert sorted(documented - served) == [], "described in the OpenAPI document but not served"


def test_document_operation_ids_unique(client: TestClient, factory: Factory) -> None:
    document = _document(client, factory.nation())
    ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]

    assert len(ids) == len(set(ids))


def test_document_names_nation_server(client: TestClient, factory: Factory) -> None:
    nation = factory.nation(name="Springfield Greens")

    by_prefix = _document(client, nation)
    by_host = client.get(f"http://{nation.slug}.localhost/api/v1/openapi.json").json()

    assert by_prefix["servers"] == [
        {"url": f"http://testserver{nation.prefix}", "description": "Springfield Greens"}
    ]
    assert by_host["servers"] == [
        {"url": f"http://{nation.slug}.localhost", "description": "Springfield Greens"}
    ]
    flow = by_host["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"http://{nation.slug}.localhost/oauth/authorize"
    assert flow["tokenUrl"] == f"http://{nation.slug}.localhost/oauth/token"


def test_document_unknown_nation_404(client: TestClient) -> None:
    response = client.get("/n/no-such-nation/api/v1/openapi.json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_document_accept_excluding_json_406(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}/api/v1/openapi.json", headers={"Accept": "text/html"})

    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_docs_page_lists_operations(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    document = _document(client, nation)

    response = client.get(f"{nation.prefix}/api/v1/docs")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    for path, item in document["paths"].items():
        for method in item:
            if method in HTTP_METHODS:
                assert f"<code>{method.upper()} {path}</code>" in response.text
    assert f'href="{nation.prefix}/api/v1/openapi.json"' in response.text


def test_docs_page_loads_nothing_external(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    response = client.get(f"{nation.prefix}/api/v1/docs")

    assert "<script" not in response.text
    assert "style=" not in response.text
    for target in re.findall(r'(?:href|src)="([^"]*)"', response.text):
        assert target.startswith(("/", "#")), target
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_person_schemas_list_every_key(client: TestClient, seeded: SeededNation) -> None:
    schemas = _document(client, seeded.nation)["components"]["schemas"]
    api = f"{seeded.nation.prefix}/api/v1"

    full = client.get(f"{api}/people/{seeded.owner_person_id}", headers=seeded.headers).json()["person"]
    abbreviated = client.get(f"{api}/people", headers=seeded.headers).json()["results"][0]

    custom = set(seeded.custom_field_slugs)
    assert set(full) - custom == set(schemas["FullPerson"]["properties"])
    assert set(abbreviated) - custom == set(schemas["AbbreviatedPerson"]["properties"])
    assert custom <= set(full)
    assert custom <= set(abbreviated)


def test_person_write_schema_lists_writable_fields() -> None:
    document = build_document("http://testserver", "Test")
    documented = set(document["components"]["schemas"]["PersonWrite"]["properties"])

    writable = {
        *SPECIAL_COLUMNS,
        *STRING_COLUMNS,
        *BOOLEAN_COLUMNS,
        *EXTRA_FIELDS,
        *WRITABLE_EMAIL_FIELDS,
        "tags",
    }

    assert documented == writable


def _error_requests(nation: NationInfo, admin: str, staffer: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (operation label, URL, request arguments) of requests that each get an error status."""
    api = f"{nation.prefix}/api/v1"
    accept = {"Accept": "application/json"}
    as_admin = {"Authorization": f"Bearer {admin}", **accept}
    return [
        ("GET /api/v1/people", f"{api}/people", {"headers": accept}),
        ("GET /api/v1/people", f"{api}/people", {"headers": {"Authorization": "Bearer not-a-token"}}),
        ("GET /api/v1/people", f"{api}/people", {"headers": {"Authorization": f"Bearer {staffer}"}}),
        ("GET /api/v1/people", f"{api}/people?limit=0", {"headers": as_admin}),
        ("GET /api/v1/people", f"{api}/people", {"headers": {**as_admin, "Accept": "text/html"}}),
        ("GET /api/v1/people/{person_id}", f"{api}/people/999999999", {"headers": as_admin}),
        ("GET /api/v1/people/match", f"{api}/people/match?email=nobody@example.org", {"headers": as_admin}),
        ("POST /api/v1/people", f"{api}/people", {"headers": as_admin, "json": {}}),
        ("POST /api/v1/people", f"{api}/people", {"headers": as_admin, "json": {"person": {"sex": "X"}}}),
        ("POST /api/v1/people", f"{api}/people", {"headers": as_admin, "content": b"{", "json": None}),
        (
            "POST /api/v1/people",
            f"{api}/people",
            {"headers": {**as_admin, "Content-Type": "text/plain"}, "content": b"person"},
        ),
        ("GET /api/v1/people", "/n/no-such-nation/api/v1/people", {"headers": as_admin}),
    ]


def test_error_responses_match_document(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    admin = factory.test_token(nation, factory.user(nation))
    staffer = factory.test_token(nation, factory.user(nation, level="staffer"))
    factory.database.transaction(
        lambda session: session.execute(
            sa.update(Nation).where(Nation.id == nation.id).values(strict_profile=True)
        )
    )
    schema = schemathesis.openapi.from_dict(_document(client, nation))
    statuses = set()

    for label, url, arguments in _error_requests(nation, admin, staffer):
        method = label.split()[0]
        response = client.request(method, url, **{key: value for key, value in arguments.items() if value})
        operation = schema.find_operation_by_label(label)
        assert operation is not None
        assert str(response.status_code) in operation.definition.raw["responses"], (label, response.text)
        operation.validate_response(response)
        statuses.add(response.status_code)

    assert statuses == {400, 401, 403, 404, 406, 415}


def test_rate_limited_response_matches_document(settings: Settings, factory: Factory) -> None:
    nation = factory.nation()
    headers = {"Authorization": f"Bearer {factory.test_token(nation, factory.user(nation))}"}
    limited = dataclasses.replace(settings, api_rate_limit_per_token="1/minute")

    with TestClient(create_app(limited)) as client:
        schema = schemathesis.openapi.from_dict(_document(client, nation))
        client.get(f"{nation.prefix}/api/v1/people/count", headers=headers)
        response = client.get(f"{nation.prefix}/api/v1/people/count", headers=headers)

    assert response.status_code == 429
    operation = schema.find_operation_by_label("GET /api/v1/people/count")
    assert operation is not None
    operation.validate_response(response)


# Inputs that once made the server fail with a 500, found by the schemathesis run. Each must now
# be refused with a 400 in the API's format (or 404 for an id that names nothing).


@dataclass(frozen=True)
class FormerServerError:
    method: str
    #: The path after /api/v1; {person} and {list} stand for existing records.
    path: str
    body: Any = None
    status: int = 400
    code: str = "validation_failed"


FORMER_SERVER_ERRORS = [
    FormerServerError("POST", "/people/{person}/contacts", {"contact": {"method": []}}),
    FormerServerError("POST", "/people/{person}/contacts", {"contact": {"status": {}}}),
    FormerServerError("POST", "/lists/{list}/people", {"people_ids": [2**63]}),
    FormerServerError("DELETE", "/lists/{list}/people", {"people_ids": [2**63]}),
    FormerServerError("POST", "/lists", {"list": {"name": "Donors", "author_id": 2**63}}),
    FormerServerError("PUT", "/lists/{list}", {"list": {"author_id": 2**63}}),
    FormerServerError("POST", "/people/{person}/capitals", {"capital": {"amount_in_cents": 2**31}}),
    FormerServerError("POST", "/people/{person}/contacts", {"contact": {"type_id": 2**31}}),
    FormerServerError("POST", "/people/{person}/contacts", {"contact": {"broadcaster_id": 2**31}}),
    FormerServerError("GET", "/people/match?email=%00", code="bad_request"),
    FormerServerError("GET", "/people/search?city=%00", code="bad_request"),
    FormerServerError("GET", "/people/search?first_name=%00", code="bad_request"),
    FormerServerError("GET", "/people/%00?id_type=external", status=404, code="not_found"),
    FormerServerError("GET", "/people/search?updated_since=0001-01-01T00:00:00%2B01:00", code="bad_request"),
    FormerServerError("GET", "/people/search?updated_since=9999-12-31T23:59:59-01:00", code="bad_request"),
]


@pytest.mark.parametrize(
    "bug",
    FORMER_SERVER_ERRORS,
    ids=[
        f"{bug.method} {bug.path} {json.dumps(bug.body) if bug.body else ''}".strip()
        for bug in FORMER_SERVER_ERRORS
    ],
)
def test_former_server_error_is_refused(app: FastAPI, factory: Factory, bug: FormerServerError) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    headers = {"Authorization": f"Bearer {factory.test_token(nation, user)}", "Accept": "application/json"}
    (person_id,) = factory.people(nation, 1)

    with TestClient(app, raise_server_exceptions=False) as client:
        api = f"{nation.prefix}/api/v1"
        created = client.post(f"{api}/lists", headers=headers, json={"list": {"name": "Donors"}})
        list_id = created.json()["list"]["id"]
        url = api + bug.path.format(person=person_id, list=list_id)
        response = client.request(bug.method, url, headers=headers, json=bug.body)

    assert response.status_code == bug.status, response.text
    assert response.json()["code"] == bug.code


def _operation_labels() -> list[str]:
    """Return every documented operation as "METHOD /path"; building the document needs no database."""
    document = build_document("http://testserver", "Test")
    return sorted(
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


@pytest.fixture
def api_schema(settings: Settings, seeded: SeededNation) -> Iterator[BaseSchema]:
    """Load the seeded nation's document from an app of its own, whose lifespan schemathesis runs."""
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi(f"{seeded.nation.prefix}/api/v1/openapi.json", app)

    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        # Half the cases name existing records, so that reads and writes get past the 404.
        if not path_parameters:
            return st.just(path_parameters)
        existing = {
            name: st.sampled_from(seeded.path_values[name]) if name in seeded.path_values else st.just(value)
            for name, value in path_parameters.items()
        }
        return st.one_of(st.just(path_parameters), st.fixed_dictionaries(existing))

    def flatmap_query(context: Any, query: dict[str, Any] | None) -> Any:
        # A generated __token is always forged, so half the cases leave the paging parameters out.
        choices = [st.just(query)]
        if query and ("__nonce" in query or "__token" in query):
            choices.append(st.just({key: value for key, value in query.items() if key not in PAGE_TOKEN}))
        if context.operation.label == "GET /api/v1/people/match":
            choices.append(st.just({"email": seeded.owner_email}))
        return st.one_of(choices)

    person_keys = {
        *schema.raw_schema["components"]["schemas"]["PersonWrite"]["properties"],
        *seeded.custom_field_slugs,
    }

    def flatmap_body(context: Any, body: Any) -> Any:
        label = context.operation.label
        if not isinstance(body, dict):
            return st.just(body)
        if label == "POST /api/v1/lists/{list_id}/listings":
            # The older listings route takes a person of the nation; a generated id is never one.
            person_ids = st.sampled_from(seeded.path_values["person_id"])
            return st.one_of(
                st.just(body), person_ids.map(lambda person_id: {"listing": {"person_id": person_id}})
            )
        if label in PERSON_WRITES and isinstance(body.get("person"), dict):
            # Generated extra keys are seldom custom fields, and push and add match on e-mail, so half
            # the cases keep only person fields and, for push and add, name a known or a new address.
            known = {key: value for key, value in body["person"].items() if key in person_keys}
            if label in {"PUT /api/v1/people/push", "PUT /api/v1/people/add"}:
                emails = st.sampled_from([seeded.owner_email, "new.person@example.org"])
                return st.one_of(
                    st.just(body), emails.map(lambda email: {"person": {**known, "email": email}})
                )
            return st.one_of(st.just(body), st.just({"person": known}))
        return st.just(body)

    schema.hook(flatmap_path_parameters)
    schema.hook(flatmap_query)
    schema.hook(flatmap_body)
    yield schema
    # Schemathesis keeps an app's lifespan running until the process exits. Ending it here closes the
    # app's database connections, which would otherwise pile up, one app per operation.
    shutdown_lifespans()


@pytest.mark.parametrize("label", _operation_labels())
def test_operation_conforms_to_document(
    api_schema: BaseSchema, seeded: SeededNation, settings: Settings, label: str
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=cases)
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def call_and_validate(case: Any) -> None:
        case.call_and_validate(headers=seeded.headers, checks=CHECKS)

    call_and_validate()


def test_only_the_api_document_is_served(client: TestClient) -> None:
    # FastAPI's generated document would describe the handlers wrongly; it is not served.
    assert client.get("/openapi.json").status_code == 404
